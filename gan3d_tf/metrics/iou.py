"""IoU between voxel grids: the distance matrix of two sets, and the mean pairwise IoU of one set."""

from __future__ import annotations

import numpy as np

_BLOCK_ELEMENTS = 2**24  # float32 elements per block of rows (64 MB)


def as_grids(x, name: str) -> np.ndarray:
    """x as an [N, R, R, R] array, or a ValueError naming it."""
    x = np.asarray(x)
    if x.ndim != 4 or not x.shape[1] == x.shape[2] == x.shape[3]:
        raise ValueError(f"{name} must have shape [N, R, R, R], got {x.shape}")
    return x


def filled_pair(a, b, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean occupancy of two grid sets of one resolution, each [N, R, R, R]."""
    a, b = as_grids(a, "a"), as_grids(b, "b")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"a and b must have the same resolution, got {a.shape[1:]} and {b.shape[1:]}")
    return a > threshold, b > threshold


def gram(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x @ y.T for x [N, V], y [M, V] (bool or float), in float32 blocks of rows.

    Only one block of each operand is converted to float32 at a time, so
    the memory beyond the inputs and the [N, M] float64 result is two blocks
    of 64 MB.
    """
    out = np.empty((len(x), len(y)), np.float64)
    rows = max(1, _BLOCK_ELEMENTS // max(1, x.shape[1]))
    for i in range(0, len(x), rows):
        xi = x[i : i + rows].astype(np.float32)
        for j in range(0, len(y), rows):
            out[i : i + rows, j : j + rows] = xi @ y[j : j + rows].astype(np.float32).T
    return out


def iou_distance(a, b, threshold: float = 0.5) -> np.ndarray:
    """1 - IoU between every grid of `a` and every grid of `b`.

    Two empty grids have IoU 1 (distance 0); an empty and a non-empty grid
    have IoU 0 (distance 1). Computed in blocks of rows, so 2000 x 2000
    grids of 32^3 need about 0.3 GB beyond the inputs.

    Args:
        a: [N, R, R, R] occupancies (probabilities or {0, 1}).
        b: [M, R, R, R] occupancies at the same resolution.
        threshold: a voxel is filled when its occupancy is above this.

    Returns:
        float64 [N, M] distances in [0, 1].
    """
    fa, fb = filled_pair(a, b, threshold)
    fa, fb = fa.reshape(len(fa), -1), fb.reshape(len(fb), -1)
    inter = gram(fa, fb)
    union = fa.sum(axis=1)[:, None] + fb.sum(axis=1)[None, :] - inter
    return 1.0 - np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def mean_pairwise_iou(voxels: np.ndarray, threshold: float = 0.5, max_shapes: int = 64) -> float:
    """Mean IoU over all pairs of the first `max_shapes` grids (a diversity measure).

    Near 1 means the shapes are (nearly) identical, e.g. a mode-collapsed
    generator; varied data gives small values. Pairs of two empty grids count
    as IoU 1 (identical).

    Args:
        voxels: [N, R, R, R] occupancies, N >= 2.
        threshold: occupancy level above which a voxel is filled.
        max_shapes: at most this many grids are compared (cost is quadratic).
    """
    v = np.asarray(voxels)[:max_shapes]
    if len(v) < 2:
        raise ValueError(f"need at least 2 grids, got {len(v)}")
    return float(1.0 - iou_distance(v, v, threshold)[np.triu_indices(len(v), 1)].mean())
