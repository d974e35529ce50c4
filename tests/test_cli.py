"""train.py and evaluate.py: bad input fails early and clearly; sampling writes its files."""

import json

import numpy as np
import pytest
import trimesh

import evaluate
import train
from conftest import tiny_config
from gan3d_tf import training


def run_train(argv, capsys):
    code = train.main(argv)
    return code, capsys.readouterr().err


def test_unknown_builtin_category(tmp_path, capsys):
    code, err = run_train(["--category", "spaceship", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "unknown category 'spaceship'" in err and "chair" in err
    assert not (tmp_path / "r").exists()  # nothing was started


def test_unknown_builtin_category_in_a_list(tmp_path, capsys):
    code, err = run_train(["--category", "chair,spaceship", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "unknown category 'spaceship'" in err
    assert not (tmp_path / "r").exists()


def test_bad_view_distance_fails_before_any_work(tmp_path, capsys):
    code, err = run_train(["--model", "vaegan", "--view-distance", "0.5", "2", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "vaegan.view_distance" in err and "[0.5, 2.0]" in err
    assert not (tmp_path / "r").exists()
    code, err = run_train(["--view-distance", "1.6", "2.8", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "--view-distance applies to --model vaegan only" in err


def test_resume_accepts_the_saved_view_distance(tmp_path):
    from gan3d_tf.config import get_preset

    run = tmp_path / "r"
    run.mkdir()
    get_preset("smoke").replace(**{"algorithm": "vaegan", "vaegan.view_distance": (1.5, 2.8)}).to_json(
        run / "config.json"
    )
    config, _ = train.resolve_config(train.parse_args(["--out", str(run), "--resume", "--view-distance", "1.5", "2.8"]))
    assert config.vaegan.view_distance == (1.5, 2.8)
    with pytest.raises(ValueError, match="differs from the run's saved vaegan.view_distance"):
        train.resolve_config(train.parse_args(["--out", str(run), "--resume", "--view-distance", "1.6", "2.8"]))


def test_missing_data_file(tmp_path, capsys):
    code, err = run_train(["--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "data file not found" in err and "missing.npz" in err


def test_npz_with_wrong_keys(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", voxels=np.zeros((4, 32, 32, 32)))
    code, err = run_train(["--data", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "bad.npz" in err and "missing key(s) ['X_train', 'y_train']" in err and "voxels" in err


def test_npz_with_wrong_shapes(tmp_path, capsys):
    np.savez(tmp_path / "flat.npz", X_train=np.zeros((4, 32, 32)), y_train=np.zeros(4, int))
    code, err = run_train(["--data", str(tmp_path / "flat.npz"), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "flat.npz" in err and "(4, 32, 32)" in err


@pytest.mark.slow
def test_unknown_category_in_real_data(shared_data, tmp_path, capsys):
    code, err = run_train(
        ["--category", "lamp", "--data", str(shared_data / "modelnet10_vox32.npz"), "--out", str(tmp_path / "r")],
        capsys,
    )
    assert code == 2 and "unknown category 'lamp'" in err and "night_stand" in err


@pytest.mark.parametrize("flag,value", [("--epochs", "0"), ("--batch-size", "-1"), ("--builtin-size", "0")])
def test_bad_numbers(tmp_path, capsys, flag, value):
    code, err = run_train([flag, value, "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and flag.lstrip("-").replace("-", "_") in err


def test_learning_rate_flags_set_the_config(tmp_path, capsys):
    import train

    config, _ = train.resolve_config(train.parse_args(["--preset", "smoke", "--g-lr", "0.001", "--d-lr", "2e-4"]))
    assert (config.train.g_learning_rate, config.train.d_learning_rate) == (0.001, 2e-4)
    code, err = run_train(["--d-lr", "0", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "d_learning_rate must be > 0" in err
    config, _ = train.resolve_config(train.parse_args(["--model", "vaegan", "--e-lr", "3e-4", "--scene", "room"]))
    assert (config.vaegan.e_learning_rate, config.vaegan.scene) == (3e-4, "room")
    code, err = run_train(["--model", "vaegan", "--e-lr", "-1", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "vaegan.e_learning_rate must be > 0" in err


def test_gate_and_prior_flags_set_the_config(tmp_path, capsys):
    import train

    config, _ = train.resolve_config(train.parse_args(["--d-acc-threshold", "1", "--z-prior", "normal"]))
    assert (config.train.d_acc_threshold, config.model.z_distribution) == (1.0, "normal")
    code, err = run_train(["--d-acc-threshold", "1.1", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "d_acc_threshold must be <= 1" in err and not (tmp_path / "r").exists()


def test_bad_preset_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        train.main(["--preset", "huge"])
    assert e.value.code == 2 and "huge" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_without_run_and_overwrite_refused(tmp_path, capsys):
    code, err = run_train(["--resume", "--out", str(tmp_path / "none")], capsys)
    assert code == 2 and "config.json not found" in err
    config = tiny_config(**{"train.epochs": 1})
    training.train(config, tmp_path / "run", verbose=0)
    code, err = run_train(["--preset", "smoke", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "already holds a run" in err
    code, err = run_train(["--resume", "--out", str(tmp_path / "run"), "--seed", "3"], capsys)
    assert code == 2 and "--seed 3 differs" in err


@pytest.mark.slow
def test_sample_command(tmp_path, capsys):
    training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "run", verbose=0)
    assert evaluate.main(["sample", str(tmp_path / "run"), "--n", "5", "--out", str(tmp_path / "s")]) == 0
    summary = json.loads(capsys.readouterr().out)
    voxels = np.load(tmp_path / "s" / "samples.npz")["voxels"]
    assert voxels.shape == (5, 16, 16, 16) and voxels.dtype == np.float32
    assert summary["n"] == 5 and summary["meshes"] + summary["n_empty"] == 5
    assert 0.0 <= summary["mean_pairwise_iou"] <= 1.0
    assert (tmp_path / "s" / "grid.png").stat().st_size > 0
    for path in sorted((tmp_path / "s").glob("*.obj")):
        mesh = trimesh.load(path, force="mesh")
        assert len(mesh.faces) > 0 and mesh.bounds[1].max() <= 16.5
    # the same seed from the .keras file gives the same samples as from the run directory
    evaluate.main(["sample", str(tmp_path / "run" / "generator.keras"), "--n", "5", "--out", str(tmp_path / "k")])
    np.testing.assert_allclose(np.load(tmp_path / "k" / "samples.npz")["voxels"], voxels, atol=1e-6)


def test_sample_bad_model_path(tmp_path, capsys):
    with pytest.raises(SystemExit):
        evaluate.main(["sample", str(tmp_path / "nothing"), "--out", str(tmp_path / "s")])
    assert "model not found" in capsys.readouterr().err


def test_bad_scene_fails_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["--model", "vaegan", "--scene", "beach"])
    assert "invalid choice: 'beach'" in capsys.readouterr().err
    code, err = run_train(["--scene", "room", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "--scene applies to --model vaegan only" in err
    assert not (tmp_path / "r").exists()
