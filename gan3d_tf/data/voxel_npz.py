"""Reading labelled voxel grids from a ModelNet-style `.npz` file.

The file holds `X_train` [N, R, R, R] and `y_train` [N] (and optionally
`X_test`, `y_test`, and `classes`, the class names in label order). Files
without `classes` whose labels fit ModelNet10 or ModelNet40 get those
standard names; other labels are refused. Grids hold 0/1 (or bool) values;
the checks shared by every reader are in `gan3d_tf.data.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan3d_tf.data.checks import check_grids, check_labels, open_npz, read_array

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
        n_nonfinite_skipped: how many grids holding NaN or inf were dropped.
    """

    voxels: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    n_empty_skipped: int
    source: str
    n_nonfinite_skipped: int = 0


def class_names(data: np.lib.npyio.NpzFile, path, label_keys=("y_train", "y_test")) -> tuple[str, ...]:
    """The class names of an opened `.npz`: its `classes` key, else the
    ModelNet10 names when every integer label fits them, else the ModelNet40
    names (labels outside these are refused by `checks.check_labels`).

    Args:
        data: the opened `.npz` (`checks.open_npz`).
        path: its path, for messages.
        label_keys: the keys of its labels.

    Raises:
        ValueError: an unreadable key, or `classes` that is not a non-empty 1-D list.
    """
    if "classes" in data.files:
        names = read_array(data, "classes", path)
        if names.ndim != 1 or not len(names):
            raise ValueError(f"{path}: classes must be a non-empty 1-D list of names, got shape {names.shape}")
        return tuple(str(c) for c in names)
    labels = [read_array(data, k, path) for k in label_keys if k in data.files]
    top = max((int(y.max()) for y in labels if y.dtype.kind in "iu" and y.size), default=-1)
    return MODELNET10_CLASSES if top < len(MODELNET10_CLASSES) else MODELNET40_CLASSES


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


def load_voxel_npz(
    path, category: str = "all", split: str = "train", resolution: int | None = None, skip_empty: bool = True
) -> VoxelSet:
    """Loads one split of a voxel `.npz`, optionally one class, at a resolution.

    Grids must hold 0/1 (or bool) values and labels must index the class list
    (`class_names`); a grid holding NaN or inf is dropped and counted in
    `n_nonfinite_skipped`.

    Args:
        path: the `.npz` file.
        category: a class name, several joined by commas ("bed,chair"), or "all".
        split: "train" or "test" (reads `X_<split>`, `y_<split>`).
        resolution: resample the grids to this side length (integer factor
            of the stored one); None keeps them.
        skip_empty: drop all-zero grids (counted in `n_empty_skipped`) and
            grids holding NaN or inf; False keeps every grid (a fixed
            evaluation set) and refuses NaN or inf.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a readable `.npz`, missing keys, wrong shapes or
            dtypes, values other than 0/1, labels outside the class list,
            mismatched lengths, no grids left, or an unknown category; the
            message names the file, the key and the first bad index and value.
    """
    path = Path(path)
    xk, yk = f"X_{split}", f"y_{split}"
    with open_npz(path) as data:
        missing = [k for k in (xk, yk) if k not in data.files]
        if missing:
            raise ValueError(
                f"{path}: missing key(s) {missing}; found {sorted(data.files)}; "
                f"expected X_train, y_train (and X_test, y_test, optionally classes)"
            )
        x = read_array(data, xk, path)
        nonfinite = check_grids(x, path, xk, skip_nonfinite=skip_empty)
        classes = class_names(data, path)
        y = check_labels(read_array(data, yk, path), path, yk, classes, xk, len(x))
    keep = np.ones(len(y), bool)
    if category != "all":
        wanted = split_categories(category)
        for c in wanted:
            if c not in classes:
                raise ValueError(f"unknown category {c!r} in {path}; choose one of {list(classes)} or 'all'")
        keep = np.isin(y, [classes.index(c) for c in wanted])
    dropped = np.flatnonzero(keep & nonfinite)
    keep &= ~nonfinite
    if not keep.all():
        x, y = x[keep], y[keep]
    voxels = x.astype(np.uint8)
    n_empty = 0
    if skip_empty:
        nonempty = voxels.any(axis=(1, 2, 3))
        n_empty = int((~nonempty).sum())
        voxels, y = voxels[nonempty], y[nonempty]
    if len(voxels) == 0:
        first = f", the first {xk}[{dropped[0]}]" if len(dropped) else ""
        raise ValueError(
            f"{path}: no non-empty {split} grids for category {category!r} in {xk} (skipped "
            f"{n_empty} empty and {len(dropped)} holding NaN or inf{first})"
        )
    if resolution is not None:
        voxels = resample(voxels, resolution)
    return VoxelSet(voxels, y, classes, n_empty, str(path), len(dropped))


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
