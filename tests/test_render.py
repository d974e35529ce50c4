"""Tests for the numpy voxel renderer."""

import numpy as np
import pytest
from PIL import Image

from gan3d_tf.data.procedural import make_dataset
from gan3d_tf.visual.render import render_grid, render_voxels, save_png


def _foreground(image: np.ndarray) -> np.ndarray:
    return np.any(image != 255, axis=-1)


def _centroid(image: np.ndarray) -> np.ndarray:
    """(row, column) centroid of the non-background pixels."""
    return np.argwhere(_foreground(image)).mean(0)


def _box(r: int, lo, hi) -> np.ndarray:
    grid = np.zeros((r, r, r), dtype=np.uint8)
    grid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = 1
    return grid


@pytest.mark.parametrize("r", [16, 32, 64])
def test_shape_dtype(r):
    grid = make_dataset("chair", 1, resolution=r)[0]
    for size in (64, 100):
        image = render_voxels(grid, size=size)
        assert image.shape == (size, size, 3) and image.dtype == np.uint8
        assert _foreground(image).mean() > 0.02
    np.testing.assert_array_equal(render_voxels(grid[..., None]), render_voxels(grid))


def test_empty_grid_is_white():
    image = render_voxels(np.zeros((32, 32, 32)))
    assert image.shape == (128, 128, 3)
    assert np.all(image == 255)


def test_threshold():
    grid = np.zeros((16, 16, 16))
    grid[4:12, 4:12, 0:8] = 0.4
    assert np.all(render_voxels(grid) == 255)
    assert _foreground(render_voxels(grid, threshold=0.3)).any()


def test_up_is_up():
    low = render_voxels(_box(32, (12, 12, 0), (20, 20, 8)))
    high = render_voxels(_box(32, (12, 12, 24), (20, 20, 32)))
    assert _centroid(low)[0] > 64 + 10  # lower half of the image
    assert _centroid(high)[0] < 64 - 10
    assert _centroid(low)[0] - _centroid(high)[0] > 20


def test_horizontal_shifts_move_the_image():
    base = _centroid(render_voxels(_box(32, (12, 12, 0), (18, 18, 6))))
    plus_x = _centroid(render_voxels(_box(32, (22, 12, 0), (28, 18, 6))))
    plus_y = _centroid(render_voxels(_box(32, (12, 22, 0), (18, 28, 6))))
    assert plus_x[1] - base[1] > 10  # +x moves right (front-left view)
    assert base[1] - plus_y[1] > 10  # +y (away from the front) moves left
    assert plus_x[0] < base[0] and plus_y[0] < base[0]  # farther away is higher


def test_shading():
    """A cube shows a bright top and darker sides; a chair many gray levels."""
    image = render_voxels(_box(32, (8, 8, 0), (24, 24, 16)))
    cols = np.nonzero(_foreground(image).any(0))[0]
    col = image[:, (cols[0] + cols[-1]) // 2].astype(int).sum(-1)
    rows = np.nonzero(col < 3 * 255)[0]
    top, bottom = col[rows[2]], col[rows[-3]]
    assert top > bottom + 30
    chair = render_voxels(make_dataset("chair", 1, resolution=64, seed=0)[0])
    colours = np.unique(chair[_foreground(chair)], axis=0)
    assert len(colours) > 10


def test_render_grid_layout():
    batch = make_dataset("table", 5, resolution=32)
    mosaic = render_grid(batch, size=64)
    assert mosaic.shape == (2 * 64, 3 * 64, 3) and mosaic.dtype == np.uint8
    assert np.all(mosaic[:, 63] == mosaic[0, 63]) and mosaic[0, 63, 0] < 255  # separator
    np.testing.assert_array_equal(mosaic[64:, 128:][2:, 2:], 255)  # unused last tile
    tile = mosaic[64 + 1 : 128 - 1, 64 + 1 : 128 - 1]
    np.testing.assert_array_equal(tile, render_voxels(batch[4], size=64)[1:-1, 1:-1])
    wide = render_grid(batch[..., None], size=32, ncols=5)
    assert wide.shape == (32, 160, 3)
    with pytest.raises(ValueError):
        render_grid(np.zeros((0, 8, 8, 8)))


def test_save_png(tmp_path):
    image = render_grid(make_dataset("sofa", 2, resolution=16), size=48)
    path = tmp_path / "a" / "b" / "grid.png"
    save_png(image, path)
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), image)
