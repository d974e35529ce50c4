"""GenerationMonitor inside fit(): TensorBoard scalars, logs, and the collapse/empty warning."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import generator_holder, tiny_config
from gan3d_tf.training.generation_monitor import GenerationMonitor


def scalars(log_dir) -> dict:
    """{tag: {step: value}} of all event files under log_dir."""
    out = {}
    for path in Path(log_dir).rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                out.setdefault(v.tag, {})[event.step] = float(tf.make_ndarray(v.tensor))
    return out


def reference(n=6, r=16, seed=0):
    return (np.random.default_rng(seed).random((n, r, r, r)) > 0.8).astype(np.uint8)


def test_monitor_in_a_gan_fit(tmp_path):
    from gan3d_tf.training import build_gan

    gan = build_gan(tiny_config())
    data = tf.data.Dataset.from_tensor_slices(reference(8, seed=1).astype(np.float32)).batch(8).repeat()
    z = np.random.default_rng(0).random((4, 16)).astype(np.float32)
    monitor = GenerationMonitor(reference(), z, tmp_path / "logs", print_fn=lambda line: None)
    history = gan.fit(data, steps_per_epoch=1, epochs=1, verbose=0, callbacks=[monitor]).history
    tags = scalars(tmp_path / "logs")
    assert set(tags["generation/cov"]) == {1} and history["gen_cov"] == [pytest.approx(tags["generation/cov"][1])]
    assert 0 <= tags["generation/one_nna"][1] <= 1 and "d_loss" in history


def dense_generator(r=16, z_dim=4, kernel="zeros", bias=0.0):
    """z -> sigmoid(z W + b) as an r^3 grid; a zero kernel ignores z."""
    z = keras.Input((z_dim,))
    x = keras.layers.Dense(
        r**3, activation="sigmoid", kernel_initializer=kernel, bias_initializer=keras.initializers.Constant(bias)
    )(z)
    return keras.Model(z, keras.layers.Reshape((r, r, r))(x))


def run(generator, tmp_path, epochs=2, every=1):
    lines = []
    z = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    monitor = GenerationMonitor(reference(), z, tmp_path / "logs", every=every, print_fn=lines.append)
    model = generator_holder(generator)
    model.compile()
    history = model.fit(np.zeros((4, 1), np.float32), batch_size=2, epochs=epochs, verbose=0, callbacks=[monitor])
    return lines, history.history


def test_scalars_every_second_epoch_and_the_last(tmp_path):
    lines, history = run(dense_generator(kernel="glorot_uniform"), tmp_path, epochs=3, every=2)
    tags = scalars(tmp_path / "logs")
    for name in ("cov", "mmd", "one_nna", "mean_pairwise_iou", "occupancy", "n_empty"):
        assert set(tags[f"generation/{name}"]) == {2, 3}, (name, tags)  # step = epoch + 1
    for key in ("gen_cov", "gen_mmd", "gen_1nna", "gen_pairwise_iou"):
        assert len(history[key]) == 2, history  # logged on the scored epochs only
    assert history["gen_1nna"][-1] == pytest.approx(tags["generation/one_nna"][3])
    assert tags["generation/n_empty"][3] == 0 and 0.3 < tags["generation/occupancy"][3] < 0.7


def test_collapse_warning_for_a_generator_that_ignores_z(tmp_path):
    lines, history = run(dense_generator(bias=1.0), tmp_path)  # the same full grid for every z
    assert len(lines) == 2 and all("collapsed" in line and "empty" not in line for line in lines), lines
    assert history["gen_pairwise_iou"] == [1.0, 1.0] and history["gen_cov"] == [1 / 6, 1 / 6]


def test_empty_warning(tmp_path):
    lines, _ = run(dense_generator(bias=-1.0), tmp_path, epochs=1)
    assert len(lines) == 1 and "empty: 8 of 8 samples" in lines[0], lines


def test_no_warning_for_varied_shapes(tmp_path):
    lines, history = run(dense_generator(kernel="glorot_uniform"), tmp_path)
    assert lines == [] and history["gen_pairwise_iou"][-1] < 0.5, (lines, history)


def test_bad_arguments():
    with pytest.raises(ValueError, match="every must be >= 1"):
        GenerationMonitor(reference(), np.zeros((4, 16)), "logs", every=0)
    with pytest.raises(ValueError, match="z must have shape"):
        GenerationMonitor(reference(), np.zeros((1, 16)), "logs")
