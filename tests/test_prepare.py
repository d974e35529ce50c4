"""Tests of gan3d_tf.data.prepare: every source format, skipping, atomic writes, CLI errors."""

import json
import os

import numpy as np
import pytest
import scipy.io
import trimesh

from gan3d_tf.data import prepare as prep
from gan3d_tf.data.voxel_npz import load_voxel_npz


def write_binvox(path, grid):
    """Tiny binvox writer: grid[x, y, z] stored per the spec (index = x*D*D + z*D + y), RLE."""
    d = grid.shape[0]
    x, y, z = np.indices(grid.shape)
    flat = np.zeros(d**3, np.uint8)
    flat[(x * d * d + z * d + y).ravel()] = grid.ravel()
    rle = bytearray()
    i = 0
    while i < len(flat):
        j = i
        while j < len(flat) and flat[j] == flat[i] and j - i < 255:
            j += 1
        rle += bytes([flat[i], j - i])
        i = j
    with open(path, "wb") as f:
        f.write(f"#binvox 1\ndim {d} {d} {d}\ntranslate 0 0 0\nscale 1\ndata\n".encode() + bytes(rle))


def bbox(grid):
    return [(int(i.min()), int(i.max())) for i in np.nonzero(grid)]


def tall_box_grid(r=32):
    g = np.zeros((r, r, r), np.uint8)
    g[12:20, 14:18, :] = 1  # thin in x, y; tall along z (axis 2); centred
    return g


def run(src, out, resolution, **kw):
    return prep.prepare(src, out, resolution, workers=kw.pop("workers", 1), progress=False, **kw)


def test_binvox_axis_order_and_roundtrip(tmp_path):
    g = np.zeros((8, 8, 8), np.uint8)
    g[1, 2, 5] = 1
    write_binvox(tmp_path / "one.binvox", g)
    back = prep.read_binvox(tmp_path / "one.binvox")
    assert back.shape == (8, 8, 8) and list(zip(*np.nonzero(back))) == [(1, 2, 5)]

    for split, name in (("train", "a"), ("test", "b")):
        (tmp_path / "src" / "chair" / split).mkdir(parents=True)
        write_binvox(tmp_path / "src" / "chair" / split / f"{name}.binvox", tall_box_grid())
    s = run(tmp_path / "src", tmp_path / "out.npz", 32)
    assert (s["format"], s["n_train"], s["n_test"], s["n_skipped"]) == ("binvox", 1, 1, 0)
    vs = load_voxel_npz(tmp_path / "out.npz")
    np.testing.assert_array_equal(vs.voxels[0], tall_box_grid())
    assert vs.classes == ("chair",)
    s = run(tmp_path / "src", tmp_path / "out16.npz", 16)
    x = np.load(tmp_path / "out16.npz")["X_train"][0]
    assert bbox(x) == [(6, 9), (7, 8), (0, 15)]


def test_mat_instance_padding_removed(tmp_path):
    g = np.zeros((30, 30, 30), np.uint8)
    g[3:27, 10:20, 3:27] = 1  # 24^3 object in the padded 30^3 grid
    for c in ("bed", "sofa"):
        (tmp_path / c / "train").mkdir(parents=True)
        scipy.io.savemat(tmp_path / c / "train" / "m.mat", {"instance": g})
    s = run(tmp_path, tmp_path / "o.npz", 24)
    assert s["format"] == "mat" and s["classes"] == ["bed", "sofa"] and s["n_test"] == 0
    with np.load(tmp_path / "o.npz") as d:
        assert d["X_train"].dtype == np.uint8 and d["y_train"].tolist() == [0, 1]
        assert d["y_train"].dtype == np.int64 and d["X_test"].shape == (0, 24, 24, 24)
        assert bbox(d["X_train"][0]) == [(0, 23), (7, 16), (0, 23)]
        assert d["X_train"][0].sum() == 24 * 10 * 24


def _mesh_folder(root, extents, names=("a",)):
    (root / "box" / "train").mkdir(parents=True)
    for n in names:
        trimesh.creation.box(extents=extents).export(root / "box" / "train" / f"{n}.off")


def test_mesh_tall_box_stays_tall_and_solid(tmp_path):
    _mesh_folder(tmp_path / "thin", (0.2, 0.4, 2.0))
    run(tmp_path / "thin", tmp_path / "thin.npz", 16)
    x = np.load(tmp_path / "thin.npz")["X_train"][0]
    (x0, x1), (y0, y1), (z0, z1) = bbox(x)
    assert (z0, z1) == (0, 15)  # z up kept: the long axis spans the grid
    assert x1 - x0 <= 3 and y1 - y0 <= 4 and abs((x0 + x1) / 2 - 7.5) <= 1 and abs((y0 + y1) / 2 - 7.5) <= 1

    _mesh_folder(tmp_path / "fat", (1.0, 1.0, 2.0))
    s = run(tmp_path / "fat", tmp_path / "solid.npz", 16, workers=2)
    assert s["fill"] == "solid"
    solid = np.load(tmp_path / "solid.npz")["X_train"][0]
    run(tmp_path / "fat", tmp_path / "surf.npz", 16, fill="surface")
    surf = np.load(tmp_path / "surf.npz")["X_train"][0]
    assert bbox(solid) == [(4, 11), (4, 11), (0, 15)]
    assert solid.sum() == 8 * 8 * 16 and solid[8, 8, 8] == 1 and surf[8, 8, 8] == 0
    assert 0 < surf.sum() < solid.sum()


def _box_surface_points(ext, step=0.05):
    a = [np.arange(-e / 2, e / 2 + 1e-9, step) for e in ext]
    pts = []
    for ax in range(3):
        others = [i for i in range(3) if i != ax]
        u, v = np.meshgrid(a[others[0]], a[others[1]], indexing="ij")
        for side in (-ext[ax] / 2, ext[ax] / 2):
            p = np.zeros((u.size, 3))
            p[:, ax], p[:, others[0]], p[:, others[1]] = side, u.ravel(), v.ravel()
            pts.append(p)
    return np.concatenate(pts)


def test_points_synthetic_surface_and_solid(tmp_path):
    p = _box_surface_points((1.0, 0.5, 2.0))
    src = tmp_path / "pts.npz"
    np.savez(
        src,
        train_points=p[None] + 3.0,
        train_labels=np.array([0], np.int16),
        test_points=p[None, ::2],
        test_labels=np.array([0], np.int16),
        classes=np.array(["box"]),
    )
    s = run(src, tmp_path / "surf.npz", 16)
    assert (s["format"], s["fill"], s["n_train"], s["n_test"]) == ("points", "surface", 1, 1)
    surf = np.load(tmp_path / "surf.npz")["X_train"][0]
    assert bbox(surf) == [(4, 11), (6, 9), (0, 15)]  # centred despite the +3 offset; z up
    assert surf[8, 8, 8] == 0
    run(src, tmp_path / "solid.npz", 16, fill="solid")
    solid = np.load(tmp_path / "solid.npz")["X_train"][0]
    assert solid[8, 8, 8] == 1 and solid.sum() == 8 * 4 * 16
    run(src, tmp_path / "dil.npz", 16, dilate=1)
    assert np.load(tmp_path / "dil.npz")["X_train"][0].sum() > surf.sum()


def test_points_real_modelnet40_slice(tmp_path, shared_data):
    real = shared_data / "modelnet40_pts1024_f16.npz"
    if not real.is_file():
        pytest.fail(f"missing {real}")
    with np.load(real) as d:
        sub = {k: d[k][:3] for k in ("train_points", "train_labels", "train_names")}
        sub.update({k: d[k][:2] for k in ("test_points", "test_labels", "test_names")})
        sub["classes"] = d["classes"]
    np.savez(tmp_path / "m40.npz", **sub)
    s = run(tmp_path / "m40.npz", tmp_path / "v.npz", 32)
    assert (s["n_train"], s["n_test"], s["n_skipped"]) == (3, 2, 0) and len(s["classes"]) == 40
    vs = load_voxel_npz(tmp_path / "v.npz", split="test")
    assert vs.voxels.shape == (2, 32, 32, 32) and vs.classes[0] == "airplane"
    np.testing.assert_array_equal(vs.labels, sub["test_labels"].astype(np.int64))
    x = np.load(tmp_path / "v.npz")["X_train"]
    for grid, pts in zip(x, sub["train_points"].astype(np.float64)):
        longest = int(np.argmax(np.ptp(pts, axis=0)))
        assert bbox(grid)[longest] == (0, 31)  # the largest extent spans the grid
        assert 50 < grid.sum() <= 1024


def test_voxel_npz_resample_32_to_64(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((2, 32, 32, 32)) < 0.1).astype(np.int32)
    np.savez(tmp_path / "v.npz", X_train=x, y_train=np.array([3, 1]), X_test=x[:1], y_test=np.array([0]))
    s = run(tmp_path / "v.npz", tmp_path / "v64.npz", 64)
    assert s["format"] == "voxel_npz" and s["classes"] is None
    with np.load(tmp_path / "v64.npz") as d:
        assert "classes" not in d.files and d["X_train"].dtype == np.uint8
        np.testing.assert_array_equal(d["X_train"], x.repeat(2, 1).repeat(2, 2).repeat(2, 3))
        assert d["y_train"].tolist() == [3, 1] and d["y_test"].dtype == np.int64
    with pytest.raises(ValueError, match="integer factor"):
        run(tmp_path / "v.npz", tmp_path / "v48.npz", 48)
    assert not (tmp_path / "v48.npz").exists()


@pytest.mark.parametrize("kind", ["off", "binvox"])
def test_corrupt_file_is_skipped_and_reported(tmp_path, capsys, kind):
    (tmp_path / "cls" / "train").mkdir(parents=True)
    good = tmp_path / "cls" / "train" / f"good.{kind}"
    if kind == "off":
        trimesh.creation.box().export(good)
    else:
        write_binvox(good, tall_box_grid())
    bad = tmp_path / "cls" / "train" / f"bad.{kind}"
    bad.write_bytes(b"\x00\xffgarbage\x13" * 7)
    s = run(tmp_path, tmp_path / "o.npz", 8)
    assert (s["n_train"], s["n_skipped"]) == (1, 1)
    assert s["skipped"][0]["file"] == str(bad) and ":" in s["skipped"][0]["reason"]
    assert str(bad) in capsys.readouterr().err
    assert np.load(tmp_path / "o.npz")["X_train"].shape == (1, 8, 8, 8)


def test_atomic_write_no_partial_output(tmp_path, monkeypatch):
    (tmp_path / "cls" / "train").mkdir(parents=True)
    (tmp_path / "cls" / "train" / "bad.off").write_bytes(b"\x00garbage")
    out = tmp_path / "o.npz"
    with pytest.raises(ValueError, match="nothing converted"):
        run(tmp_path, out, 8)
    assert not out.exists()

    out.write_bytes(b"old")
    np.savez(tmp_path / "v.npz", X_train=np.ones((1, 4, 4, 4)), y_train=np.array([0]))

    def boom(f, **arrays):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(prep.np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        run(tmp_path / "v.npz", out, 8)
    assert out.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["cls", "o.npz", "v.npz"]  # no temp file left


def test_errors_before_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        run(tmp_path / "nope", tmp_path / "o.npz", 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .binvox"):
        run(tmp_path / "empty", tmp_path / "o.npz", 32)
    np.savez(tmp_path / "odd.npz", foo=np.zeros(3))
    with pytest.raises(ValueError, match="unknown .npz keys"):
        run(tmp_path / "odd.npz", tmp_path / "o.npz", 32)
    with pytest.raises(ValueError, match="resolution"):
        run(tmp_path / "odd.npz", tmp_path / "o.npz", 1)
    assert not (tmp_path / "o.npz").exists()


def test_cli_exit_codes(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        prep.main([str(tmp_path / "missing"), str(tmp_path / "o.npz"), "--resolution", "32"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "prepare: error:" in err and "missing" in err
    np.savez(tmp_path / "v.npz", X_train=np.ones((1, 4, 4, 4)), y_train=np.array([0]))
    prep.main([str(tmp_path / "v.npz"), str(tmp_path / "o.npz"), "--resolution", "8", "--workers", "1"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_train"] == 1 and summary["n_skipped"] == 0 and summary["skipped"] == []


def _labelled_npz(path, labels, classes=None, r=8):
    """A voxel .npz whose grid i has i + 1 occupied voxels (so grids can be told apart)."""
    x = np.zeros((len(labels), r, r, r), np.uint8)
    for i in range(len(labels)):
        x[i].reshape(-1)[: i + 1] = 1
    extra = {} if classes is None else {"classes": np.asarray(classes)}
    np.savez(path, X_train=x, y_train=np.asarray(labels), X_test=x[:1], y_test=np.asarray(labels[:1]), **extra)
    return x


def test_classes_keeps_and_relabels_voxel_npz(tmp_path):
    x = _labelled_npz(tmp_path / "v.npz", [0, 1, 2, 1], classes=["a", "b", "c"])
    s = run(tmp_path / "v.npz", tmp_path / "o.npz", 8, classes=["c", "b"])
    assert s["classes"] == ["c", "b"] and (s["n_train"], s["n_test"]) == (3, 0)
    with np.load(tmp_path / "o.npz") as d:
        assert d["y_train"].tolist() == [1, 0, 1] and d["classes"].tolist() == ["c", "b"]
        np.testing.assert_array_equal(d["X_train"], x[[1, 2, 3]])
    with pytest.raises(ValueError, match=r"unknown class\(es\) \['z'\].*'a', 'b', 'c'"):
        run(tmp_path / "v.npz", tmp_path / "o2.npz", 8, classes=["a", "z"])
    with pytest.raises(ValueError, match="distinct"):
        run(tmp_path / "v.npz", tmp_path / "o2.npz", 8, classes=["a", "a"])
    assert not (tmp_path / "o2.npz").exists()


def test_classes_selects_point_clouds_before_converting(tmp_path):
    pts = np.stack([_box_surface_points((1.0, 1.0, 2.0))[:500]] * 3).astype(np.float16)
    np.savez(
        tmp_path / "p.npz",
        train_points=pts,
        train_labels=np.array([0, 1, 1], np.int16),
        test_points=pts[:1],
        test_labels=np.array([0], np.int16),
        classes=np.array(["airplane", "bookshelf"]),
    )
    s = run(tmp_path / "p.npz", tmp_path / "o.npz", 16, classes=["bookshelf"], dilate=1)
    assert (s["classes"], s["n_train"], s["n_test"], s["n_skipped"]) == (["bookshelf"], 2, 0, 0)
    with np.load(tmp_path / "o.npz") as d:
        assert d["y_train"].tolist() == [0, 0] and d["X_train"].shape == (2, 16, 16, 16)


def test_merge_pools_classes_by_name(tmp_path):
    from gan3d_tf.data import merge

    xa = _labelled_npz(tmp_path / "a.npz", [0, 1], classes=["bed", "chair"])
    xb = _labelled_npz(tmp_path / "b.npz", [0, 1, 1], classes=["bookshelf", "chair"])
    s = merge.merge([tmp_path / "a.npz", tmp_path / "b.npz"], tmp_path / "m.npz")
    assert s["classes"] == ["bed", "chair", "bookshelf"] and (s["n_train"], s["n_test"]) == (5, 2)
    assert s["per_class"]["chair"] == {"train": 3, "test": 0} and s["per_class"]["bookshelf"] == {"train": 1, "test": 1}
    with np.load(tmp_path / "m.npz") as d:
        assert d["y_train"].tolist() == [0, 1, 2, 1, 1] and d["y_test"].tolist() == [0, 2]
        np.testing.assert_array_equal(d["X_train"], np.concatenate([xa, xb]))
    vs = load_voxel_npz(tmp_path / "m.npz", category="chair,bookshelf")
    assert len(vs.voxels) == 4  # 3 chairs + 1 bookshelf

    _labelled_npz(tmp_path / "c16.npz", [0], classes=["bed"], r=16)
    with pytest.raises(ValueError, match=r"16\^3 grids, but .*a.npz has 8\^3"):
        merge.merge([tmp_path / "a.npz", tmp_path / "c16.npz"], tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        merge.merge([tmp_path / "a.npz", tmp_path / "nope.npz"], tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_merge_cli(tmp_path, capsys):
    from gan3d_tf.data import merge

    _labelled_npz(tmp_path / "a.npz", [0], classes=["bed"])
    with pytest.raises(SystemExit) as e:
        merge.main([str(tmp_path / "a.npz"), str(tmp_path / "m.npz")])
    assert e.value.code == 2 and "at least two inputs" in capsys.readouterr().err
    merge.main([str(tmp_path / "a.npz"), str(tmp_path / "a.npz"), str(tmp_path / "m.npz")])
    assert json.loads(capsys.readouterr().out)["per_class"] == {"bed": {"train": 2, "test": 2}}
