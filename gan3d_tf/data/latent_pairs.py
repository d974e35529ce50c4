"""(image, z) training pairs drawn from a fixed generator: the 3D-VAE-GAN's "latent" recipe (beyond the paper).

Each pair is made on the fly: z is drawn from G's prior, G(z) is thresholded
at 0.5 to a voxel grid, and the grid is rendered like any training shape
(`gan3d_tf.data.views.make_pair`: random camera, light, colour, background
and scene). The encoder then learns image -> z with an exact label, from an
unlimited set, instead of finding z by gradient descent through a confident G.

Element i of epoch e is a function of (seed, e, i) only: z from
fold_in(fold_in([seed + LATENT_SEED_OFFSET, 0], e), i), its view from
fold_in(fold_in([seed + VIEW_SEED_OFFSET, 0], e), i). G is evaluated in
inference mode (its batch-norm moving statistics), so a resumed run sees the
pairs an uninterrupted one would.

Example:
    >>> g = keras.saving.load_model("pretrained/chair32/generator.keras")
    >>> batches = latent_dataset(g, batch_size=32, steps=25, seed=0, image_size=64)
    >>> ((images, z, voxels),) = next(iter(batches))  # [32, 64, 64, 3], [32, 128], [32, 32, 32, 32]
"""

from __future__ import annotations

import tensorflow as tf

from gan3d_tf.data.views import DISTANCE_RANGE, make_pair

LATENT_SEED_OFFSET = 3  # seeds of the z draws: config.seed + 3 (view_dataset's views use seed + 1)
VIEW_SEED_OFFSET = 4  # seeds of the views of G's samples


def _element_seed(seed: int, offset: int, epoch, index) -> tf.Tensor:
    base = tf.random.experimental.stateless_fold_in(tf.constant([seed + offset, 0], tf.int64), tf.cast(epoch, tf.int64))
    return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))


def draw_z(seed: int, epoch, index, z_dim: int, distribution: str) -> tf.Tensor:
    """The z of element `index` of epoch `epoch`, from G's prior: float32 [z_dim] (stateless).

    Args:
        seed: the run's seed.
        epoch: epoch number (int or scalar integer tensor).
        index: element index within the epoch (int or scalar integer tensor).
        z_dim: size of z.
        distribution: "normal" (N(0, 1)) or "uniform" (U[0, 1]), the prior G was trained with.
    """
    s = _element_seed(seed, LATENT_SEED_OFFSET, epoch, index)
    if distribution == "normal":
        return tf.random.stateless_normal([z_dim], seed=s)
    if distribution == "uniform":
        return tf.random.stateless_uniform([z_dim], seed=s)
    raise ValueError(f"z distribution must be 'normal' or 'uniform', got {distribution!r}")


def latent_dataset(
    generator,
    batch_size: int,
    steps: int,
    seed: int,
    initial_epoch: int = 0,
    image_size: int = 256,
    render_size: int | None = None,
    distance_range=None,
    scene: str = "plain",
) -> tf.data.Dataset:
    """An endless dataset of ((images [B, S, S, 3], z [B, z_dim], voxels [B, R, R, R]),) batches.

    Epoch e holds `steps` batches; every element is a new z, its shape G(z) > 0.5
    and one rendered view of it (see the module docstring).

    Args:
        generator: the fixed `Generator` (its `z_dim` and `z_distribution` are used; called with training=False).
        batch_size: global batch size.
        steps: batches per epoch (the run's `steps_per_epoch`, so that checkpoints and resume line up).
        seed: the run's seed.
        initial_epoch: index of the first epoch produced.
        image_size: side of the rendered images in pixels.
        render_size: side at which rays are cast (None: image_size).
        distance_range: (min, max) camera distance in grid sides (None: `views.DISTANCE_RANGE`).
        scene: look of the views, "plain", "room" or "photo" (`views.make_pair`).

    Raises:
        ValueError: batch_size or steps below 1.
    """
    if batch_size < 1 or steps < 1:
        raise ValueError(f"batch_size and steps must be >= 1, got {batch_size} and {steps}")
    z_dim, distribution = int(generator.z_dim), generator.z_distribution
    distance_range = tuple(distance_range or DISTANCE_RANGE)

    def shapes(index, z):  # a batch of codes -> their thresholded samples (inference-mode G)
        return index, z, tf.cast(generator(z, training=False) > 0.5, tf.float32)

    def render(index, z, grid, epoch):
        image, grid = make_pair(
            grid,
            _element_seed(seed, VIEW_SEED_OFFSET, epoch, index),
            image_size=image_size,
            render_size=render_size,
            scene=scene,
            distance_range=distance_range,
        )
        return image, z, grid

    def epoch_pairs(epoch):
        return (
            tf.data.Dataset.range(steps * batch_size)
            .map(lambda i: (i, draw_z(seed, epoch, i, z_dim, distribution)))
            .batch(batch_size)
            .map(shapes)
            .unbatch()
            .map(lambda i, z, grid: render(i, z, grid, epoch), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        )

    return (
        tf.data.Dataset.counter(initial_epoch)
        .flat_map(epoch_pairs)
        .batch(batch_size, drop_remainder=True)
        .map(lambda image, z, grid: ((image, z, grid),))
        .prefetch(tf.data.AUTOTUNE)
    )
