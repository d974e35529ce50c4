"""The tf.data input pipelines: voxel batches (3D-GAN) and rendered (image, voxels) batches (3D-VAE-GAN)."""

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
    n = _check_batch(len(voxels), batch_size)
    grids = tf.constant(voxels, dtype=tf.uint8)

    def epoch_indices(epoch):
        return _epoch_order(n, batch_size, seed, epoch).batch(batch_size, drop_remainder=True)

    return (
        tf.data.Dataset.counter(initial_epoch)
        .flat_map(epoch_indices)
        .map(lambda idx: tf.cast(tf.gather(grids, idx), tf.float32), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _check_batch(n: int, batch_size: int) -> int:
    """n, after checking that at least one full batch fits in n shapes."""
    if n < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the {n} training shapes")
    return n


def _epoch_order(n: int, batch_size: int, seed: int, epoch) -> tf.data.Dataset:
    """The shape indices of epoch `epoch`: a stateless permutation of (seed, epoch), cut to full batches."""
    order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
    return tf.data.Dataset.from_tensor_slices(order[: steps_per_epoch(n, batch_size) * batch_size])


def view_dataset(
    voxels: np.ndarray,
    batch_size: int,
    seed: int,
    initial_epoch: int = 0,
    image_size: int = 256,
    render_size: int | None = None,
    distance_range=None,
    scene: str = "plain",
) -> tf.data.Dataset:
    """An endless dataset of ((images [batch, S, S, 3], voxels [batch, R, R, R]),) batches for the 3D-VAE-GAN.

    Every shape is rendered from a new random view each epoch (random
    camera, light, colour and background; `gan3d_tf.data.views`), on the fly.
    The shape order and the views depend only on (seed, epoch), so a resumed
    run sees the same pairs as an uninterrupted one.

    Args:
        voxels: uint8 [N, R, R, R] occupancy grids.
        batch_size: global batch size.
        seed: seed of the order and of the views.
        initial_epoch: index of the first epoch produced.
        image_size: side of the rendered images in pixels.
        render_size: side at which rays are cast (None: image_size).
        distance_range: (min, max) camera distance in grid sides (None: the
            renderer's default, `views.DISTANCE_RANGE`).
        scene: look of the views, "plain" or "room" (`views.make_pair`).
    """
    from gan3d_tf.data.views import DISTANCE_RANGE, view_pairs

    n = _check_batch(len(voxels), batch_size)
    grids = tf.constant(voxels, dtype=tf.uint8)

    def epoch_pairs(epoch):
        shapes = _epoch_order(n, batch_size, seed, epoch).map(lambda i: tf.gather(grids, i))
        return view_pairs(
            shapes,
            seed + 1,
            epoch,
            image_size=image_size,
            render_size=render_size,
            distance_range=tuple(distance_range or DISTANCE_RANGE),
            scene=scene,
        )

    return (
        tf.data.Dataset.counter(initial_epoch)
        .flat_map(epoch_pairs)
        .batch(batch_size, drop_remainder=True)
        .map(lambda image, grid: ((image, grid),))
        .prefetch(tf.data.AUTOTUNE)
    )


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Full batches in one pass over n shapes."""
    return n // batch_size
