"""IKEA test set loading and alignment, image loading, and the reconstruction metrics."""

import numpy as np
import pytest
import scipy.io
from PIL import Image
from sklearn.metrics import average_precision_score

from gan3d_tf.data.ikea import (
    IKEA_CATEGORIES,
    align_ikea_grid,
    back_offset,
    canonical_facing,
    category_of,
    load_ikea,
    load_image,
)
from gan3d_tf.data.voxel_npz import load_voxel_npz
from gan3d_tf.metrics.reconstruction import (
    average_precision_by_category,
    iou,
    overlap_weights,
    save_reconstruction_sheet,
    to_grid,
)

# --------------------------------------------------------------------------
# A tiny fake IKEA tree
# --------------------------------------------------------------------------


def raw_table() -> np.ndarray:
    """A raw-orientation (axis 0 vertical) table: top at high axis-0 index, four legs below."""
    g = np.zeros((20, 20, 20), np.uint8)
    g[16:18, 2:18, 5:15] = 1  # top
    for a1 in (2, 17):
        for a2 in (5, 14):
            g[0:16, a1, a2] = 1
    return g


def raw_chair() -> np.ndarray:
    """A raw chair: seat at mid height, backrest rising at high axis-1 index."""
    g = np.zeros((20, 20, 20), np.uint8)
    g[8:10, 4:16, 4:16] = 1  # seat
    g[10:20, 14:16, 4:16] = 1  # backrest
    for a1 in (4, 15):
        for a2 in (4, 15):
            g[0:8, a1, a2] = 1
    return g


def make_tree(root, images, ids, classes, grids, names=None):
    """Writes Images/, Voxels/, Lists/ under root.

    images: {name: (h, w)} images to write, in list order (None size = listed but not written).
    grids: {model id: array (saved as `grid`) or bytes (written raw)}.
    """
    (root / "Images").mkdir(parents=True)
    (root / "Voxels").mkdir()
    (root / "Lists").mkdir()
    for i, (name, size) in enumerate(images.items()):
        if size is not None:
            Image.fromarray(np.full(size + (3,), 40 * i, np.uint8)).save(root / "Images" / name)
    (root / "Lists" / "Images.txt").write_text("".join(f"{n}\n" for n in images))
    (root / "Lists" / "ModelID.txt").write_text("".join(f"{i}\n" for i in ids))
    (root / "Lists" / "all_obj_class.txt").write_text("".join(f"{c}\n" for c in classes))
    names = names or [f"IKEA_{c}_X/m{i}_obj0_object.obj" for i, c in enumerate(classes, 1)]
    (root / "Lists" / "all_obj_clean.txt").write_text("".join(f"{n}\n" for n in names))
    for mid, grid in grids.items():
        path = root / "Voxels" / f"{mid}.mat"
        if isinstance(grid, bytes):
            path.write_bytes(grid)
        else:
            scipy.io.savemat(path, {"grid": grid})
    return root


def test_fake_tree_is_parsed_and_aligned(tmp_path):
    root = make_tree(
        tmp_path / "ikea",
        {"a.jpg": (30, 20), "b.jpg": (10, 40), "c.jpg": (8, 8)},
        [2, 1, 2],
        ["chair", "table"],
        {1: raw_chair(), 2: raw_table()},
    )
    s = load_ikea(root, facing=False)
    assert s.n_skipped == 0 and s.problems == []
    assert [p.rsplit("/", 1)[-1] for p in s.image_paths] == ["a.jpg", "b.jpg", "c.jpg"]
    assert s.labels.tolist() == [IKEA_CATEGORIES.index(c) for c in ("table", "chair", "table")]
    assert s.model_ids.tolist() == [2, 1, 2]
    assert s.voxels.shape == (3, 20, 20, 20) and s.voxels.dtype == np.uint8
    np.testing.assert_array_equal(s.voxels[0], np.transpose(raw_table(), (1, 2, 0)))
    np.testing.assert_array_equal(s.voxels[1], np.transpose(raw_chair(), (1, 2, 0)))
    assert s.model_names == {1: "IKEA_chair_X/m1_obj0_object.obj", 2: "IKEA_table_X/m2_obj0_object.obj"}
    assert s.counts()["table"] == 2 and s.counts()["chair"] == 1
    # With facing the chair (backrest at raw +a1 = our +x) is turned so the back is at +y.
    f = load_ikea(root)
    assert f.facing_turns[1] in (1, 3)
    off = back_offset(f.voxels[1])
    assert off[1] > 2 and abs(off[0]) < 0.5


def test_missing_and_corrupt_files_are_reported_and_skipped(tmp_path):
    images = {
        "a.jpg": (20, 20),
        "b.jpg": (20, 20),
        "c.jpg": None,
        "d.jpg": (20, 20),
        "e.jpg": (20, 20),
        "f.jpg": (20, 20),
        "g.jpg": (20, 20),
    }
    ids = [1, 2, 1, 3, 4, 5, 1]
    classes = ["Chair", "table", "sofa", "bed", "wardrobe"]
    grids = {1: raw_chair(), 2: b"MATLAB 5.0 MAT-file, garbage", 3: np.ones((10, 10, 10), np.uint8)}
    root = make_tree(tmp_path / "ikea", images, ids, classes, grids)
    (root / "Images" / "g.jpg").write_bytes(b"not a jpeg")
    s = load_ikea(root)
    assert [p.rsplit("/", 1)[-1] for p in s.image_paths] == ["a.jpg"]
    assert s.labels.tolist() == [IKEA_CATEGORIES.index("chair")]
    assert s.n_skipped == 6
    text = "\n".join(s.problems)
    assert len(s.problems) == 6, text
    for needle in (
        "c.jpg: image file missing",
        "g.jpg: not a readable image",
        "2.mat: not a readable .mat",
        "3.mat: 'grid' must have shape (20, 20, 20), got (10, 10, 10)",
        "4.mat: model file missing",
        "class 'wardrobe' of model 5",
    ):
        assert needle in text, (needle, text)


def test_unequal_list_lengths_raise_naming_the_files(tmp_path):
    root = make_tree(tmp_path / "ikea", {"a.jpg": (8, 8), "b.jpg": (8, 8)}, [1], ["chair"], {1: raw_chair()})
    with pytest.raises(ValueError, match=r"Images\.txt has 2 lines but .*ModelID\.txt has 1"):
        load_ikea(root)


def test_class_and_name_lists_must_pair(tmp_path):
    root = make_tree(
        tmp_path / "ikea", {"a.jpg": (8, 8)}, [1], ["chair", "table"], {1: raw_chair()}, names=["only_one.obj"]
    )
    with pytest.raises(ValueError, match=r"all_obj_class\.txt has 2 lines but .*all_obj_clean\.txt has 1"):
        load_ikea(root)


@pytest.mark.parametrize(
    "ids,message",
    [
        (["1", "3"], r"ModelID\.txt: line 2: model id 3 is out of range 1\.\.2"),
        (["0", "1"], r"ModelID\.txt: line 1: model id 0 is out of range"),
        (["1", "x7"], r"ModelID\.txt: line 2: model id 'x7' is not an integer"),
    ],
)
def test_broken_model_ids_raise_naming_file_and_line(tmp_path, ids, message):
    root = make_tree(
        tmp_path / "ikea", {"a.jpg": (8, 8), "b.jpg": (8, 8)}, ids, ["chair", "table"], {1: raw_chair(), 2: raw_table()}
    )
    with pytest.raises(ValueError, match=message):
        load_ikea(root)


def test_inner_blank_line_raises(tmp_path):
    root = make_tree(tmp_path / "ikea", {"a.jpg": (8, 8)}, [1], ["chair"], {1: raw_chair()})
    (root / "Lists" / "Images.txt").write_text("a.jpg\n\nb.jpg\n")
    (root / "Lists" / "ModelID.txt").write_text("1\n1\n1\n")
    with pytest.raises(ValueError, match=r"Images\.txt: line 2 is empty"):
        load_ikea(root)


def test_missing_root_or_list(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_ikea(tmp_path / "nowhere")
    root = make_tree(tmp_path / "ikea", {"a.jpg": (8, 8)}, [1], ["chair"], {1: raw_chair()})
    (root / "Lists" / "ModelID.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"ModelID\.txt"):
        load_ikea(root)


def test_category_names():
    assert category_of("Bookshelf ") == "bookcase" and category_of("bookcase") == "bookcase"
    assert category_of("sofa") == "sofa" and category_of("wardrobe") is None


# --------------------------------------------------------------------------
# Alignment
# --------------------------------------------------------------------------


def test_align_moves_raw_axis0_to_up():
    g = np.zeros((20, 20, 20), np.uint8)
    g[5, 2, 7] = 1
    a = align_ikea_grid(g)
    assert a[2, 7, 5] == 1 and a.sum() == 1
    top = align_ikea_grid(raw_table())
    assert top[..., 16:18].mean() > 0.3 and top[..., :16].mean() < 0.05  # the tabletop is high on z
    batch = align_ikea_grid(np.stack([g, raw_table()]))
    np.testing.assert_array_equal(batch[1], top)
    with pytest.raises(ValueError, match=r"\(20, 20, 5\)"):
        align_ikea_grid(np.zeros((20, 20, 5)))


def test_canonical_facing_rules():
    chair = align_ikea_grid(raw_chair())  # backrest at +x
    turned, k = canonical_facing(chair, "chair")
    assert back_offset(chair)[0] > 2
    assert k in (1, 3) and back_offset(turned)[1] > 2
    np.testing.assert_array_equal(turned, np.rot90(chair, k, axes=(0, 1)))
    sofa, k = canonical_facing(chair, "sofa")  # sofas want the back at +x: no turn
    assert k == 0
    long_x = np.zeros((20, 20, 20), np.uint8)
    long_x[0:20, 6:14, 5:12] = 1  # a table longer along x, no backrest
    turned, k = canonical_facing(long_x, "table")
    assert k == 1 and turned[10, :, 8].sum() == 20
    assert canonical_facing(long_x, "bookcase")[1] == 0  # bookcases keep their width on x
    with pytest.raises(ValueError, match="'lamp'"):
        canonical_facing(long_x, "lamp")


# --------------------------------------------------------------------------
# The real set
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ikea(shared_data):
    return load_ikea(shared_data / "ikea")


@pytest.fixture(scope="module")
def modelnet20(shared_data):
    """Class-mean ModelNet10 train grids at 20^3, for chair, table, sofa and bed."""
    path = shared_data / "modelnet10_vox32.npz"
    return {
        c: to_grid(load_voxel_npz(path, c).voxels.astype(np.float32)).mean(0) for c in ("chair", "table", "sofa", "bed")
    }


def _corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def test_real_set_counts_and_grids(ikea):
    assert len(ikea.image_paths) == 937 and ikea.n_skipped == 0 and ikea.problems == []
    assert ikea.counts() == {"bookcase": 302, "chair": 227, "table": 195, "sofa": 158, "desk": 29, "bed": 26}
    assert ikea.voxels.shape == (937, 20, 20, 20) and ikea.voxels.dtype == np.uint8
    assert set(np.unique(ikea.voxels)) == {0, 1}
    assert ikea.voxels.reshape(937, -1).any(axis=1).all()
    assert len(set(ikea.model_ids.tolist())) == 43  # the data README
    assert all(p.endswith(".jpg") for p in ikea.image_paths)


def test_real_class_file_spellings(shared_data):
    names = set((shared_data / "ikea" / "Lists" / "all_obj_class.txt").read_text().split())
    assert {category_of(n) for n in names} - {None} == set(IKEA_CATEGORIES)
    assert names - set(IKEA_CATEGORIES) == {"wardrobe"}  # listed, but no test image uses one


@pytest.mark.slow
def test_chairs_vertical_profile_matches_modelnet_only_after_alignment(shared_data, ikea, modelnet20):
    raw = load_ikea(shared_data / "ikea", facing=False)
    chairs = ikea.labels == IKEA_CATEGORIES.index("chair")
    reference = modelnet20["chair"].mean(axis=(0, 1))  # occupancy per height z
    aligned = _corr(ikea.voxels[chairs].mean(axis=(0, 1, 2)), reference)
    # The unaligned grids: the stored axes, i.e. undo the transpose (x, y, z) = (a1, a2, a0).
    unaligned = np.transpose(raw.voxels[chairs], (0, 3, 1, 2))
    raw_axis2 = _corr(unaligned.mean(axis=(0, 1, 2)), reference)
    raw_axis1 = _corr(unaligned.mean(axis=(0, 1, 3)), reference)
    assert aligned > 0.5, aligned  # measured 0.60
    assert aligned > raw_axis2 + 0.1 and aligned > raw_axis1 + 0.1, (aligned, raw_axis2, raw_axis1)


@pytest.mark.slow
def test_tables_and_beds_fix_the_up_sign(ikea, modelnet20):
    for c in ("table", "bed"):
        grids = ikea.voxels[ikea.labels == IKEA_CATEGORIES.index(c)].astype(np.float32)
        reference = modelnet20[c].mean(axis=(0, 1))
        up = _corr(grids.mean(axis=(0, 1, 2)), reference)
        upside_down = _corr(grids[..., ::-1].mean(axis=(0, 1, 2)), reference)
        assert up > 0.5 and up > upside_down + 0.5, (c, up, upside_down)  # measured table 0.53 / -0.43


@pytest.mark.slow
def test_facing_brings_chairs_and_sofas_closer_to_modelnet(shared_data, ikea, modelnet20):
    raw = load_ikea(shared_data / "ikea", facing=False)
    for c, gain in (("chair", 0.1), ("sofa", 0.1)):
        k = ikea.labels == IKEA_CATEGORIES.index(c)
        with_facing = _corr(ikea.voxels[k].mean(0), modelnet20[c])
        without = _corr(raw.voxels[k].mean(0), modelnet20[c])
        assert with_facing > without + gain, (c, with_facing, without)  # measured chair 0.71/0.49, sofa 0.94/0.73
    chairs = np.unique(ikea.model_ids[ikea.labels == IKEA_CATEGORIES.index("chair")])
    offsets = np.array([back_offset(ikea.voxels[ikea.model_ids == m][0]) for m in chairs])
    backed = np.abs(offsets).max(1) >= 0.5
    assert backed.sum() >= 8 and (offsets[backed, 1] > np.abs(offsets[backed, 0])).all(), offsets


def test_ground_truth_scores_perfectly(ikea):
    r = average_precision_by_category(ikea.voxels.astype(np.float32), ikea.voxels, ikea.labels, ikea.categories)
    assert r["mean_ap"] == pytest.approx(1.0) and set(r["ap"]) == set(IKEA_CATEGORIES)
    assert r["count"]["bookcase"] == 302


def test_real_image_loads(ikea):
    x = load_image(ikea.image_paths[0], size=64)
    assert x.shape == (64, 64, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def test_load_image_pads_to_square_then_resizes(tmp_path):
    path = tmp_path / "wide.png"
    Image.fromarray(np.tile(np.array([200, 0, 0], np.uint8), (20, 40, 1))).save(path)  # 40 wide, 20 high
    x = load_image(path, size=32)
    assert x.shape == (32, 32, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], 1.0)  # white bands above and below
    np.testing.assert_allclose(x[-1], 1.0)
    np.testing.assert_allclose(x[16], np.tile([200 / 255, 0, 0], (32, 1)), atol=1e-6)
    e = load_image(path, size=32, pad="edge")
    np.testing.assert_allclose(e, np.broadcast_to(np.float32([200 / 255, 0, 0]), (32, 32, 3)), atol=1e-6)
    grey = tmp_path / "grey.png"
    Image.fromarray(np.full((10, 10), 128, np.uint8)).save(grey)
    assert load_image(grey, size=8).shape == (8, 8, 3)


def test_load_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        load_image(tmp_path / "nope.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(ValueError, match="junk.jpg: not a readable image"):
        load_image(tmp_path / "junk.jpg")
    with pytest.raises(ValueError, match="pad must be"):
        load_image(tmp_path / "junk.jpg", pad="mirror")


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


def test_ap_hand_computed_five_voxels():
    # Ranked by score: +, -, +, -, +  ->  AP = (1/1 + 2/3 + 3/5) / 3 = 34/45.
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.2], np.float32).reshape(5, 1, 1, 1)
    truth = np.array([1, 0, 1, 0, 1], np.uint8).reshape(5, 1, 1, 1)
    r = average_precision_by_category(scores, truth, np.zeros(5, int), ["chair"])
    assert r["ap"] == {"chair": pytest.approx(34 / 45)} and r["mean_ap"] == pytest.approx(34 / 45)
    # Tied scores form one threshold: the one positive is found at precision 1/2.
    tied = average_precision_by_category(
        np.full((2, 1, 1, 1), 0.5), np.array([1, 0]).reshape(2, 1, 1, 1), np.zeros(2, int), ["chair"]
    )
    assert tied["ap"]["chair"] == pytest.approx(0.5)


def test_ap_pools_voxels_per_category_like_sklearn():
    rng = np.random.default_rng(0)
    n, r = 12, 4
    truth = (rng.random((n, r, r, r)) < 0.3).astype(np.uint8)
    probs = np.clip(0.5 * truth + 0.7 * rng.random((n, r, r, r)), 0, 1).astype(np.float32)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 3, 3, 3])  # category 2 has no shapes
    cats = ["bed", "chair", "desk", "sofa"]
    res = average_precision_by_category(probs, truth, labels, cats)
    assert set(res["ap"]) == {"bed", "chair", "sofa"} and res["count"] == {"bed": 4, "chair": 5, "sofa": 3}
    for c in (0, 1, 3):
        k = labels == c
        expected = average_precision_score(truth[k].ravel(), probs[k].ravel())
        assert res["ap"][cats[c]] == pytest.approx(expected)
        per_shape = np.mean([average_precision_score(t.ravel(), p.ravel()) for t, p in zip(truth[k], probs[k])])
        assert abs(res["ap"][cats[c]] - per_shape) > 1e-6  # pooled over voxels, not averaged over shapes
    assert res["mean_ap"] == pytest.approx(np.mean([res["ap"][c] for c in ("bed", "chair", "sofa")]))


def test_ap_category_without_positives_is_nan_and_left_out():
    probs = np.random.default_rng(1).random((2, 2, 2, 2))
    truth = np.zeros((2, 2, 2, 2), np.uint8)
    truth[0, 0, 0, 0] = 1
    res = average_precision_by_category(probs, truth, np.array([0, 1]), ["a", "b"])
    assert np.isnan(res["ap"]["b"]) and res["mean_ap"] == pytest.approx(res["ap"]["a"])


def test_ap_input_errors():
    with pytest.raises(ValueError, match=r"\(1, 4, 4, 4\) and targets \(1, 2, 2, 2\).*to_grid"):
        average_precision_by_category(np.zeros((1, 4, 4, 4)), np.zeros((1, 2, 2, 2)), [0], ["a"])
    with pytest.raises(ValueError, match="0/1 occupancies"):
        average_precision_by_category(np.zeros((1, 2, 2, 2)), np.full((1, 2, 2, 2), 2), [0], ["a"])
    with pytest.raises(ValueError, match=r"categories 0\.\.0, got range \[3, 3\]"):
        average_precision_by_category(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 2)), np.array([3]), ["a"])


def test_iou_hand_example():
    probs = np.zeros((3, 2, 2, 1), np.float32)
    truth = np.zeros((3, 2, 2, 1), np.uint8)
    probs[0, 0, :, 0] = 0.9  # predicted {(0,0), (0,1)}
    truth[0, :, 1, 0] = 1  # true {(0,1), (1,1)}: IoU 1/3
    # shape 1: both empty -> 1
    probs[2, 0, 0, 0] = 0.5  # exactly at the threshold: not predicted
    truth[2, 0, 0, 0] = 1  # -> 0
    probs = np.repeat(probs, 2, axis=3)  # make the grids cubic (2x2x2)
    truth = np.repeat(truth, 2, axis=3)
    r = iou(probs, truth, threshold=0.5, labels=np.array([0, 0, 1]), categories=["chair", "sofa"])
    np.testing.assert_allclose(r["per_shape"], [1 / 3, 1.0, 0.0])
    assert r["mean_iou"] == pytest.approx(4 / 9)
    assert r["by_category"] == {"chair": pytest.approx(2 / 3), "sofa": pytest.approx(0.0)}
    assert iou(probs, truth, threshold=0.4)["per_shape"][2] == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["max", "area"])
@pytest.mark.parametrize("r", [32, 64])
def test_to_grid_shape_range_full_and_empty(r, method):
    x = np.zeros((3, r, r, r, 1), np.float32)
    x[1] = 1.0
    x[2] = np.random.default_rng(0).random((r, r, r, 1))
    y = to_grid(x, method=method)
    assert y.shape == (3, 20, 20, 20) and y.dtype == np.float32
    assert (y[0] == 0).all() and np.allclose(y[1], 1.0)
    assert 0 <= y.min() and y.max() <= 1
    if method == "area":
        assert y[2].mean() == pytest.approx(x[2].mean(), rel=1e-4)  # volume is preserved


def test_to_grid_fractional_overlap():
    x = np.zeros((1, 32, 32, 32), np.float32)
    x[0, 0, 0, 0] = 1.0  # covers 1/32 of the cube: 0.625 of the first 1/20 cell per axis
    assert to_grid(x, method="area")[0, 0, 0, 0] == pytest.approx(0.625**3)
    assert to_grid(x, method="area").sum() == pytest.approx((20 / 32) ** 3)
    x[0, 0, 0, 0] = 0.0
    x[0, 1, 0, 0] = 0.8  # [1/32, 2/32] straddles the boundary 1/20 of cells 0 and 1
    m = to_grid(x, method="max")
    assert m[0, 0, 0, 0] == pytest.approx(0.8) and m[0, 1, 0, 0] == pytest.approx(0.8) and m.sum() == pytest.approx(1.6)
    a = to_grid(x, method="area")
    assert a[0, 0, 0, 0] == pytest.approx(0.8 * (0.05 - 1 / 32) / 0.05 * 0.625**2)
    np.testing.assert_allclose(overlap_weights(32, 20).sum(1), 1.0)
    np.testing.assert_allclose(overlap_weights(64, 20).sum(1), 1.0)
    assert to_grid(np.full((1, 20, 20, 20), 1.5)).max() == 1.0  # same size: only clipped


def test_to_grid_errors():
    with pytest.raises(ValueError, match=r"\[N, R, R, R\].*\(2, 32, 32\)"):
        to_grid(np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="NaN"):
        to_grid(np.full((1, 32, 32, 32), np.nan))
    with pytest.raises(ValueError, match="method"):
        to_grid(np.zeros((1, 32, 32, 32)), method="mean")


def test_reconstruction_sheet(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((3, 64, 64, 3)).astype(np.float32)
    pred = rng.random((3, 32, 32, 32)).astype(np.float32)
    truth = np.zeros((3, 20, 20, 20), np.uint8)
    truth[:, 5:15, 5:15, 0:10] = 1
    path = tmp_path / "sheets" / "sheet.png"
    assert save_reconstruction_sheet(images, pred, truth, path, max_rows=2, titles=["a", "b", "c"]) == 2
    with Image.open(path) as im:
        w, h = im.size
    assert w > h > 300  # two rows of three panels
    with pytest.raises(ValueError, match="same non-zero number"):
        save_reconstruction_sheet(images[:2], pred, truth, path)
