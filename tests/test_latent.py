"""Latent walks (issue 18): interpolation, arithmetic and inversion, as functions and as evaluate.py commands."""

import json

import numpy as np
import pytest

import evaluate
from conftest import ROOT
from gan3d_tf import Generator
from gan3d_tf.evaluation.latent import arithmetic_z, interpolate_z, invert, parse_endpoint, resolve_method, z_from_seed
from gan3d_tf.evaluation.sampling import generate
from gan3d_tf.metrics.iou import iou_distance
from gan3d_tf.models.batched import predict_batched
from gan3d_tf.training import load_network

MODEL = ROOT / "pretrained" / "chair32"
CHAIR = 623  # a train chair (office chair) of modelnet10_vox32.npz; its fit reached IoU 0.70 when measured
CHAIR_IOU = 0.6  # the IoU the inversion must reach on it


@pytest.fixture(scope="module")
def chair_g():
    return load_network(MODEL, "generator")


def test_linear_interpolation_is_exact():
    za, zb = np.arange(4.0), np.arange(4.0)[::-1] * 2
    t, z = interpolate_z(za, zb, 5, "linear")
    np.testing.assert_allclose(t, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(z[0], za)  # both endpoints exactly (small integers are exact in float32)
    np.testing.assert_array_equal(z[-1], zb)
    np.testing.assert_allclose(z[2], (za + zb) / 2, rtol=1e-6)


def test_slerp_follows_the_great_circle_with_interpolated_norm():
    rng = np.random.default_rng(0)
    za, zb = rng.normal(size=128), 1.5 * rng.normal(size=128)
    t, z = interpolate_z(za, zb, 9, "slerp")
    np.testing.assert_allclose(z[[0, -1]], [za, zb], rtol=1e-6)
    norms = np.linalg.norm(z, axis=1)
    np.testing.assert_allclose(norms, (1 - t) * np.linalg.norm(za) + t * np.linalg.norm(zb), rtol=1e-5)
    ua, ub = za / np.linalg.norm(za), zb / np.linalg.norm(zb)
    angles = np.arccos(np.clip((z / norms[:, None]) @ ua, -1, 1))  # equal angular steps from a
    np.testing.assert_allclose(np.diff(angles), np.diff(angles)[0], rtol=1e-4)
    residual = z - np.linalg.lstsq(np.stack([ua, ub], 1), z.T, rcond=None)[0].T @ np.stack([ua, ub])
    assert np.abs(residual).max() < 1e-4  # stays in the plane of a and b
    # unlike a linear mix, whose midpoint of two independent draws shrinks by about 1/sqrt(2)
    assert np.linalg.norm(interpolate_z(za, zb, 3, "linear")[1][1]) < 0.8 * norms[4]
    with pytest.raises(ValueError, match="steps must be >= 2"):
        interpolate_z(za, zb, 1)


def test_method_follows_the_prior():
    normal, uniform = Generator(8, (8, 4), z_distribution="normal"), Generator(8, (8, 4))
    assert resolve_method(normal, "auto") == "slerp" and resolve_method(uniform, "auto") == "linear"
    with pytest.raises(ValueError, match="slerp is for a normal prior"):
        resolve_method(uniform, "slerp")


def test_arithmetic_and_its_rescaling():
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(size=(3, 64))
    np.testing.assert_allclose(arithmetic_z(a, b, c), a - b + c, rtol=1e-6)
    scaled = arithmetic_z(a, b, c, rescale=True)
    assert np.linalg.norm(scaled) == pytest.approx(np.mean(np.linalg.norm([a, b, c], axis=1)), rel=1e-5)
    np.testing.assert_allclose(scaled / np.linalg.norm(scaled), (a - b + c) / np.linalg.norm(a - b + c), rtol=1e-5)


def test_seed_endpoint_is_the_shape_sample_draws_first(chair_g):
    z, _ = generate(chair_g, 3, seed=5)
    np.testing.assert_array_equal(z_from_seed(chair_g, 5), z[0])
    np.testing.assert_array_equal(parse_endpoint(chair_g, "5").z, z[0])


@pytest.mark.slow
def test_inversion_recovers_a_generated_shape(chair_g):
    target = (predict_batched(chair_g, z_from_seed(chair_g, 0)[None])[0] > 0.5).astype(np.float32)
    z, iou = invert(chair_g, target, steps=100)
    assert iou >= 0.85  # a shape G can draw exactly (measured 0.96 with 200 steps)
    assert iou == pytest.approx(1 - iou_distance(predict_batched(chair_g, z[None]), target[None])[0, 0])


@pytest.mark.slow
def test_interpolate_command_between_a_real_chair_and_a_seed(chair_g, shared_data, tmp_path, capsys):
    data = shared_data / "modelnet10_vox32.npz"
    out = tmp_path / "walk"
    assert (
        evaluate.main(
            [
                "interpolate",
                "--model",
                str(MODEL),
                "--from",
                f"{data}:X_train:{CHAIR}",
                "--to",
                "3",
                "--steps",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(capsys.readouterr().out) == summary
    saved = np.load(out / "interpolation.npz")
    assert saved["voxels"].shape == (5, 32, 32, 32) and saved["z"].shape == (5, 128)
    np.testing.assert_array_equal(saved["z"][-1], z_from_seed(chair_g, 3))
    target = np.load(data)["X_train"][CHAIR].astype(np.float32)
    reached = 1 - iou_distance(saved["voxels"][:1], target[None])[0, 0]
    assert summary["endpoints"]["from"]["inverted_iou"] == pytest.approx(reached, abs=1e-4)
    assert reached >= CHAIR_IOU, reached
    assert summary["method"] == "slerp" and summary["meshes"] + summary["n_empty"] == 5
    assert len(list(out.glob("interpolation_*.obj"))) == summary["meshes"] >= 4
    from PIL import Image

    png = Image.open(out / "interpolation.png")
    assert png.size[0] > 5 * 100 and png.size[1] > 300  # five shapes, and a second row: the real chair


def test_arithmetic_command_reads_z_from_a_written_file(chair_g, tmp_path, capsys):
    assert (
        evaluate.main(
            [
                "interpolate",
                "--model",
                str(MODEL),
                "--from",
                "1",
                "--to",
                "2",
                "--steps",
                "3",
                "--out",
                str(tmp_path / "i"),
            ]
        )
        == 0
    )
    zs = np.load(tmp_path / "i" / "interpolation.npz")["z"]
    assert (
        evaluate.main(
            [
                "arithmetic",
                "--model",
                str(MODEL),
                "--a",
                f"{tmp_path}/i/interpolation.npz:1",
                "--b",
                "4",
                "--c",
                f"{tmp_path}/i/interpolation.npz:z:2",
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    saved = np.load(tmp_path / "a" / "arithmetic.npz")
    a, b, c = zs[1], z_from_seed(chair_g, 4), zs[2]
    np.testing.assert_allclose(saved["z"][:3], [a, b, c])
    np.testing.assert_allclose(saved["z"][3], arithmetic_z(a, b, c, rescale=True), rtol=1e-6)
    np.testing.assert_allclose(saved["voxels"], predict_batched(chair_g, saved["z"]), atol=1e-5)
    assert (tmp_path / "a" / "arithmetic.png").stat().st_size > 5_000


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--from", "chair"], "neither a seed"),
        (["--to", "missing.npz:3"], "file not found: missing.npz"),
        (["--steps", "1"], "--steps must be >= 2"),
        (["--method", "slerp", "--model", "UNIFORM"], "slerp is for a normal prior"),
        (["--from", "DATA:X_train:99999"], "index 99999 is out of range for X_train with 3991 grids"),
        (["--from", "DATA:X_nope:1"], "no key 'X_nope'"),
    ],
)
def test_bad_endpoints_are_named(argv, message, shared_data, tmp_path, capsys):
    uniform = tmp_path / "uniform.keras"
    Generator(16, (8, 4, 2), name="generator").save(uniform)
    argv = [a.replace("DATA", str(shared_data / "modelnet10_vox32.npz")).replace("UNIFORM", str(uniform)) for a in argv]
    if "--model" not in argv:
        argv += ["--model", str(MODEL)]
    try:
        code = evaluate.main(["interpolate", "--out", str(tmp_path / "o"), *argv])
    except SystemExit as e:  # argparse refuses before any model is loaded
        code = e.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written
