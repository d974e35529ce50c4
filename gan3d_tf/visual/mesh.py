"""Occupancy grids to triangle meshes (marching cubes via scikit-image)."""

from __future__ import annotations

import numpy as np
import trimesh
from skimage import measure


def voxels_to_mesh(voxels: np.ndarray, level: float = 0.5) -> trimesh.Trimesh | None:
    """The `level` iso-surface of an [R, R, R] occupancy grid, in voxel units.

    The grid is zero-padded by one voxel so that shapes touching the border
    give closed surfaces. Axes are kept (x, y, z) with z up, vertices span
    [0, R] on each axis.

    Args:
        voxels: [R, R, R] occupancies (probabilities or {0, 1}).
        level: iso-value of the surface.

    Returns:
        The mesh, or None when no voxel exceeds `level` (an empty shape).
    """
    grid = np.asarray(voxels, np.float32)
    if grid.ndim != 3:
        raise ValueError(f"expected an [R, R, R] grid, got shape {grid.shape}")
    if not (grid > level).any():
        return None
    verts, faces, _, _ = measure.marching_cubes(np.pad(grid, 1), level=level)
    return trimesh.Trimesh(vertices=verts - 0.5, faces=faces, process=False)
