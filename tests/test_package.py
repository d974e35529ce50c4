"""Shipping a run's networks as model folders (gan3d_tf.serving.pretrained), and using those folders everywhere."""

import json

import numpy as np
import pytest

import evaluate
from conftest import tiny_config
from gan3d_tf import training
from gan3d_tf.serving import pretrained


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A 2-epoch 16^3 run on a small labelled .npz (two classes of boxes), shipped as a G folder and a D folder."""
    root = tmp_path_factory.mktemp("package")
    rng = np.random.default_rng(0)

    def boxes(n):
        x = np.zeros((2 * n, 16, 16, 16), np.uint8)
        for i in range(2 * n):
            a, h = (
                (rng.integers(2, 4), rng.integers(10, 16)) if i % 2 == 0 else (rng.integers(8, 14), rng.integers(2, 4))
            )
            x[i, 8 - a // 2 : 8 + a // 2 + 1, 8 - a // 2 : 8 + a // 2 + 1, :h] = 1
        return x, np.arange(2 * n) % 2

    (xtr, ytr), (xte, yte) = boxes(16), boxes(6)
    np.savez(root / "set.npz", X_train=xtr, y_train=ytr, X_test=xte, y_test=yte, classes=np.array(["tall", "flat"]))
    config = tiny_config(**{"data.path": str(root / "set.npz"), "data.category": "tall", "data.val_fraction": 0.25})
    training.train(config, root / "run", verbose=0)
    assert (
        pretrained.main(
            [
                str(root / "run"),
                "--out",
                str(root / "tall16"),
                "--data",
                str(root / "set.npz"),
                "--category",
                "tall",
                "--n",
                "8",
                "--quality-n",
                "20",
            ]
        )
        == 0
    )
    assert (
        pretrained.main(
            [
                str(root / "run"),
                "--part",
                "discriminator",
                "--out",
                str(root / "d16"),
                "--data",
                str(root / "set.npz"),
                "--seeds",
                "2",
            ]
        )
        == 0
    )
    return root


@pytest.mark.slow
def test_generator_folder_metadata(shipped):
    meta = json.loads((shipped / "tall16" / "metadata.json").read_text())
    assert sorted(p.name for p in (shipped / "tall16").iterdir()) == ["generator.keras", "metadata.json"]
    assert (
        meta["files"] == {"generator": "generator.keras"} and meta["epochs"] == 2 and meta["steps"] == 2
    )  # 12 train shapes, batch 8: one step an epoch
    quality = meta["metrics"]["quality"]
    assert quality["n"] == 20 and quality["raw"]["reference_mean_voxels"] > 0
    assert quality["cleaned"]["n_fragmented"] == 0  # a cleaned sample is one component
    assert meta["metrics"]["cleaned"]["n_samples"] == 8 and "generation --model" in meta["metrics_command"]


@pytest.mark.slow
def test_discriminator_folder_metadata(shipped):
    meta = json.loads((shipped / "d16" / "metadata.json").read_text())
    assert sorted(p.name for p in (shipped / "d16").iterdir()) == ["discriminator.keras", "metadata.json"]
    m = meta["metrics"]
    assert set(m["accuracy"]) == {"gan", "random_d", "raw_voxels"} and len(m["over_seeds"]["margin"]) == 2
    assert "test_correct" not in m and "--seeds 2" in meta["metrics_command"]


@pytest.mark.slow
def test_folders_work_in_every_subcommand(shipped, capsys):
    g, d, data = str(shipped / "tall16"), str(shipped / "d16"), str(shipped / "set.npz")
    assert evaluate.main(["sample", "--model", g, "--n", "4", "--out", str(shipped / "s")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reference_mean_voxels"] > 0  # the near-empty cutoff comes from the folder's metadata
    assert evaluate.main(["generation", "--model", g, "--data", data, "--category", "tall", "--n", "6"]) == 0
    assert "gate: " in capsys.readouterr().out
    assert evaluate.main(["interpolate", "--model", g, "--steps", "3", "--out", str(shipped / "i")]) == 0
    capsys.readouterr()
    assert evaluate.main(["classify", "--model", d, "--data", data, "--json", str(shipped / "c.json")]) == 0
    report = json.loads((shipped / "c.json").read_text())
    shipped_metrics = json.loads((shipped / "d16" / "metadata.json").read_text())["metrics"]
    assert report["accuracy"] == shipped_metrics["accuracy"]  # seed 0 reproduces the shipped row exactly
    capsys.readouterr()
    assert evaluate.main(["sample", "--model", d, "--out", str(shipped / "x")]) == 2  # a D-only folder has no G
    assert "generator.keras" in capsys.readouterr().err


@pytest.mark.slow
def test_shipping_needs_a_category_for_a_generator(shipped, capsys):
    with pytest.raises(SystemExit):
        pretrained.main([str(shipped / "run"), "--out", str(shipped / "y"), "--data", str(shipped / "set.npz")])
    assert "--category is required" in capsys.readouterr().err and not (shipped / "y").exists()
