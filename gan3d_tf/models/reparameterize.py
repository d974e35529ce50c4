"""The reparameterisation trick: a differentiable sample of z ~ N(mean, exp(log_variance))."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="gan3d_tf")
class Reparameterize(keras.layers.Layer):
    """z = mean + exp(log_variance / 2) * eps, eps ~ N(0, I); the mean itself at inference.

    Args:
        seed: seed of the layer's noise (a `keras.random.SeedGenerator`).
        **kwargs: passed to `keras.layers.Layer`.

    Call:
        inputs: (mean, log_variance), float [batch, z_dim] each.
        training: draw a sample when True, return the mean when False.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        mean, log_variance = inputs
        if not training:
            return mean
        eps = keras.random.normal(keras.ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + keras.ops.exp(0.5 * log_variance) * eps

    def get_config(self):
        return dict(super().get_config(), seed=self.seed)
