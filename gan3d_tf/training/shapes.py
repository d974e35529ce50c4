"""A run's training shapes: loaded from its config, and a seeded part held out to score generation."""

from __future__ import annotations

import difflib

import numpy as np

from gan3d_tf.config import Config
from gan3d_tf.data import procedural
from gan3d_tf.data.voxel_npz import VoxelSet, load_voxel_npz, split_categories
from gan3d_tf.datasets import VOXEL_DATASETS


def load_training_data(config: Config) -> VoxelSet:
    """The training grids for `config.data` at `config.model.resolution`.

    Raises:
        FileNotFoundError / ValueError: see `load_voxel_npz` and
            `procedural.make_dataset`; raised before any model is built.
    """
    data, res = config.data, config.model.resolution
    if data.path is not None:
        return load_voxel_npz(data.path, data.category, "train", resolution=res)
    categories = procedural.CATEGORIES if data.category == "all" else split_categories(data.category)
    for c in categories:
        if c not in procedural.CATEGORIES:
            close = difflib.get_close_matches(c, procedural.CATEGORIES, n=1)
            raise ValueError(
                f"unknown category {c!r} for the built-in data{f' (did you mean {close[0]!r}?)' if close else ''}; "
                f"choose one of {list(procedural.CATEGORIES)} or 'all', or give --data FILE.npz or a data set name "
                f"({', '.join(VOXEL_DATASETS)}) for other classes"
            )
    per_class = [procedural.make_dataset(c, data.builtin_size, res, seed=config.seed) for c in categories]
    labels = np.concatenate([np.full(len(v), i) for i, v in enumerate(per_class)])
    return VoxelSet(np.concatenate(per_class), labels, tuple(categories), 0, "builtin-procedural")


def n_held_out(n: int, fraction: float) -> int:
    """How many of `n` shapes `split_validation` holds out for `fraction` (at least 2; 0 for no fraction).

    Args:
        n: the number of shapes.
        fraction: the fraction held out (`data.val_fraction`).
    """
    return max(2, int(round(fraction * n))) if fraction else 0


def split_validation(data: VoxelSet, fraction: float, seed: int) -> tuple[VoxelSet, VoxelSet | None]:
    """(train, held out): a seeded random `fraction` of `data`'s shapes held out, or (data, None) for 0.

    The held-out shapes are never trained on; the generation monitor scores
    samples against them (tune on these, never on a test split).
    """
    if not fraction:
        return data, None
    order = np.random.default_rng(seed + 7919).permutation(len(data.voxels))
    n_val = n_held_out(len(order), fraction)
    if n_val >= len(order):
        raise ValueError(f"val_fraction {fraction} leaves no training shapes out of {len(order)}")
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])

    def part(idx, tag):
        train = tag == "train"  # the skip counts stay with the training part
        return VoxelSet(
            data.voxels[idx],
            data.labels[idx],
            data.classes,
            data.n_empty_skipped if train else 0,
            f"{data.source} ({tag} part, seed {seed})",
            data.n_nonfinite_skipped if train else 0,
        )

    return part(train, "train"), part(val, "held-out")
