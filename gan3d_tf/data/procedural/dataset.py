"""The public API of the procedural dataset: CATEGORIES, `make_shape` and `make_dataset`.

Maps each category to its builder (`gan3d_tf.data.procedural.chairs`,
`gan3d_tf.data.procedural.furniture`), turns the ones ModelNet aligns with
the width along y, and rasterizes the parts (`gan3d_tf.data.procedural.primitives`).
"""

from __future__ import annotations

import numbers
import zlib

import numpy as np

from gan3d_tf.data.procedural.chairs import _chair
from gan3d_tf.data.procedural.furniture import _bed, _bookcase, _desk, _sofa, _table
from gan3d_tf.data.procedural.primitives import _Parts, _rasterize

CATEGORIES: tuple[str, ...] = ("bed", "bookcase", "chair", "desk", "sofa", "table")

_MIN_RESOLUTION = 16
# Built with the front at -y and width along x, then turned 90 deg about z so
# that the width runs along y and the front faces -x (ModelNet's alignment).
_TURNED = frozenset({"desk", "sofa", "table"})

_BUILDERS = {
    "bed": _bed,
    "bookcase": _bookcase,
    "chair": _chair,
    "desk": _desk,
    "sofa": _sofa,
    "table": _table,
}


def _check_category(category: str) -> None:
    if category not in _BUILDERS:
        raise ValueError(f"unknown category {category!r}; valid categories: {', '.join(CATEGORIES)}")


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def make_shape(category: str, resolution: int, rng: np.random.Generator) -> np.ndarray:
    """Draws one random piece of furniture.

    Args:
        category: one of CATEGORIES.
        resolution: voxels per side (an integer >= 16; 32 and 64 are the
            resolutions the project uses).
        rng: source of randomness; the object drawn depends only on the state
            of rng, not on the resolution.

    Returns:
        (resolution,)*3 uint8 array in {0, 1}, axes (x, y, z), z up.

    Raises:
        ValueError: for an unknown category or an invalid resolution.
    """
    _check_category(category)
    _check_int("resolution", resolution, _MIN_RESOLUTION)
    parts = _Parts()
    _BUILDERS[category](parts, rng)
    if category in _TURNED:
        parts.turn()
    return _rasterize(parts, int(resolution)).astype(np.uint8)


def make_dataset(category: str, n: int, resolution: int = 32, seed: int = 0) -> np.ndarray:
    """Generates n shapes of one category, deterministically.

    Shape i is drawn with np.random.default_rng([seed, crc32(category), i]),
    so it depends only on (category, resolution, seed, i): a dataset's first
    k shapes equal make_dataset(category, k, ...), and the same index at 32^3
    and 64^3 is the same object.

    Args:
        category: one of CATEGORIES.
        n: number of shapes (>= 0).
        resolution: voxels per side (integer >= 16).
        seed: non-negative integer seed.

    Returns:
        (n, resolution, resolution, resolution) uint8 array in {0, 1}.

    Raises:
        ValueError: for an unknown category or an invalid n, resolution or seed.
    """
    _check_category(category)
    _check_int("n", n, 0)
    _check_int("resolution", resolution, _MIN_RESOLUTION)
    _check_int("seed", seed, 0)
    key = zlib.crc32(category.encode("utf-8"))
    out = np.empty((int(n),) + (int(resolution),) * 3, dtype=np.uint8)
    for i in range(int(n)):
        out[i] = make_shape(category, resolution, np.random.default_rng([int(seed), key, i]))
    return out
