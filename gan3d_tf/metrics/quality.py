"""What a user sees in a set of generated grids: near-empty and fragmented samples, and cleaning.

A sample can score well on COV / MMD / 1-NNA and still look broken: a grid
with 6 filled voxels is not empty, and a chair with a floating slab beside it
is one shape to the metrics. Two counts name those cases:

- near-empty: fewer filled voxels than `NEAR_EMPTY_FRACTION` (5 %) of the
  reference shapes' mean number of filled voxels (empty grids included);
- fragmented: non-empty, and its largest 26-connected component holds less
  than `FRAGMENT_FRACTION` (80 %) of its filled voxels.

`keep_largest_component` cleans a sample the way the authors' own visualiser
does: it keeps the largest connected component of the thresholded grid.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from gan3d_tf.metrics.iou import as_grids

NEAR_EMPTY_FRACTION = 0.05
"""A sample is near-empty below this fraction of the reference shapes' mean filled-voxel count."""
FRAGMENT_FRACTION = 0.8
"""A non-empty sample is fragmented when its largest component holds less than this fraction of its filled voxels."""
CONNECTIVITY_26 = np.ones((3, 3, 3), bool)
"""Voxels touching by a face, an edge or a corner are connected."""


def filled_voxels(samples, threshold: float = 0.5) -> np.ndarray:
    """int64 [n]: filled voxels (occupancy above `threshold`) of each grid of [n, R, R, R]."""
    samples = as_grids(samples, "samples")
    return (samples > threshold).reshape(len(samples), -1).sum(axis=1)


def largest_component_mask(grid: np.ndarray, connectivity: int = 26) -> np.ndarray:
    """bool [R, R, R]: the largest component of one boolean grid (all False when it is empty;
    ties: the component met first in C order).

    Args:
        grid: bool [R, R, R].
        connectivity: 26 (faces, edges and corners touch) or 6 (faces only).
    """
    if connectivity not in (6, 26):
        raise ValueError(f"connectivity must be 6 or 26, got {connectivity}")
    structure = CONNECTIVITY_26 if connectivity == 26 else ndimage.generate_binary_structure(3, 1)
    labels, n = ndimage.label(grid, structure=structure)
    if n == 0:
        return np.zeros(grid.shape, bool)
    sizes = np.bincount(labels.ravel())[1:]
    return labels == 1 + int(np.argmax(sizes))


def largest_component_fraction(samples, threshold: float = 0.5, connectivity: int = 26) -> np.ndarray:
    """float64 [n]: the share of each grid's filled voxels in its largest component (26- or 6-connected;
    NaN when empty)."""
    samples = as_grids(samples, "samples")
    out = np.full(len(samples), np.nan)
    for k, grid in enumerate(samples > threshold):
        total = grid.sum()
        if total:
            out[k] = largest_component_mask(grid, connectivity).sum() / total
    return out


def keep_largest_component(samples, threshold: float = 0.5) -> np.ndarray:
    """The grids with every voxel outside the largest 26-connected component of their thresholded grid set to 0.

    Occupancies inside that component are kept as they are, so the result
    thresholded at `threshold` is exactly the largest component. An empty
    grid stays as it is (all below the threshold).

    Args:
        samples: [n, R, R, R] occupancies.
        threshold: a voxel is filled when its occupancy is above this.

    Returns:
        An array of the samples' shape and dtype.
    """
    samples = as_grids(samples, "samples")
    out = np.array(samples, copy=True)
    for k, grid in enumerate(samples > threshold):
        if grid.any():
            out[k] = np.where(largest_component_mask(grid), samples[k], 0)
    return out


def sample_quality(samples, reference_mean_voxels: float | None, threshold: float = 0.5) -> dict:
    """Near-empty and fragmented counts of generated grids.

    Args:
        samples: [n, R, R, R] occupancies.
        reference_mean_voxels: the reference shapes' mean number of filled
            voxels (at the same resolution and threshold); None when no
            reference is known: near-empty is then not counted (None).
        threshold: a voxel is filled when its occupancy is above this.

    Returns:
        {"n_near_empty": samples below the cutoff (empty ones included),
         "near_empty_below_voxels": the cutoff (5 % of the reference mean),
         "n_fragmented": non-empty samples whose largest component holds
         under 80 % of their filled voxels,
         "n_near_empty_or_fragmented": samples that are either,
         "mean_largest_component_fraction": over the non-empty samples (None
         when all are empty),
         "reference_mean_voxels"}.
    """
    counts = filled_voxels(samples, threshold)
    fraction = largest_component_fraction(samples, threshold)
    fragmented = (counts > 0) & (np.nan_to_num(fraction, nan=1.0) < FRAGMENT_FRACTION)
    if reference_mean_voxels is None:
        near_empty, cutoff = None, None
    else:
        if not reference_mean_voxels > 0:
            raise ValueError(f"reference_mean_voxels must be > 0, got {reference_mean_voxels}")
        cutoff = NEAR_EMPTY_FRACTION * float(reference_mean_voxels)
        near_empty = counts < cutoff
    nonempty = fraction[counts > 0]
    return {
        "n_near_empty": None if near_empty is None else int(near_empty.sum()),
        "near_empty_below_voxels": None if cutoff is None else round(cutoff, 2),
        "n_fragmented": int(fragmented.sum()),
        "n_near_empty_or_fragmented": int(fragmented.sum() if near_empty is None else (fragmented | near_empty).sum()),
        "mean_largest_component_fraction": float(nonempty.mean()) if len(nonempty) else None,
        "reference_mean_voxels": None if reference_mean_voxels is None else round(float(reference_mean_voxels), 2),
    }
