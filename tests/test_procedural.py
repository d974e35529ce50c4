"""Tests for the built-in procedural furniture dataset."""

import numpy as np
import pytest

from gan3d_tf.data.procedural import CATEGORIES, make_dataset, make_shape


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU per shape of two (N, R, R, R) binary batches."""
    a, b = a.astype(bool), b.astype(bool)
    axes = tuple(range(1, a.ndim))
    return np.logical_and(a, b).sum(axes) / np.maximum(np.logical_or(a, b).sum(axes), 1)


def _max_pool2(batch: np.ndarray) -> np.ndarray:
    n, r = batch.shape[0], batch.shape[1] // 2
    return batch.reshape(n, r, 2, r, 2, r, 2).max(axis=(2, 4, 6))


@pytest.fixture(scope="module")
def data32():
    return {c: make_dataset(c, 20, resolution=32, seed=0) for c in CATEGORIES}


def test_categories():
    assert CATEGORIES == ("bed", "bookcase", "chair", "desk", "sofa", "table")


@pytest.mark.parametrize("resolution", [16, 32, 48, 64])
def test_shapes_dtype_and_values(resolution):
    for category in CATEGORIES:
        batch = make_dataset(category, 2, resolution=resolution, seed=1)
        assert batch.shape == (2, resolution, resolution, resolution)
        assert batch.dtype == np.uint8
        assert set(np.unique(batch)) <= {0, 1}
        assert batch.reshape(2, -1).sum(1).min() > 0
    single = make_shape("chair", resolution, np.random.default_rng(0))
    assert single.shape == (resolution,) * 3 and single.dtype == np.uint8


def test_determinism_and_prefix_property():
    a = make_dataset("chair", 10, resolution=32, seed=3)
    b = make_dataset("chair", 10, resolution=32, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[:5], make_dataset("chair", 5, resolution=32, seed=3))
    assert make_dataset("chair", 0).shape == (0, 32, 32, 32)


def test_seed_and_category_change_shapes():
    a = make_dataset("table", 10, seed=0)
    b = make_dataset("table", 10, seed=1)
    assert sum(np.array_equal(x, y) for x, y in zip(a, b)) == 0
    # Same seed and index but another category: another object (and class).
    assert not np.array_equal(make_dataset("desk", 1)[0], make_dataset("table", 1)[0])


def test_pairwise_variety():
    chairs = make_dataset("chair", 50, resolution=32, seed=0).reshape(50, -1).astype(np.int64)
    inter = chairs @ chairs.T
    sizes = chairs.sum(1)
    iou = inter / (sizes[:, None] + sizes[None, :] - inter)
    pairs = iou[np.triu_indices(50, 1)]
    assert pairs.mean() < 0.3
    assert pairs.max() < 0.99  # no duplicates
    assert len({c.tobytes() for c in chairs}) == 50


def test_occupancy_ranges(data32):
    for category, batch in data32.items():
        occ = batch.reshape(len(batch), -1).mean(1)
        assert occ.min() > 0.003, category
        assert occ.max() < 0.5, category
        assert 0.01 < occ.mean() < 0.2, (category, occ.mean())
    chair_occ = make_dataset("chair", 200, resolution=32, seed=0).mean()
    assert 0.02 < chair_occ < 0.10


def test_grid_conventions(data32):
    """Like ModelNet10: each object fills the grid and is centred on all axes."""
    for category, batch in data32.items():
        for shape in batch:
            idx = np.argwhere(shape)
            lo, hi = idx.min(0), idx.max(0) + 1
            assert (hi - lo).max() >= 31, category
            assert np.all(np.abs((lo + hi) / 2 - 16) <= 1.0), category
    for chair in data32["chair"]:  # chairs are tallest: they stand on index 0
        assert chair[:, :, 0].any() and chair[:, :, -1].any()


def test_table_top_is_up(data32):
    """Axis 2 points up: the table top (highest layer) is wider than the feet."""
    for table in data32["table"]:
        layers = table.sum(axis=(0, 1))
        occupied = np.nonzero(layers)[0]
        assert layers[occupied[-1]] > layers[occupied[0]]


@pytest.mark.parametrize("category, axis", [("chair", 1), ("bed", 1), ("sofa", 0)])
def test_back_side(category, axis, data32):
    """The highest layer (backrest / headboard) lies at +y for chairs and beds, +x for sofas."""
    for shape in data32[category]:
        top = np.nonzero(shape.any(axis=(0, 1)))[0][-1]
        coords = np.argwhere(shape[:, :, top])[:, axis]
        assert coords.mean() + 0.5 > 16 + 2, category


@pytest.mark.parametrize("category", ["bed", "desk", "sofa", "table"])
def test_long_side_along_y(category, data32):
    for shape in data32[category]:
        idx = np.argwhere(shape)
        ext = idx.max(0) - idx.min(0)
        assert ext[1] >= ext[0], category


@pytest.mark.parametrize("category", CATEGORIES)
def test_32_and_64_are_the_same_object(category):
    a = make_dataset(category, 12, resolution=32, seed=5)
    b = make_dataset(category, 12, resolution=64, seed=5)
    iou = _iou(a, _max_pool2(b))
    assert iou.mean() > 0.7, iou
    assert iou.min() > 0.4, iou


def test_invalid_arguments():
    with pytest.raises(ValueError, match="lamp") as err:
        make_dataset("lamp", 3)
    assert "chair" in str(err.value) and "bookcase" in str(err.value)
    with pytest.raises(ValueError, match="sofas"):
        make_shape("sofas", 32, np.random.default_rng(0))
    for resolution in (8, 0, -32, 32.0, "32", True):
        with pytest.raises(ValueError, match="resolution"):
            make_dataset("chair", 2, resolution=resolution)
    with pytest.raises(ValueError, match="-1"):
        make_dataset("chair", -1)
    with pytest.raises(ValueError, match="2.5"):
        make_dataset("chair", 2.5)
    with pytest.raises(ValueError, match="seed"):
        make_dataset("chair", 2, seed=-1)
