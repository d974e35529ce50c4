"""Reading labelled voxel grids from a ModelNet-style `.npz` file.

The file holds `X_train` [N, R, R, R] and `y_train` [N] (and optionally
`X_test`, `y_test`, and `classes`, the class names in label order). Files
without `classes` whose labels fit ModelNet10 or ModelNet40 get those
standard names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODELNET10_CLASSES = (
    "bathtub", "bed", "chair", "desk", "dresser", "monitor", "night_stand", "sofa", "table", "toilet",
)  # fmt: skip
MODELNET40_CLASSES = (
    "airplane", "bathtub", "bed", "bench", "bookshelf", "bottle", "bowl", "car", "chair", "cone",
    "cup", "curtain", "desk", "door", "dresser", "flower_pot", "glass_box", "guitar", "keyboard",
    "lamp", "laptop", "mantel", "monitor", "night_stand", "person", "piano", "plant", "radio",
    "range_hood", "sink", "sofa", "stairs", "stool", "table", "tent", "toilet", "tv_stand", "vase",
    "wardrobe", "xbox",
)  # fmt: skip


@dataclass(frozen=True)
class VoxelSet:
    """Voxel grids of one split, as loaded.

    Attributes:
        voxels: uint8 [N, R, R, R] in {0, 1}, up axis = axis 2.
        labels: int64 [N].
        classes: class names in label order.
        n_empty_skipped: how many all-zero grids were dropped.
        source: where the grids came from (for messages and metadata).
    """

    voxels: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    n_empty_skipped: int
    source: str


def class_names(data) -> tuple[str, ...]:
    """The class names of an opened `.npz`: its `classes` key, else the
    ModelNet10 or ModelNet40 names when the labels fit, else `class_<i>`."""
    if "classes" in data.files:
        return tuple(str(c) for c in data["classes"])
    n = int(max(data[k].max(initial=-1) for k in ("y_train", "y_test") if k in data.files)) + 1
    for names in (MODELNET10_CLASSES, MODELNET40_CLASSES):
        if n <= len(names):
            return names
    return tuple(f"class_{i}" for i in range(n))


def split_categories(category: str) -> tuple[str, ...]:
    """The class names of a `--category` value: one name or several joined by commas ("bed,chair").

    Raises:
        ValueError: an empty name (as in "bed,,chair") or a name given twice.
    """
    names = tuple(c.strip() for c in category.split(","))
    if not all(names):
        raise ValueError(f"category {category!r} has an empty class name")
    if len(set(names)) != len(names):
        raise ValueError(f"category {category!r} names a class twice")
    return names


def load_voxel_npz(path, category: str = "all", split: str = "train", resolution: int | None = None,
                   skip_empty: bool = True) -> VoxelSet:
    """Loads one split of a voxel `.npz`, optionally one class, at a resolution.

    Args:
        path: the `.npz` file.
        category: a class name, several joined by commas ("bed,chair"), or "all".
        split: "train" or "test" (reads `X_<split>`, `y_<split>`).
        resolution: resample the grids to this side length (integer factor
            of the stored one); None keeps them.
        skip_empty: drop all-zero grids (counted in `n_empty_skipped`).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a readable `.npz`, missing keys, wrong shapes or
            dtypes, or an unknown category; the message names the file and
            the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:  # np.load raises several types for a bad file
        raise ValueError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from e
    with data:
        xk, yk = f"X_{split}", f"y_{split}"
        missing = [k for k in (xk, yk) if k not in data.files]
        if missing:
            raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(data.files)}; "
                             f"expected X_train, y_train (and X_test, y_test, optionally classes)")
        x, y = data[xk], data[yk]
        if x.ndim != 4 or not (x.shape[1] == x.shape[2] == x.shape[3]):
            raise ValueError(f"{path}: {xk} must have shape [N, R, R, R], got {x.shape}")
        if y.shape != (x.shape[0],):
            raise ValueError(f"{path}: {yk} must have shape [{x.shape[0]}] to match {xk}, got {y.shape}")
        if not (np.issubdtype(y.dtype, np.integer)):
            raise ValueError(f"{path}: {yk} must hold integer labels, got dtype {y.dtype}")
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError(f"{path}: {xk} must hold occupancies in [0, 1], got range "
                             f"[{x.min()}, {x.max()}]")
        classes = class_names(data)
    if y.size and (y.min() < 0 or y.max() >= len(classes)):
        raise ValueError(f"{path}: {yk} has labels outside 0..{len(classes) - 1}")
    if category != "all":
        wanted = split_categories(category)
        for c in wanted:
            if c not in classes:
                raise ValueError(f"unknown category {c!r} in {path}; choose one of {list(classes)} or 'all'")
        keep = np.isin(y, [classes.index(c) for c in wanted])
        x, y = x[keep], y[keep]
    voxels = (x > 0.5).astype(np.uint8)
    n_empty = 0
    if skip_empty:
        nonempty = voxels.reshape(len(voxels), -1).any(axis=1)
        n_empty = int((~nonempty).sum())
        voxels, y = voxels[nonempty], y[nonempty]
    if len(voxels) == 0:
        raise ValueError(f"{path}: no non-empty {split} grids for category {category!r}")
    if resolution is not None:
        voxels = resample(voxels, resolution)
    return VoxelSet(voxels, y.astype(np.int64), classes, n_empty, str(path))


def resample(voxels: np.ndarray, resolution: int) -> np.ndarray:
    """Resamples [N, R, R, R] occupancy grids by an integer factor.

    Upsampling repeats each voxel; downsampling marks a coarse voxel occupied
    when any of its fine voxels is (so thin parts such as chair legs survive).

    Args:
        voxels: [N, R, R, R] array.
        resolution: target side length; R/resolution or resolution/R must be
            an integer.
    """
    r = voxels.shape[1]
    if resolution == r:
        return voxels
    if resolution > r and resolution % r == 0:
        f = resolution // r
        return voxels.repeat(f, axis=1).repeat(f, axis=2).repeat(f, axis=3)
    if resolution < r and r % resolution == 0:
        f = r // resolution
        n = len(voxels)
        return voxels.reshape(n, resolution, f, resolution, f, resolution, f).max(axis=(2, 4, 6))
    raise ValueError(f"cannot resample {r}^3 grids to {resolution}^3: the sizes must differ by an integer factor")
