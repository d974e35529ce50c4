"""Real training runs: run-directory contents, TensorBoard events, exact resume."""

import glob
import json

import numpy as np
import pytest
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


@pytest.mark.slow
def test_run_directory_and_tensorboard(tmp_path):
    config = tiny_config()
    run = training.train(config, tmp_path / "run", verbose=0)
    d = tmp_path / "run"
    assert Config.from_json(d / "config.json") == config
    data_info = json.loads((d / "data.json").read_text())
    assert data_info["n_train"] == 24 and data_info["source"] == "builtin-procedural"
    assert 0.0 < data_info["mean_pairwise_iou_first64"] < 0.9  # varied shapes
    assert sorted(p.name for p in (d / "checkpoints").glob("*.index")) == [
        "ckpt-3.index",
        "ckpt-6.index",
    ]  # numbered by steps
    assert sorted(p.name for p in (d / "samples").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    assert (d / "generator.keras").is_file() and (d / "discriminator.keras").is_file()
    tags = event_tags(d / "logs")
    for metric in ("d_loss", "g_loss", "d_acc", "d_updated", "fake_occupancy", "fake_diversity"):
        assert sorted(tags[f"epoch_{metric}"]) == [0, 1], metric
    assert sorted(tags["samples"]) == [1, 2]
    assert int(run.gan.g_optimizer.iterations.numpy()) == 2 * 3  # 24 shapes / batch 8 = 3 steps per epoch


def mesh_vertices(log_dir, tag):
    """{step: [V, 3] vertices} of the mesh summaries named `tag` in the event files under log_dir."""
    found = {}
    for path in glob.glob(f"{log_dir}/**/events.out.tfevents.*", recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == f"{tag}_VERTEX":
                    assert value.metadata.plugin_data.plugin_name == "mesh"
                    found[event.step] = tf.make_ndarray(value.tensor)[0]
    return found


@pytest.mark.slow
def test_meshes_and_step_scalars_in_tensorboard(tmp_path):
    config = tiny_config(**{"train.mesh_samples": 2, "train.log_every_steps": 2})
    training.train(config, tmp_path / "run", verbose=0)  # 2 epochs of 3 steps
    logs = tmp_path / "run" / "logs"
    grids = np.asarray(training.load_network(tmp_path / "run", "generator")(training.fixed_z(config)[:2]))
    checked = 0
    for i in range(2):
        meshes = mesh_vertices(logs, f"mesh/sample_{i:02d}")
        if not (grids[i] > 0.5).any():  # an empty sample has no surface, and is skipped
            assert 2 not in meshes
            continue
        checked += 1
        assert sorted(meshes) == [1, 2]  # with each sample grid
        v = meshes[2]  # the last epoch's mesh: the saved generator's sample, centred, y up
        assert v.shape[1] == 3 and len(v) >= 8 and np.abs(v).max() <= 16 / 2 + 1
        occupied = np.argwhere(grids[i] > 0.5)  # (x, y, z) voxels; the mesh holds (x, z, -y) around the centre
        assert abs(v[:, 1].max() - (occupied[:, 2].max() + 1 - 8)) <= 1
    assert checked and not mesh_vertices(logs, "mesh/sample_02")  # only the first mesh_samples samples
    steps = event_tags(logs / "steps")
    assert sorted(steps["d_loss"]) == sorted(steps["g_loss"]) == [2, 4, 6]
    # resumed, the step curve continues (steps 8, 10, 12 of epochs 3 and 4), not restarting at 2
    training.train(config.replace(**{"train.epochs": 4}), tmp_path / "run", resume=True, verbose=0)
    assert sorted(event_tags(logs / "steps")["d_loss"]) == [2, 4, 6, 8, 10, 12]


@pytest.mark.slow
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
