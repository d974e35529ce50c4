"""Fuzz-style corpus of corrupted input files, fed to every reader (issue 19, item 3).

Each case must give a one-line ValueError that starts with the file and names
the key or the problem, or a counted skip; never a bare NumPy traceback and
never a silently wrong set. The readers: `load_voxel_npz` (train.py --data,
evaluate.py), `prepare` (voxel .npz, point-cloud .npz, ShapeNets .mat and mesh
folders), `merge`, and `load_ikea` (lists and .mat grids).
"""

import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from conftest import ROOT, subprocess_env
from gan3d_tf.data.ikea import load_ikea
from gan3d_tf.data.merge import merge
from gan3d_tf.data.prepare import prepare
from gan3d_tf.data.voxel_npz import load_voxel_npz

R = 6  # grid side of the corpus


def grids(n: int = 4, dtype=np.uint8) -> np.ndarray:
    x = np.zeros((n, R, R, R), dtype)
    x[:, 1:4, 1:4, 1:5] = 1
    return x


def with_value(value, dtype=np.float32) -> np.ndarray:
    x = grids(dtype=dtype)
    x[2, 1, 2, 3] = value
    return x


GOOD = {"X_train": grids(), "y_train": np.array([0, 1, 2, 1]), "classes": np.array(["bed", "chair", "sofa"])}


def save(path, **changes):
    """GOOD with some arrays replaced (None drops one), saved uncompressed."""
    arrays = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    np.savez(path, **arrays)


def truncated(path):
    save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def corrupt_member(path):
    save(path)
    data = bytearray(path.read_bytes())
    data[data.index(bytes([1, 1, 1, 1]))] = 7  # inside X_train's stored bytes: the zip CRC no longer matches
    path.write_bytes(bytes(data))


def npy_as_npz(path):
    with open(path, "wb") as f:
        np.save(f, grids())


def ragged(path):
    x = np.empty(4, object)
    x[:] = [np.zeros(i) for i in range(4)]
    save(path, X_train=x)


# case -> (writer, expected); expected is ("skip", count) or ("error", needle, {reader: needle that differs})
VOXEL_CASES = {
    "truncated": (truncated, ("error", "not a readable .npz", {})),
    "corrupt_member": (corrupt_member, ("error", "X_train cannot be read (BadZipFile", {})),
    "not_a_zip": (
        lambda p: p.write_text("X_train,y_train\n0,1\n"),
        ("error", "not a readable .npz file (not a zip archive: it starts with b'X_trai')", {}),
    ),
    "empty_file": (lambda p: p.write_bytes(b""), ("error", "not a zip archive: it starts with b''", {})),
    "npy_named_npz": (npy_as_npz, ("error", "not a .npz file but a single uint8 array of shape (4, 6, 6, 6)", {})),
    "missing_keys": (
        lambda p: save(p, X_train=None, y_train=None, voxels=grids()),
        (
            "error",
            "missing key(s) ['X_train', 'y_train']",
            {"prepare": "unknown .npz keys ['classes', 'voxels']", "merge": "needs X_train and y_train"},
        ),
    ),
    "strings": (
        lambda p: save(p, X_train=np.full((4, R, R, R), "1")),
        ("error", "X_train must hold 0/1 occupancies (bool, integer or float), got dtype <U1", {}),
    ),
    "complex": (lambda p: save(p, X_train=grids(dtype=np.complex64)), ("error", "got dtype complex64", {})),
    "object_array": (ragged, ("error", "X_train cannot be read (ValueError: Object arrays", {})),
    "wrong_rank": (
        lambda p: save(p, X_train=grids()[:, 0]),
        ("error", "X_train must have shape [N, R, R, R], got (4, 6, 6)", {}),
    ),
    "not_cubes": (lambda p: save(p, X_train=grids()[..., :3]), ("error", "got (4, 6, 6, 3)", {})),
    "all_nan": (
        lambda p: save(p, X_train=np.full((4, R, R, R), np.nan, np.float32)),
        ("error", "4 holding NaN or inf", {"prepare": "nothing converted (4 skipped)"}),
    ),
    "one_nan_grid": (lambda p: save(p, X_train=with_value(np.nan)), ("skip", 1)),
    "one_inf_grid": (lambda p: save(p, X_train=with_value(-np.inf, np.float64)), ("skip", 1)),
    "huge_value": (
        lambda p: save(p, X_train=with_value(1e30)),
        ("error", "X_train[2, 1, 2, 3] = 1e+30 is not an occupancy 0 or 1", {}),
    ),
    "value_0.5": (
        lambda p: save(p, X_train=with_value(0.5)),
        ("error", "X_train[2, 1, 2, 3] = 0.5 is not an occupancy", {}),
    ),
    "value_255": (
        lambda p: save(p, X_train=grids() * 255),
        ("error", "X_train[0, 1, 1, 1] = 255 is not an occupancy", {}),
    ),
    "value_negative": (
        lambda p: save(p, X_train=with_value(-1, np.int16)),
        ("error", "X_train[2, 1, 2, 3] = -1 is not", {}),
    ),
    "empty_arrays": (
        lambda p: save(p, X_train=grids(0), y_train=np.zeros(0, int)),
        ("error", "no non-empty train grids", {"prepare": "nothing converted", "merge": "no grids in ['X_train']"}),
    ),
    "label_out_of_range": (
        lambda p: save(p, y_train=np.array([0, 1, 2, 3])),
        ("error", "y_train[3] = 3 is outside the class list 0..2 (bed ... sofa)", {}),
    ),
    "label_99_without_classes": (
        lambda p: save(p, y_train=np.array([0, 1, 2, 99]), classes=None),
        ("error", "y_train[3] = 99 is outside the class list 0..39 (airplane ... xbox)", {}),
    ),
    "negative_label": (lambda p: save(p, y_train=np.array([0, -1, 2, 1])), ("error", "y_train[1] = -1 is outside", {})),
    "float_labels": (
        lambda p: save(p, y_train=np.array([0.0, 1.0, 2.0, 1.5])),
        ("error", "y_train must hold integer labels, got dtype float64", {}),
    ),
    "string_labels": (
        lambda p: save(p, y_train=np.array(["bed", "chair", "sofa", "chair"])),
        ("error", "y_train must hold integer labels, got dtype <U5", {}),
    ),
    "mismatched_lengths": (
        lambda p: save(p, y_train=np.array([0, 1, 2])),
        ("error", "y_train must have shape [4] to match X_train, got (3,)", {}),
    ),
    "labels_2d": (lambda p: save(p, y_train=np.zeros((4, 1), int)), ("error", "got (4, 1)", {})),
    "empty_class_list": (
        lambda p: save(p, classes=np.array([], str)),
        ("error", "classes must be a non-empty 1-D list of names, got shape (0,)", {}),
    ),
}


def read_load(bad, tmp_path):
    s = load_voxel_npz(bad)
    return s.n_nonfinite_skipped, len(s.voxels)


def read_prepare(bad, tmp_path):
    s = prepare(bad, tmp_path / "out.npz", R, workers=1, progress=False)
    assert s["n_skipped"] == len(s["skipped"]) and all(r["file"] == str(bad) for r in s["skipped"])
    assert all(r["reason"].startswith("X_train[2] holds NaN or inf") for r in s["skipped"])
    return s["n_skipped"], s["n_train"]


def read_merge(bad, tmp_path):
    save(tmp_path / "good.npz")
    s = merge([tmp_path / "good.npz", bad], tmp_path / "out.npz")
    assert [r["reason"] for r in s["skipped"]] == ["X_train[2] holds NaN or inf"] * s["n_skipped"]
    return s["n_skipped"], s["n_train"] - 4


READERS = {"load_voxel_npz": read_load, "prepare": read_prepare, "merge": read_merge}


def expect_named_error(call, path, needle, out=None):
    """`call()` raises a one-line ValueError starting with `path` and holding `needle`; OUT stays unwritten."""
    with pytest.raises(ValueError) as e:
        call()
    message = str(e.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    assert needle in message, message
    assert out is None or not out.exists()
    return message


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("case", list(VOXEL_CASES))
def test_voxel_npz_corpus(tmp_path, capsys, case, reader):
    write, expected = VOXEL_CASES[case]
    bad = tmp_path / f"{case}.npz"
    write(bad)
    read = READERS[reader]
    if expected[0] == "skip":
        skipped, kept = read(bad, tmp_path)
        assert (skipped, kept) == (expected[1], len(GOOD["X_train"]) - expected[1])
        if reader != "load_voxel_npz":
            assert f"skipped {bad}: X_train[2] holds NaN or inf" in capsys.readouterr().err
        return
    _, needle, differs = expected
    message = expect_named_error(lambda: read(bad, tmp_path), bad, differs.get(reader, needle), tmp_path / "out.npz")
    assert not re.search(r"class_\d", message)  # no invented class names


def test_nan_grids_of_other_classes_do_not_count(tmp_path):
    x = with_value(np.nan)  # grid 2 is a sofa
    save(tmp_path / "v.npz", X_train=x)
    s = load_voxel_npz(tmp_path / "v.npz", "chair")
    assert (len(s.voxels), s.n_nonfinite_skipped, s.n_empty_skipped) == (2, 0, 0)
    assert load_voxel_npz(tmp_path / "v.npz", "sofa,bed").n_nonfinite_skipped == 1
    # an evaluation set keeps every grid: a NaN grid is then an error, not a smaller set
    expect_named_error(
        lambda: load_voxel_npz(tmp_path / "v.npz", skip_empty=False),
        tmp_path / "v.npz",
        "X_train[2, 1, 2, 3] = nan: grids must not hold NaN or inf",
    )


# --- point-cloud .npz (prepare) -----------------------------------------------------------------------------


def cloud(n: int = 3, p: int = 64) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (n, p, 3)).astype(np.float32)


def save_points(path, **changes):
    arrays = {
        "train_points": cloud(),
        "train_labels": np.array([0, 1, 1], np.int16),
        "test_points": cloud(1),
        "test_labels": np.array([0], np.int16),
        "classes": np.array(["cup", "vase"]),
    }
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


def nan_cloud(value):
    x = cloud()
    x[1, 5, 2] = value
    return x


POINT_CASES = {
    "truncated": (lambda p: (save_points(p), p.write_bytes(p.read_bytes()[:200])), ("error", "not a readable .npz")),
    "strings": (
        lambda p: save_points(p, train_points=cloud().astype(str)),
        ("error", "train_points must hold point coordinates (integer or float), got dtype <U"),
    ),
    "complex": (lambda p: save_points(p, train_points=cloud().astype(np.complex64)), ("error", "got dtype complex64")),
    "wrong_rank": (
        lambda p: save_points(p, train_points=cloud()[..., 0]),
        ("error", "train_points must be [N, P, 3], got (3, 64)"),
    ),
    "nan_cloud": (lambda p: save_points(p, train_points=nan_cloud(np.nan)), ("skip", 1)),
    "inf_cloud": (lambda p: save_points(p, train_points=nan_cloud(np.inf)), ("skip", 1)),
    "label_out_of_range": (
        lambda p: save_points(p, train_labels=np.array([0, 5, 1])),
        ("error", "train_labels[1] = 5 is outside the class list 0..1 (cup ... vase)"),
    ),
    "negative_label": (
        lambda p: save_points(p, test_labels=np.array([-3])),
        ("error", "test_labels[0] = -3 is outside"),
    ),
    "label_99_without_classes": (
        lambda p: save_points(p, train_labels=np.array([0, 99, 1]), classes=None),
        ("error", "train_labels[1] = 99 is outside the class list 0..39"),
    ),
    "mismatched_lengths": (
        lambda p: save_points(p, train_labels=np.array([0, 1])),
        ("error", "train_labels must have shape [3] to match train_points, got (2,)"),
    ),
    "mismatched_names": (
        lambda p: save_points(p, train_names=np.array(["a", "b"])),
        ("error", "train_names must have 3 names to match train_points, got 2"),
    ),
    "missing_keys": (lambda p: save_points(p, test_points=None), ("error", "missing key(s) ['test_points']")),
    "empty_arrays": (
        lambda p: save_points(
            p, train_points=cloud(0), train_labels=np.zeros(0, int), test_points=cloud(0), test_labels=np.zeros(0, int)
        ),
        ("error", "no point clouds"),
    ),
}


@pytest.mark.parametrize("case", list(POINT_CASES))
def test_point_cloud_corpus(tmp_path, capsys, case):
    write, expected = POINT_CASES[case]
    bad = tmp_path / f"{case}.npz"
    write(bad)

    def run():
        return prepare(bad, tmp_path / "out.npz", 8, workers=1, progress=False, fmt="points")

    if expected[0] == "error":
        expect_named_error(run, bad, expected[1], tmp_path / "out.npz")
        return
    s = run()
    assert (s["n_skipped"], s["n_train"], s["n_test"]) == (1, 2, 1)
    assert s["skipped"][0] == {
        "file": "train_points[1]",
        "split": "train",
        "reason": "ValueError: points contain NaN or inf",
    }
    assert "prepare: skipped train_points[1]: ValueError: points contain NaN or inf" in capsys.readouterr().err


# --- ShapeNets .mat and mesh folders (prepare): one bad file among good ones is a counted skip ---------------


def good_grid(r: int = 12) -> np.ndarray:
    g = np.zeros((r, r, r), np.uint8)
    g[2:9, 3:8, 1:10] = 1
    return g


def mat_with(value, dtype=np.float64):
    g = good_grid().astype(dtype)
    g[4, 4, 4] = value
    return {"instance": g}


FOLDER_CASES = {
    "nan": ("mat", mat_with(np.nan), "instance[4, 4, 4] = nan: grids must not hold NaN or inf"),
    "value_0.5": ("mat", mat_with(0.5), "instance[4, 4, 4] = 0.5 is not an occupancy 0 or 1"),
    "value_255": ("mat", {"instance": good_grid() * 255}, "instance[2, 3, 1] = 255 is not an occupancy"),
    "complex": ("mat", {"instance": good_grid().astype(np.complex128)}, "got dtype complex128"),
    "missing_key": ("mat", {"voxels": good_grid()}, "no 'instance' variable"),
    "wrong_rank": ("mat", {"instance": good_grid()[0]}, "'instance' must be 3-D, got shape (12, 12)"),
    "truncated": ("mat", b"MATLAB 5.0 MAT-file, truncated", ""),
    "corrupt_mesh": ("off", b"OFF\n3 1 0\n0 0 0\n1 nan 0\n", "mesh"),
}


@pytest.mark.parametrize("case", list(FOLDER_CASES))
def test_folder_corpus(tmp_path, case):
    ext, content, needle = FOLDER_CASES[case]
    folder = tmp_path / "src" / "box" / "train"
    folder.mkdir(parents=True)
    if ext == "mat":
        scipy.io.savemat(folder / "good.mat", {"instance": good_grid()})
    else:
        import trimesh

        trimesh.creation.box().export(folder / "good.off")
    bad = folder / f"bad.{ext}"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        scipy.io.savemat(bad, content)
    s = prepare(tmp_path / "src", tmp_path / "out.npz", 8, workers=1, progress=False)
    assert (s["n_train"], s["n_skipped"]) == (1, 1)
    assert s["skipped"][0]["file"] == str(bad)
    if ext == "mat":
        assert needle in s["skipped"][0]["reason"], s["skipped"][0]["reason"]


# --- IKEA: bad .mat grids are counted skips, broken lists are named errors ----------------------------------


def ikea_tree(root, grid2=None, ids=("1", "2"), classes=("chair", "table"), images=("a.jpg", "b.jpg")):
    """Two images of models 1 (a good grid) and 2 (grid2: an array saved as `grid`, a dict of variables, or bytes)."""
    from PIL import Image

    for d in ("Images", "Voxels", "Lists"):
        (root / d).mkdir(parents=True)
    for name in images:
        Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(root / "Images" / name)
    lists = {
        "Images.txt": images,
        "ModelID.txt": ids,
        "all_obj_class.txt": classes,
        "all_obj_clean.txt": [f"m{i}.obj" for i in range(len(classes))],
    }
    for name, lines in lists.items():
        (root / "Lists" / name).write_text("".join(f"{line}\n" for line in lines))
    g = np.zeros((20, 20, 20), np.uint8)
    g[0:12, 5:15, 5:15] = 1
    scipy.io.savemat(root / "Voxels" / "1.mat", {"grid": g})
    grid2 = g if grid2 is None else grid2
    if isinstance(grid2, bytes):
        (root / "Voxels" / "2.mat").write_bytes(grid2)
    else:
        scipy.io.savemat(root / "Voxels" / "2.mat", grid2 if isinstance(grid2, dict) else {"grid": grid2})
    return root


def ikea_grid(value, dtype=np.float64):
    g = np.zeros((20, 20, 20), dtype)
    g[0:12, 5:15, 5:15] = 1
    g[3, 6, 7] = value
    return g


IKEA_GRID_CASES = {
    "nan": (ikea_grid(np.nan), "grid[3, 6, 7] = nan: grids must not hold NaN or inf"),
    "inf": (ikea_grid(np.inf), "grid[3, 6, 7] = inf: grids must not hold NaN or inf"),
    "huge_value": (ikea_grid(1e30), "grid[3, 6, 7] = 1e+30 is not an occupancy 0 or 1"),
    "value_0.5": (ikea_grid(0.5), "grid[3, 6, 7] = 0.5 is not an occupancy"),
    "value_255": (ikea_grid(255, np.uint8), "grid[3, 6, 7] = 255 is not an occupancy"),
    "complex": (
        ikea_grid(1, np.complex128),
        "grid must hold 0/1 occupancies (bool, integer or float), got dtype complex128",
    ),
    "strings": ({"grid": "not a grid"}, "'grid' must have shape (20, 20, 20), got (1,)"),
    "wrong_rank": (np.zeros((20, 20), np.uint8), "'grid' must have shape (20, 20, 20), got (20, 20)"),
    "empty_array": (np.zeros((0, 0, 0), np.uint8), "'grid' must have shape (20, 20, 20)"),
    "missing_key": ({"voxels": ikea_grid(1)}, "no 'grid' variable"),
    "truncated": (b"MATLAB 5.0 MAT-file, truncated", "not a readable .mat file"),
}


@pytest.mark.parametrize("case", list(IKEA_GRID_CASES))
def test_ikea_grid_corpus(tmp_path, case):
    grid2, needle = IKEA_GRID_CASES[case]
    s = load_ikea(ikea_tree(tmp_path / "ikea", grid2))
    assert (len(s.voxels), s.n_skipped) == (1, 1) and len(s.problems) == 1
    problem = s.problems[0]
    assert problem.startswith(str(tmp_path / "ikea" / "Voxels" / "2.mat")) and needle in problem, problem
    assert problem.endswith("skipped its 1 image(s)")


IKEA_LIST_CASES = {
    "mismatched_lengths": (dict(ids=("1",)), "Images.txt", "Images.txt has 2 lines but"),
    "model_id_out_of_range": (dict(ids=("1", "99")), "ModelID.txt", "line 2: model id 99 is out of range 1..2"),
    "negative_model_id": (dict(ids=("-1", "2")), "ModelID.txt", "line 1: model id -1 is out of range"),
    "non_integer_model_id": (dict(ids=("1", "1.5")), "ModelID.txt", "line 2: model id '1.5' is not an integer"),
    "empty_inner_line": (
        dict(ids=("1", "", "2"), images=("a.jpg", "b.jpg", "c.jpg")),
        "ModelID.txt",
        "line 2 is empty",
    ),
}


@pytest.mark.parametrize("case", list(IKEA_LIST_CASES))
def test_ikea_list_corpus(tmp_path, case):
    kwargs, file, needle = IKEA_LIST_CASES[case]
    root = ikea_tree(tmp_path / "ikea", **kwargs)
    expect_named_error(lambda: load_ikea(root), root / "Lists" / file, needle)


def test_ikea_class_outside_the_categories_is_a_counted_skip(tmp_path):
    s = load_ikea(ikea_tree(tmp_path / "ikea", classes=("chair", "lamp")))
    assert (len(s.voxels), s.n_skipped) == (1, 1)
    assert "all_obj_class.txt: line 2: class 'lamp' of model 2 is not one of" in s.problems[0]


# --- the train.py CLI: the named error on stderr, before any model is built ---------------------------------


@pytest.mark.slow
def test_train_cli_names_a_bad_data_file(tmp_path):
    save(tmp_path / "BAD.npz", X_train=np.full((4, R, R, R), np.nan, np.float32))
    out = tmp_path / "OUT"
    proc = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--data",
            str(tmp_path / "BAD.npz"),
            "--category",
            "chair",
            "--epochs",
            "1",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    error = [line for line in proc.stderr.splitlines() if line.startswith("train.py: error:")]
    assert error == [
        f"train.py: error: {tmp_path / 'BAD.npz'}: no non-empty train grids for category 'chair' in "
        f"X_train (skipped 0 empty and 2 holding NaN or inf, the first X_train[1])"
    ], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "training on" not in proc.stdout
    assert not out.exists()  # nothing was started
