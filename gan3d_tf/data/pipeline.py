"""The tf.data input pipeline for GAN training."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def training_dataset(voxels: np.ndarray, batch_size: int, seed: int, initial_epoch: int = 0) -> tf.data.Dataset:
    """An endless dataset of shuffled float32 batches [batch, R, R, R].

    Epoch e visits every shape once (the last partial batch is dropped) in an
    order that depends only on (seed, e), so a run resumed at epoch e sees
    exactly the batches an uninterrupted run would. Use with
    `fit(steps_per_epoch=steps_per_epoch(len(voxels), batch_size))`.

    Args:
        voxels: uint8 [N, R, R, R] occupancy grids (kept as uint8 in memory).
        batch_size: global batch size.
        seed: shuffle seed.
        initial_epoch: index of the first epoch produced.
    """
    n = len(voxels)
    if n < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the {n} training shapes")
    grids = tf.constant(voxels, dtype=tf.uint8)
    usable = steps_per_epoch(n, batch_size) * batch_size

    def epoch_indices(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order[:usable]).batch(batch_size, drop_remainder=True)

    return (
        tf.data.Dataset.counter(initial_epoch)
        .flat_map(epoch_indices)
        .map(lambda idx: tf.cast(tf.gather(grids, idx), tf.float32), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches in one pass over n shapes."""
    return n // batch_size
