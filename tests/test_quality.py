"""Near-empty and fragmented samples, cleaning, truncation, the gate, the monitor's new readings, time to gate."""

import json

import keras
import numpy as np
import pytest
from scipy import ndimage

import evaluate
from conftest import generator_holder, tiny_config
from gan3d_tf import training
from gan3d_tf.bench import time_to_gate
from gan3d_tf.evaluation.sampling import draw_z
from gan3d_tf.metrics.gate import GATE, gate_failures
from gan3d_tf.metrics.generation import generation_report
from gan3d_tf.metrics.quality import (
    keep_largest_component,
    largest_component_fraction,
    sample_quality,
)
from gan3d_tf.training.generation_monitor import GenerationMonitor


def block(grid, corner, size):
    x, y, z = corner
    grid[x : x + size[0], y : y + size[1], z : z + size[2]] = 1
    return grid


def grids(*cells, r=16):
    """One grid per entry: a list of (corner, size) blocks."""
    out = np.zeros((len(cells), r, r, r), np.float32)
    for k, blocks in enumerate(cells):
        for corner, size in blocks:
            block(out[k], corner, size)
    return out


def test_near_empty_counts_against_the_reference_mean():
    # reference: 100 and 300 filled voxels, mean 200, so the cutoff is 10 voxels
    reference = grids([((0, 0, 0), (10, 10, 1))], [((0, 0, 0), (10, 10, 3))])
    samples = grids([((0, 0, 0), (9, 1, 1))], [((0, 0, 0), (10, 1, 1))], [], [((0, 0, 0), (5, 5, 5))])
    q = sample_quality(samples, 200.0)
    assert q["near_empty_below_voxels"] == 10.0 and q["n_near_empty"] == 2  # 9 voxels and the empty grid
    report = generation_report(samples, reference)
    assert report["n_near_empty"] == 2 and report["n_empty"] == 1 and report["reference_mean_voxels"] == 200.0
    assert sample_quality(samples, None)["n_near_empty"] is None
    with pytest.raises(ValueError, match="reference_mean_voxels must be > 0"):
        sample_quality(samples, 0.0)


def test_fragmented_is_the_largest_26_component_under_80_percent():
    samples = grids(
        [((0, 0, 0), (16, 1, 1)), ((0, 2, 0), (4, 1, 1)), ((8, 8, 8), (6, 1, 1))],  # 16 + 4 + 6 apart: 16/26
        [((0, 0, 0), (5, 5, 1)), ((8, 8, 8), (5, 1, 1))],  # 25 + 5: 25/30 = 0.83, not fragmented
        [((0, 0, 0), (2, 2, 2)), ((2, 2, 2), (2, 2, 2))],  # two cubes touching at one corner only: one 26-component
        [],
    )
    fraction = largest_component_fraction(samples)
    np.testing.assert_allclose(fraction[:3], [16 / 26, 25 / 30, 1.0])
    assert np.isnan(fraction[3])
    # under 6-connectivity the corner-touching cubes would be two components (8 of 16: fragmented)
    assert ndimage.label(samples[2] > 0.5)[1] == 2
    q = sample_quality(samples, 20.0)  # cutoff 1 voxel: only the empty grid is near-empty
    assert q["n_fragmented"] == 1 and q["n_near_empty"] == 1 and q["n_near_empty_or_fragmented"] == 2


def test_keep_largest_component_keeps_its_occupancies_and_zeroes_the_rest():
    samples = grids([((0, 0, 0), (4, 4, 4)), ((10, 10, 10), (2, 2, 2))], [])
    samples[0] *= 0.9
    samples[0, 15, 0, 0] = 0.3  # below the threshold, outside every component
    cleaned = keep_largest_component(samples)
    assert cleaned.dtype == samples.dtype and cleaned.shape == samples.shape
    assert (cleaned[0] > 0.5).sum() == 64 and cleaned[0, :4, :4, :4].min() == pytest.approx(0.9)
    assert cleaned[0, 10:, 10:, 10:].max() == 0 and cleaned[0, 15, 0, 0] == 0
    assert not cleaned[1].any() and largest_component_fraction(cleaned)[0] == 1.0


def test_gate_names_each_failed_condition():
    good = {"iou": {"cov": 0.4, "mmd": 0.7, "one_nna": 0.7}, "mean_pairwise_iou": 0.1, "n_empty": 0}
    assert gate_failures(good) == []
    bad = {"iou": {"cov": 0.2, "mmd": 0.9, "one_nna": 0.95}, "mean_pairwise_iou": 0.5, "n_empty": 3}
    failures = gate_failures(bad)
    assert len(failures) == 5 and failures[0].startswith("COV 0.200") and failures[-1] == "3 empty > 0"
    edge = {
        "iou": {"cov": GATE["cov"], "mmd": GATE["mmd"], "one_nna": GATE["one_nna"]},
        "mean_pairwise_iou": GATE["mean_pairwise_iou"],
        "n_empty": 0,
    }
    assert gate_failures(edge) == []  # the bounds themselves pass
    # a class whose real shapes are alike (sofas: 0.35 among the test sofas) raises the pairwise bound to theirs + 0.05
    alike = dict(good, mean_pairwise_iou=0.38)
    assert gate_failures(alike) == ["pairwise IoU 0.380 > 0.3"]
    assert gate_failures(dict(alike, reference_mean_pairwise_iou=0.35)) == []
    assert gate_failures(dict(alike, reference_mean_pairwise_iou=0.30)) == ["pairwise IoU 0.380 > 0.35"]
    assert gate_failures(dict(alike, mean_pairwise_iou=0.2, reference_mean_pairwise_iou=0.05)) == []


def test_truncation_bounds_z_and_keeps_the_entries_inside():
    plain = draw_z(200, 16, "normal", seed=3)
    cut = draw_z(200, 16, "normal", seed=3, truncation=0.7)
    assert np.abs(cut).max() <= 0.7 and np.abs(plain).max() > 2
    inside = np.abs(plain) <= 0.7
    np.testing.assert_array_equal(cut[inside], plain[inside])
    np.testing.assert_array_equal(draw_z(200, 16, "normal", seed=3, truncation=0.7), cut)  # reproducible
    with pytest.raises(ValueError, match="prior is 'uniform'"):
        draw_z(4, 16, "uniform", truncation=0.7)
    with pytest.raises(ValueError, match="must be > 0"):
        draw_z(4, 16, "normal", truncation=0.0)


def lookup_generator(shapes):
    """A Keras generator mapping one-hot z (index k) to shapes[k] exactly (logits of +-20)."""
    n, r = len(shapes), shapes.shape[1]
    kernel = np.where(shapes.reshape(n, -1) > 0.5, 20.0, -20.0).astype(np.float32)
    z = keras.Input((n,))
    x = keras.layers.Dense(
        r**3, activation="sigmoid", use_bias=False, kernel_initializer=keras.initializers.Constant(kernel)
    )(z)
    return keras.Model(z, keras.layers.Reshape((r, r, r))(x))


def monitor_fit(generator, reference, z, tmp_path, stop_at_gate):
    lines = []
    monitor = GenerationMonitor(reference, z, tmp_path / "logs", print_fn=lines.append, stop_at_gate=stop_at_gate)
    model = generator_holder(generator)
    model.compile()
    history = model.fit(np.zeros((4, 1), np.float32), batch_size=2, epochs=3, verbose=0, callbacks=[monitor])
    return history.history, lines


def test_monitor_logs_quality_and_stops_at_the_gate(tmp_path):
    rng = np.random.default_rng(0)
    reference = (rng.random((8, 16, 16, 16)) > 0.85).astype(np.float32)
    z = np.eye(8, dtype=np.float32)  # the generator draws the reference shapes themselves: the gate passes
    history, lines = monitor_fit(lookup_generator(reference), reference, z, tmp_path / "a", stop_at_gate=True)
    assert len(history["loss"]) == 1 and history["gen_gate"] == [1.0] and history["gen_near_empty"] == [0]
    assert any("passes the gate; stopping" in line for line in lines), lines
    history, _ = monitor_fit(lookup_generator(reference), reference, z, tmp_path / "b", stop_at_gate=False)
    assert len(history["loss"]) == 3  # the same readings without stop_at_gate: all epochs
    collapsed = np.repeat(reference[:1], 8, axis=0)  # one shape eight times: collapsed, fails the gate
    history, _ = monitor_fit(lookup_generator(collapsed), reference, z, tmp_path / "c", stop_at_gate=True)
    assert len(history["loss"]) == 3 and history["gen_gate"] == [0.0] * 3


@pytest.mark.slow
def test_time_to_gate_reads_a_runs_readings(tmp_path, capsys):
    config = tiny_config(
        **{"train.epochs": 2, "train.monitor_every_epochs": 1, "data.val_fraction": 0.25, "train.monitor_samples": 4}
    )
    training.train(config, tmp_path / "run", verbose=0)
    assert time_to_gate.main(["--report", str(tmp_path / "run")]) == 0
    out = json.loads(capsys.readouterr().out)
    readings = out["readings"]
    assert [r["epoch"] for r in readings] == [1, 2] and readings[1]["step"] == 2 * readings[0]["step"] > 0
    assert 0 < readings[0]["seconds"] < readings[1]["seconds"]
    assert readings[0]["n_near_empty"] is not None and out["precision"] == "float32"
    assert not out["passed"] and out["first_pass"] is None and all(r["gate_failures"] for r in readings)


def test_time_to_gate_refuses_an_existing_out_and_needs_the_monitor(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    with pytest.raises(SystemExit):
        time_to_gate.main(["--out", str(tmp_path / "run")])
    assert "starts from scratch" in capsys.readouterr().err
    with pytest.raises(ValueError, match="stop_at_gate needs the generation monitor"):
        tiny_config(**{"train.stop_at_gate": True, "train.monitor_every_epochs": 0})


@pytest.mark.slow
def test_sample_cli_clean_truncation_and_model_flag(tmp_path, capsys):
    training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "run", verbose=0)  # smoke: uniform prior
    run = str(tmp_path / "run")
    assert evaluate.main(["sample", "--model", run, "--n", "6", "--out", str(tmp_path / "c")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["clean"] and summary["reference_mean_voxels"] > 0 and summary["n_near_empty"] is not None
    cleaned = np.load(tmp_path / "c" / "samples.npz")["voxels"]
    assert all(ndimage.label(g > 0.5, structure=np.ones((3, 3, 3)))[1] <= 1 for g in cleaned)
    assert evaluate.main(["sample", run, "--no-clean", "--n", "6", "--out", str(tmp_path / "r")]) == 0
    raw_summary = json.loads(capsys.readouterr().out)
    raw = np.load(tmp_path / "r" / "samples.npz")["voxels"]
    np.testing.assert_array_equal(keep_largest_component(raw), cleaned)
    assert raw_summary["n_fragmented"] == summary["n_fragmented"]  # counted on the raw samples either way
    assert evaluate.main(["sample", "--model", run, "--truncation", "0.5", "--out", str(tmp_path / "t")]) == 2
    assert "prior is 'uniform'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main(["sample", run, "--model", run, "--out", str(tmp_path / "x")])
    assert "give the model once" in capsys.readouterr().err
