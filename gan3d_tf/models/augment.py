"""Differentiable augmentation of the grids D scores (DiffAugment, Zhao et al. 2020; ADA, Karras et al. 2020).

With a few hundred training shapes D memorises the data and wins every
batch; augmenting every grid D sees, real and generated alike, with
transformations that G's gradient passes through keeps D from memorising
without teaching G the augmentation (G is judged on augmented copies of
its own output, so it has no reason to draw augmented shapes).

    flip:      mirror a random half of the grids along the first spatial
               axis (ModelNet's left-right axis: a ModelNet10 chair and its
               mirror image overlap at IoU 0.92 along it, 0.24 and 0.10
               along the two others).
    translate: shift each grid by up to R/8 voxels along each axis, with
               empty space coming in (DiffAugment's translation).
"""

from __future__ import annotations

import tensorflow as tf

from gan3d_tf.config import AUGMENTS


def parse_policy(policy: str) -> tuple[str, ...]:
    """("flip", "translate") from "flip,translate"; () from "" or "none".

    Raises:
        ValueError: a name not in `AUGMENTS`.
    """
    names = tuple(n.strip() for n in policy.split(",") if n.strip() and n.strip() != "none")
    for name in names:
        if name not in AUGMENTS:
            raise ValueError(f"unknown augmentation {name!r} in {policy!r}; choose from {AUGMENTS}")
    return names


def diff_augment(x, policy: str, rng: tf.random.Generator) -> tf.Tensor:
    """Augments a batch of grids [batch, R, R, R]; each grid draws its own transformation.

    Args:
        x: float tensor [batch, R, R, R].
        policy: comma-separated names from `AUGMENTS` ("" or "none": x unchanged).
        rng: the stateful generator to draw from (its state advances).
    """
    names = parse_policy(policy)
    batch = tf.shape(x)[0]
    if "flip" in names:
        flip = rng.uniform((batch,), 0, 2, dtype=tf.int32) > 0
        x = tf.where(tf.reshape(flip, (-1, 1, 1, 1)), tf.reverse(x, axis=[1]), x)
    if "translate" in names:
        resolution = x.shape[1]
        shift = max(resolution // 8, 1)
        x = tf.pad(x, [[0, 0]] + [[shift, shift]] * 3)
        for axis in (1, 2, 3):
            start = rng.uniform((batch, 1), 0, 2 * shift + 1, dtype=tf.int32)
            x = tf.gather(x, start + tf.range(resolution)[None], axis=axis, batch_dims=1)
    return x
