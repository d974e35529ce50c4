"""Shape-set statistics used to compare generated samples with training data."""

from __future__ import annotations

import numpy as np


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
    b = (v > threshold).reshape(len(v), -1).astype(np.float32)
    inter = b @ b.T
    sizes = b.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return float(iou[np.triu_indices(len(v), 1)].mean())
