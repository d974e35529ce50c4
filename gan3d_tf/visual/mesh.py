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


def write_meshes(voxels: np.ndarray, out_dir, pattern: str, level: float = 0.5) -> tuple[list[str], int]:
    """One `.obj` surface per non-empty grid of [N, R, R, R] `voxels`, named `pattern.format(i)` in out_dir.

    Returns:
        (the paths written, the number of empty grids, which get no file).
    """
    paths, empty = [], 0
    for i, grid in enumerate(voxels):
        mesh = voxels_to_mesh(grid, level)
        if mesh is None:
            empty += 1
            continue
        path = f"{out_dir}/{pattern.format(i)}"
        mesh.export(path)
        paths.append(path)
    return paths, empty
