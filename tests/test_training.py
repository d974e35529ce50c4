"""Real training runs: run-directory contents, TensorBoard events, exact resume."""

import glob
import json

import numpy as np
import tensorflow as tf

from conftest import tiny_config
from gan3d_tf import training
from gan3d_tf.config import Config


def event_tags(log_dir):
    tags = {}
    for path in glob.glob(f"{log_dir}/**/events.out.tfevents.*", recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


def weights(run):
    return [np.array(v) for v in run.gan.generator.weights + run.gan.discriminator.weights]


def test_run_directory_and_tensorboard(tmp_path):
    config = tiny_config()
    run = training.train(config, tmp_path / "run", verbose=0)
    d = tmp_path / "run"
    assert Config.from_json(d / "config.json") == config
    data_info = json.loads((d / "data.json").read_text())
    assert data_info["n_train"] == 24 and data_info["source"] == "builtin-procedural"
    assert 0.0 < data_info["mean_pairwise_iou_first64"] < 0.9  # varied shapes
    assert sorted(p.name for p in (d / "checkpoints").glob("*.index")) == ["ckpt-3.index", "ckpt-6.index"]  # numbered by steps
    assert sorted(p.name for p in (d / "samples").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    assert (d / "generator.keras").is_file() and (d / "discriminator.keras").is_file()
    tags = event_tags(d / "logs")
    for metric in ("d_loss", "g_loss", "d_acc", "d_updated", "fake_occupancy", "fake_diversity"):
        assert sorted(tags[f"epoch_{metric}"]) == [0, 1], metric
    assert sorted(tags["samples"]) == [1, 2]
    assert int(run.gan.g_optimizer.iterations.numpy()) == 2 * 3  # 24 shapes / batch 8 = 3 steps per epoch


def test_resume_equals_uninterrupted_run(tmp_path, deterministic_ops):
    config = tiny_config(**{"train.epochs": 3})
    straight = training.train(config, tmp_path / "a", verbose=0)

    training.train(config.replace(**{"train.epochs": 1}), tmp_path / "b", verbose=0)
    resumed = training.train(config, tmp_path / "b", resume=True, verbose=0)

    assert int(resumed.epoch.numpy()) == 3
    assert int(resumed.gan.g_optimizer.iterations.numpy()) == int(straight.gan.g_optimizer.iterations.numpy()) == 9
    assert int(resumed.gan.d_optimizer.iterations.numpy()) == int(straight.gan.d_optimizer.iterations.numpy())
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(straight.gan.z_rng.state.numpy(), resumed.gan.z_rng.state.numpy())
    # and the run really trained: weights moved from their initial values
    fresh = training.open_run(config, tmp_path / "fresh")
    assert any(not np.array_equal(a, b) for a, b in zip(weights(fresh), weights(straight)))
