"""Using trained runs: sampling, generation metrics of a generator, classification from D's features,
3D-VAE-GAN reconstruction. Uses `gan3d_tf.training`; training never imports this package."""
