"""`RunDir`: a run's parts load from the newer of their `.keras` file and the latest checkpoint."""

import os
import time

import numpy as np
import pytest

from conftest import tiny_config
from gan3d_tf import training
from gan3d_tf.training.run_dir import RunDir, load_network


@pytest.mark.slow
def test_a_checkpoint_newer_than_the_keras_file_wins(tmp_path):
    run = training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "run", verbose=0)
    rd = RunDir(tmp_path / "run")
    assert rd.keras_file("generator").is_file() and rd.latest_checkpoint() is not None
    finished = [w.copy() for w in load_network(rd.path, "generator").get_weights()]
    np.testing.assert_array_equal(finished[0], run.gan.generator.get_weights()[0])

    # the run is resumed and trains on: a newer checkpoint lands after generator.keras
    time.sleep(0.01)
    kernel = run.gan.generator.weights[0]
    kernel.assign(kernel + 1.0)
    path = run.manager.save()
    os.utime(path + ".index", (time.time() + 5, time.time() + 5))  # later than the .keras file on any file system
    newer = load_network(rd.path, "generator").get_weights()
    np.testing.assert_allclose(newer[0], finished[0] + 1.0, rtol=1e-6)
    # an explicit checkpoint is read as asked, and a .keras file path is read as given
    first = rd.load("generator", checkpoint=str(rd.checkpoints / "ckpt-3")).get_weights()  # epoch 1: 3 steps
    np.testing.assert_array_equal(first[0], finished[0])
    np.testing.assert_array_equal(load_network(rd.keras_file("generator")).get_weights()[0], finished[0])


@pytest.mark.slow
def test_run_dir_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such .keras file or run directory"):
        load_network(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="neither a run directory"):
        load_network(tmp_path)
    training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "gan", verbose=0)
    with pytest.raises(ValueError, match="it has no encoder"):
        RunDir(tmp_path / "gan").load("encoder")
    with pytest.raises(ValueError, match="part must be one of"):
        RunDir(tmp_path / "gan").load("critic")


@pytest.mark.slow
def test_a_failed_resume_leaves_the_saved_config_and_data_record(tmp_path):
    config = tiny_config(**{"train.epochs": 1})
    training.train(config, tmp_path / "run", verbose=0)
    saved = {name: (tmp_path / "run" / name).read_text() for name in ("config.json", "data.json")}
    other = config.replace(**{"model.g_widths": (32, 8), "data.builtin_size": 32, "train.epochs": 2})
    with pytest.raises(Exception):  # the checkpoint does not fit the other architecture
        training.train(other, tmp_path / "run", resume=True, verbose=0)
    for name, text in saved.items():
        assert (tmp_path / "run" / name).read_text() == text, name


def test_model_config_names_a_resolution_no_stage_count_gives():
    from gan3d_tf.config import ModelConfig

    with pytest.raises(ValueError, match=r"resolution must be 4 \* 2\^k .*got 48"):
        ModelConfig(resolution=48, g_widths=(64, 32, 16), d_widths=(16, 32, 64)).validate()
    with pytest.raises(ValueError, match="use 3 stages"):
        ModelConfig(resolution=32, g_widths=(64, 32), d_widths=(16, 32)).validate()
