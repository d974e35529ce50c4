"""Voxel grids from points, meshes, .binvox and .mat files (what `gan3d_tf.data.prepare` converts with)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from gan3d_tf.data.checks import check_occupancy

CLOSE_ITERATIONS = 2
MAX_RESOLUTION = 512


def fit_grid(grid: np.ndarray, resolution: int) -> np.ndarray:
    """Crops a grid to its occupied bounding box and rescales it so the largest
    extent spans `resolution` voxels, centred on every axis.

    Args:
        grid: 3-D occupancy array (any shape).
        resolution: side length of the returned uint8 cube.
    """
    occ = np.asarray(grid) > 0
    out = np.zeros((resolution,) * 3, np.uint8)
    if not occ.any():
        return out
    box = tuple(slice(i.min(), i.max() + 1) for i in np.nonzero(occ))
    occ = occ[box].astype(np.uint8)
    scale = resolution / max(occ.shape)
    dst = []
    for axis, e in enumerate(occ.shape):
        n = min(resolution, max(1, int(round(e * scale))))
        # start of each destination voxel's footprint; reduceat takes the max
        # over [start_i, start_{i+1}) and repeats a voxel when starts coincide
        starts = np.floor(np.arange(n) * e / n).astype(np.intp)
        occ = np.maximum.reduceat(occ, starts, axis=axis)
        off = (resolution - n) // 2
        dst.append(slice(off, off + n))
    out[tuple(dst)] = occ
    return out


def voxelize_points(points: np.ndarray, resolution: int, fill: str = "surface", dilate: int = 0) -> np.ndarray:
    """Voxelizes one point cloud (z up) into a uint8 cube.

    Args:
        points: [P, 3] coordinates.
        resolution: side length R.
        fill: "surface" (voxels containing points) or "solid" (then closed
            and interior-filled).
        dilate: binary dilations applied after marking the points.
    """
    p = np.asarray(points, np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) == 0:
        raise ValueError(f"points must have shape [P, 3] with P > 0, got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("points contain NaN or inf")
    lo, hi = p.min(axis=0), p.max(axis=0)
    extent = max(float((hi - lo).max()), 1e-12)
    idx = np.floor(((p - (lo + hi) / 2) / extent + 0.5) * resolution).astype(np.intp)
    idx = np.clip(idx, 0, resolution - 1)
    grid = np.zeros((resolution,) * 3, bool)
    grid[idx[:, 0], idx[:, 1], idx[:, 2]] = True
    return _finish(grid, fill, dilate)


def _finish(grid: np.ndarray, fill: str, dilate: int) -> np.ndarray:
    """Dilates `dilate` times, and for "solid" closes and fills holes (padded
    so the border does not erode)."""
    if dilate:
        grid = ndimage.binary_dilation(grid, iterations=dilate)
    if fill == "solid":
        k = CLOSE_ITERATIONS
        padded = np.pad(grid, k)
        padded = ndimage.binary_fill_holes(ndimage.binary_closing(padded, iterations=k))
        grid = padded[k:-k, k:-k, k:-k] | grid
    return grid.astype(np.uint8)


def read_binvox(path) -> np.ndarray:
    """Reads a `.binvox` file into a bool array in x, y, z (z up) order.

    Args:
        path: the `.binvox` file (data stored x, z, y as binvox does).
    """
    from trimesh.exchange.binvox import load_binvox

    with open(path, "rb") as f:
        return np.asarray(load_binvox(f, axis_order="xzy").matrix, bool)


def read_mat(path) -> np.ndarray:
    """Reads a 3D ShapeNets `.mat` grid (MATLAB key `instance`).

    Args:
        path: the `.mat` file.

    Raises:
        ValueError: no `instance`, not 3-D, or values other than 0/1 (`checks.check_occupancy`).
    """
    from scipy.io import loadmat

    grid = loadmat(path).get("instance")
    if grid is None:
        raise ValueError(f"{path}: no 'instance' variable")
    if grid.ndim != 3:
        raise ValueError(f"{path}: 'instance' must be 3-D, got shape {grid.shape}")
    check_occupancy(grid, path, "instance")
    return grid


def voxelize_mesh(path, resolution: int, fill: str = "solid", dilate: int = 0) -> np.ndarray:
    """Loads a mesh with trimesh and voxelizes it (z up kept).

    Args:
        path: an `.off`, `.obj` or `.stl` file.
        resolution: side length R.
        fill: "solid" (trimesh `VoxelGrid.fill()`) or "surface".
        dilate: binary dilations of the rescaled grid.
    """
    import trimesh

    mesh = trimesh.load(str(path), force="mesh")
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError("no triangles in the file")
    extent = float(mesh.extents.max())
    if not np.isfinite(extent) or extent <= 0:
        raise ValueError(f"degenerate mesh extent {extent}")
    vox = mesh.voxelized(pitch=extent / (resolution - 1))
    if fill == "solid":
        vox = vox.fill()
    return _finish(fit_grid(vox.matrix, resolution).astype(bool), "surface", dilate)
