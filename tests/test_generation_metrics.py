"""generation_metrics: IoU/Chamfer distances and COV, MMD, 1-NNA on hand cases and real chairs;
`evaluate.py generation` end to end and its flag validation."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial import cKDTree

import evaluate
from conftest import ROOT
from gan3d_tf.metrics import generation as gm
from gan3d_tf.metrics.iou import mean_pairwise_iou


def box(lo, hi, r=4):
    """A {0, 1} r^3 grid filled on [lo, hi) along each axis."""
    g = np.zeros((r, r, r), np.uint8)
    g[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = 1
    return g


A = box((0, 0, 0), (2, 2, 2))  # 8 voxels
B = box((0, 0, 0), (2, 2, 4))  # 16 voxels, contains A: IoU(A, B) = 8 / 16
C = box((2, 2, 2), (4, 4, 4))  # 8 voxels, disjoint from A and B
D = box((1, 0, 0), (3, 2, 2))  # A shifted by 1 in x: IoU(A, D) = 4 / 12, IoU(B, D) = 4 / 20
E = np.zeros((4, 4, 4), np.uint8)


def test_iou_distance_by_hand():
    d = gm.iou_distance(np.stack([A, E]), np.stack([A, B, C, D, E]))
    np.testing.assert_allclose(d, [[0, 1 - 8 / 16, 1, 1 - 4 / 12, 1], [1, 1, 1, 1, 0]])
    probs = np.stack([A * 0.7, B * 0.4])  # at 0.5, B's voxels are empty
    np.testing.assert_allclose(gm.iou_distance(probs, np.stack([A, E])), [[0, 1], [1, 0]])
    np.testing.assert_allclose(gm.iou_distance(probs, np.stack([B]), threshold=0.3), [[0.5], [0]])


def test_iou_distance_in_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.random((7, 4, 4, 4)), rng.random((5, 4, 4, 4))
    whole = gm.iou_distance(a, b)
    from gan3d_tf.metrics import iou

    monkeypatch.setattr(iou, "_BLOCK_ELEMENTS", 2 * 64)  # blocks of 2 rows
    np.testing.assert_array_equal(gm.iou_distance(a, b), whole)


def test_distances_check_shapes():
    with pytest.raises(ValueError, match=r"a must have shape \[N, R, R, R\]"):
        gm.iou_distance(A, np.stack([A]))
    with pytest.raises(ValueError, match="same resolution"):
        gm.chamfer_distance(np.stack([A]), np.zeros((1, 8, 8, 8)))


def test_chamfer_of_single_voxels_at_a_known_offset():
    a, b = np.zeros((1, 8, 8, 8)), np.zeros((1, 8, 8, 8))
    a[0, 1, 2, 3] = 1
    b[0, 4, 6, 3] = 1  # offset (3, 4, 0): 5 voxels each way, scaled by 1/8
    np.testing.assert_allclose(gm.chamfer_distance(a, b), [[10 / 8]])
    np.testing.assert_allclose(gm.chamfer_distance(a, a), [[0]])


def test_chamfer_empty_grids():
    d = gm.chamfer_distance(np.stack([A, E]), np.stack([A, E]))
    np.testing.assert_allclose(d, [[0, gm.EMPTY_CHAMFER], [gm.EMPTY_CHAMFER, 0]])
    assert gm.EMPTY_CHAMFER == pytest.approx(2 * np.sqrt(3))


def test_chamfer_matches_a_kdtree_on_surface_voxels():
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 8, 8, 8)) > 0.7, rng.random((4, 8, 8, 8)) > 0.9
    a[0, 2:6, 2:6, 2:6] = True  # a solid block: its interior voxels are not surface

    def points(g):
        return np.argwhere(gm.surface(g)) / 8

    assert not gm.surface(a[0])[3, 3, 3] and gm.surface(a[0])[2, 3, 3]
    expected = [
        [cKDTree(points(y)).query(points(x))[0].mean() + cKDTree(points(x)).query(points(y))[0].mean() for y in b]
        for x in a
    ]
    np.testing.assert_allclose(gm.chamfer_distance(a, b), expected, rtol=1e-6)


def test_scores_of_a_two_shape_set_by_hand():
    d_sr = gm.iou_distance(np.stack([A, C]), np.stack([A, B]))  # [[0, .5], [1, 1]]
    d_ss = gm.iou_distance(np.stack([A, C]), np.stack([A, C]))
    d_rr = gm.iou_distance(np.stack([A, B]), np.stack([A, B]))
    # A -> A, C -> A (tie between A and B: the first): only A is covered.
    assert gm.coverage(d_sr) == 0.5
    # nearest sample of A: A (0); of B: A (0.5).
    assert gm.mmd(d_sr) == pytest.approx(0.25)
    # sample A -> ref A (wrong), sample C -> sample A (all at 1, ties to the first: right),
    # ref A -> sample A (wrong), ref B -> sample A (0.5 tie with ref A: sample first, wrong).
    assert gm.one_nna(d_ss, d_rr, d_sr) == 0.25
    report = gm.generation_report(np.stack([A, C]), np.stack([A, B]))
    assert report["iou"] == {"cov": 0.5, "mmd": pytest.approx(0.25), "one_nna": 0.25}
    assert report["occupancy"] == 16 / 128 and report["n_empty"] == 0 and report["mean_pairwise_iou"] == 0
    assert (report["n_samples"], report["n_reference"]) == (2, 2) and "chamfer" not in report


def test_identical_sets():
    shapes = np.stack([A, B, C, D])
    report = gm.generation_report(shapes, shapes, chamfer=True)
    for name in ("iou", "chamfer"):
        # each shape's only zero-distance neighbour is its copy in the other set: 1-NNA 0
        assert report[name] == {"cov": 1.0, "mmd": 0.0, "one_nna": 0.0}, name
    pairwise = (0.5 + 0 + 1 / 3 + 0 + 0.2 + 0) / 6  # AB, AC, AD, BC, BD, CD
    assert report["mean_pairwise_iou"] == pytest.approx(pairwise)
    assert report["mean_pairwise_iou"] == pytest.approx(mean_pairwise_iou(shapes))


def test_one_nna_ties_go_to_samples():
    # 2 copies of A against 3 copies of A: all distances 0, every shape's nearest is a sample.
    d = gm.iou_distance(np.stack([A] * 5), np.stack([A] * 5))
    assert gm.one_nna(d[:2, :2], d[2:, 2:], d[:2, 2:]) == 2 / 5


def test_collapsed_set():
    report = gm.generation_report(np.stack([A] * 4), np.stack([A, B, C, D]))
    assert report["iou"]["cov"] == 1 / 4
    assert report["iou"]["mmd"] == pytest.approx((0 + 0.5 + 1 + 2 / 3) / 4)
    # samples find each other (right); every reference shape finds a sample first (wrong)
    assert report["iou"]["one_nna"] == 0.5
    assert report["mean_pairwise_iou"] == 1.0


def test_far_apart_sets_are_separable():
    near = np.stack([box((0, 0, 0), (2, 2, 2), 8), box((0, 0, 0), (3, 2, 2), 8), box((0, 0, 0), (2, 3, 3), 8)])
    far = np.stack([box((6, 6, 6), (8, 8, 8), 8), box((5, 6, 6), (8, 8, 8), 8), box((5, 5, 6), (8, 8, 8), 8)])
    report = gm.generation_report(near, far, chamfer=True)
    assert report["iou"]["one_nna"] == 1.0 and report["chamfer"]["one_nna"] == 1.0


def test_score_inputs_are_checked():
    with pytest.raises(ValueError, match=r"d_rr must be a non-empty \[2, 2\] matrix"):
        gm.one_nna(np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="at least one sample"):
        gm.generation_report(np.zeros((0, 4, 4, 4)), np.stack([A]))
    assert gm.generation_report(np.stack([A]), np.stack([A]))["mean_pairwise_iou"] is None


@pytest.fixture(scope="module")
def chairs(shared_data):
    from gan3d_tf.data.voxel_npz import load_voxel_npz

    path = shared_data / "modelnet10_vox32.npz"
    return load_voxel_npz(path, "chair", "train").voxels, load_voxel_npz(path, "chair", "test").voxels


@pytest.mark.slow
def test_real_train_chairs_against_test_chairs(chairs):
    train, test = chairs
    assert len(test) == 100
    report = gm.generation_report(train[:100], test)
    iou = report["iou"]
    msg = f"100 train vs 100 test chairs: {iou} (issue: 1-NNA 0.475, COV 0.49, MMD 0.69)"
    assert iou["one_nna"] < 0.6 and iou["cov"] > 0.4 and 0.6 < iou["mmd"] < 0.8, msg


@pytest.mark.slow
def test_real_collapsed_chairs(chairs):
    train, test = chairs
    report = gm.generation_report(np.repeat(train[:1], 100, axis=0), test)
    assert report["iou"]["cov"] == 0.01 and report["iou"]["one_nna"] >= 0.99, report
    assert report["mean_pairwise_iou"] == 1.0


# ---- evaluate.py generation ----


@pytest.mark.slow
def test_generation_cli(tmp_path, shared_data):
    from gan3d_tf.models.generator import Generator

    model = tmp_path / "g.keras"
    Generator(z_dim=8, widths=(8, 8, 8)).save(model)  # untrained, 32^3
    out = tmp_path / "gen.json"
    cmd = [
        sys.executable,
        "evaluate.py",
        "generation",
        "--model",
        str(model),
        "--data",
        str(shared_data / "modelnet10_vox32.npz"),
        "--category",
        "chair",
        "--n",
        "40",
        "--json",
        str(out),
    ]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "floor" in run.stdout and "1-NNA" in run.stdout, run.stdout
    report = json.loads(out.read_text())
    for key in (
        "model",
        "data",
        "category",
        "split",
        "n",
        "seed",
        "resolution",
        "wall_seconds",
        "n_samples",
        "n_reference",
        "n_reference_empty_dropped",
        "occupancy",
        "n_empty",
        "mean_pairwise_iou",
        "iou",
        "floor",
    ):
        assert key in report, key
    assert (report["category"], report["split"], report["n"], report["resolution"]) == ("chair", "test", 40, 32)
    assert report["n_samples"] == 40 and report["n_reference"] == 100 and report["floor"]["n_samples"] == 40
    assert set(report["iou"]) == {"cov", "mmd", "one_nna"} and "chamfer" not in report
    assert report["floor"]["iou"]["one_nna"] < report["iou"]["one_nna"], report


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--n", "0", "--n must be >= 1, got 0"),
        ("--data", "missing.npz", "--data not found"),
        ("--category", "spaceship", "--category: unknown category 'spaceship'"),
        ("--model", "nothing.keras", "--model not found"),
    ],
)
def test_generation_cli_bad_flags(tmp_path, shared_data, capsys, flag, value, message):
    model = tmp_path / "g.keras"
    model.write_text("")  # parse_args checks existence only
    args = {
        "--model": str(model),
        "--data": str(shared_data / "modelnet10_vox32.npz"),
        "--category": "chair",
        "--n": "10",
    }
    args[flag] = str(tmp_path / value) if flag in ("--data", "--model") else value
    with pytest.raises(SystemExit) as e:
        evaluate.main(["generation", *[x for kv in args.items() for x in kv]])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and value in err, err
