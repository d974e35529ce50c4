"""Unsupervised shape features from a trained discriminator (paper Sec. 4.2).

The activations of D's three deepest hidden layers (layers 2, 3, 4 of the
64^3 model: 128x16^3, 256x8^3, 512x4^3) are max-pooled to 2^3 each and
concatenated: 8 * (128 + 256 + 512) = 7168 features at 64^3. The 32^3 preset
drops D's first (64-channel) layer, so its three layers have the same widths
and the same 7168-d features.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from gan3d_tf.models.discriminator import FEATURE_POOL, N_FEATURE_LAYERS, Discriminator


def feature_extractor(discriminator: Discriminator) -> keras.Model:
    """A model mapping voxels [batch, R, R, R] to features [batch, F].

    Args:
        discriminator: a (trained or random) `Discriminator`.
    """
    outputs = []
    for name in discriminator.feature_layer_names():
        x = discriminator.get_layer(name).output
        side = x.shape[1]
        pool = max(side // FEATURE_POOL, 1)
        x = keras.layers.MaxPooling3D(pool, name=f"{name}_pool", dtype="float32")(x)
        outputs.append(keras.layers.Flatten(name=f"{name}_flat", dtype="float32")(x))
    features = keras.layers.Concatenate(name="features", dtype="float32")(outputs)
    return keras.Model(discriminator.input, features, name="d_features")


def feature_size(discriminator: Discriminator) -> int:
    """Length of the feature vector of `discriminator`."""
    return int(FEATURE_POOL**3 * sum(discriminator.widths[-N_FEATURE_LAYERS:]))


def extract_features(discriminator: Discriminator, voxels: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Features of every grid, computed in batches through tf.data (inference mode).

    Args:
        discriminator: the discriminator whose layers give the features.
        voxels: [N, R, R, R] occupancies at the discriminator's resolution.
        batch_size: grids per forward pass.

    Returns:
        float32 [N, F].
    """
    r = discriminator.resolution
    if voxels.ndim != 4 or voxels.shape[1:] != (r, r, r):
        raise ValueError(f"expected grids [N, {r}, {r}, {r}] for this discriminator, got {voxels.shape}")
    model = feature_extractor(discriminator)
    forward = tf.function(lambda x: model(x, training=False))
    data = tf.data.Dataset.from_tensor_slices(voxels).batch(batch_size).map(lambda x: tf.cast(x, tf.float32))
    return np.concatenate([forward(x).numpy() for x in data.prefetch(2)])
