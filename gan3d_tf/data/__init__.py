"""Training data: the built-in procedural shapes, voxel `.npz` files and the tf.data pipeline."""
