"""Nothing lost: step checkpoints survive kill -9 bit for bit, and non-finite weights are never saved."""

import json
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import TESTS, TINY_ARCH_FLAGS, subprocess_env, tiny_config
from gan3d_tf import training
from gan3d_tf.training import RunDir

# a 16^3 run of 4 epochs x 8 steps, a checkpoint after every step
TINY_FLAGS = [
    "--preset",
    "smoke",
    "--category",
    "chair",
    "--builtin-size",
    "64",
    "--batch-size",
    "8",
    "--epochs",
    "4",
    "--d-lr",
    "1e-3",
    "--checkpoint-every-steps",
    "1",
    "--quiet",
    *TINY_ARCH_FLAGS,
    "--set",
    "train.ema_decay=0.9",
]
TOTAL_STEPS = 4 * 8


def child(out, *extra, **env):
    return subprocess.Popen(
        [sys.executable, str(TESTS / "train_child.py"), *TINY_FLAGS, "--out", str(out), *extra],
        env=subprocess_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored(checkpoint):
    """Every value of a checkpoint but its save counter (which counts saves, not training)."""
    return {
        k: tf.train.load_variable(checkpoint, k)
        for k, _ in tf.train.list_variables(checkpoint)
        if not k.startswith("save_counter")
    }


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The run of TINY_FLAGS, uninterrupted."""
    out = tmp_path_factory.mktemp("straight") / "run"
    proc = child(out)
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    return out


def assert_same_as_straight(straight, run: RunDir) -> None:
    """The last checkpoint and generator.keras of `run` equal the uninterrupted run's bit for bit."""
    a, b = stored(RunDir(straight).latest_checkpoint()), stored(run.latest_checkpoint())
    assert a.keys() == b.keys() and "step/.ATTRIBUTES/VARIABLE_VALUE" in a
    assert int(b["step/.ATTRIBUTES/VARIABLE_VALUE"]) == TOTAL_STEPS
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    g1 = keras.saving.load_model(straight / "generator.keras")
    g2 = keras.saving.load_model(run.path / "generator.keras")
    for w1, w2 in zip(g1.get_weights(), g2.get_weights()):
        np.testing.assert_array_equal(w1, w2)


@pytest.mark.slow
@pytest.mark.parametrize("step,point", [(11, "data"), (16, "index")])
def test_kill_9_inside_a_save_then_resume_equals_an_uninterrupted_run(tmp_path, straight, step, point):
    """The child kills itself inside the save of ckpt-<step> (mid-epoch 11, epoch end 16): after writing the
    variables but before their index file exists ("data"), or after the checkpoint is complete but before the
    manager's `checkpoint` file names it ("index"). The run resumes from the save before and ends as if
    never killed."""
    run = RunDir(tmp_path / "killed")
    proc = child(run.path, KILL_IN_SAVE=f"{step}:{point}")
    assert proc.wait(timeout=600) == -signal.SIGKILL, proc.stderr.read()
    files = {p.name for p in run.checkpoints.iterdir()}
    if point == "data":  # the variables are on disk, in the save's temporary folder only
        assert f"ckpt-{step}_temp" in files and f"ckpt-{step}.index" not in files, files
        assert list((run.checkpoints / f"ckpt-{step}_temp").glob("*.data-*")), files
    else:  # a whole checkpoint no index names
        assert {f"ckpt-{step}.index", f"ckpt-{step}.data-00000-of-00001"} <= files, files
    assert run.counters()["steps"] == step - 1  # the last recorded save, readable
    resumed = child(run.path, "--resume")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    assert_same_as_straight(straight, run)


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path, straight):
    run = RunDir(tmp_path / "killed")
    rng, killed_mid_run = random.Random(19), 0
    for attempt in range(4):
        before = run.counters()["steps"] if attempt else -1
        proc = child(run.path, *(["--resume"] if attempt else []))
        deadline = time.monotonic() + 300
        # kill once the child has saved a step of its own (then the kill may land in training or in a save)
        while (
            proc.poll() is None
            and time.monotonic() < deadline
            and (run.latest_checkpoint() is None or run.counters()["steps"] == before)
        ):
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        steps = run.counters()["steps"]  # the last save is readable whatever the moment of the kill
        assert steps > before
        killed_mid_run += steps < TOTAL_STEPS
    assert killed_mid_run >= 3, "the kills should land while training, not after it"

    last = child(run.path, "--resume")
    assert last.wait(timeout=600) == 0, last.stderr.read()
    assert_same_as_straight(straight, run)


class PoisonAt(keras.callbacks.Callback):
    """Sets one variable to NaN before training step `step` (counted from 1 over the whole run)."""

    def __init__(self, variable, step, steps_before):
        super().__init__()
        self.variable, self.step, self.seen = variable, step, steps_before

    def on_train_batch_begin(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            self.variable.assign(tf.fill(self.variable.shape, np.nan))


def all_finite(checkpoint):
    return all(np.all(np.isfinite(v)) for v in stored(checkpoint).values() if np.asarray(v).dtype.kind == "f")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["generator", "ema_generator"])
def test_non_finite_step_stops_training_and_saves_nothing(tmp_path, target):
    """A NaN in G makes the losses NaN (caught after the step); one in G's moving average leaves the losses finite
    and is caught before the save. Either way the last good checkpoint stays and --resume finishes the run."""
    config = tiny_config(**{"train.epochs": 1, "train.checkpoint_every_steps": 1, "train.ema_decay": 0.9})
    training.train(config, tmp_path / "run", verbose=0)  # 3 good steps, saved
    good = RunDir(tmp_path / "run").latest_checkpoint()
    keras_mtime = (tmp_path / "run" / "generator.keras").stat().st_mtime_ns

    config = config.replace(**{"train.epochs": 3})
    run = training.open_run(config, tmp_path / "probe")  # the variable to poison, found by its place in G
    index = [v.path for v in run.gan.generator.weights].index(run.gan.generator.weights[0].path)

    class Poison(PoisonAt):
        def on_train_begin(self, logs=None):
            net = self.model.generator if target == "generator" else self.model.ema_generator
            self.variable = net.weights[index]

    with pytest.raises(training.NonFiniteError, match=r"step 5 \(epoch 2, batch 2 of 3\)") as error:
        training.train(config, tmp_path / "run", resume=True, verbose=0, callbacks_extra=[Poison(None, 5, 3)])
    if target == "generator":  # the losses of that step are NaN
        assert "_loss = nan" in str(error.value)
    else:  # the losses are finite; the save refuses the average's weight
        assert "variable generator_ema/" in str(error.value) and "is not finite" in str(error.value)
    latest = RunDir(tmp_path / "run").latest_checkpoint()
    assert latest.endswith("ckpt-4") and all_finite(latest) and latest != good
    assert (tmp_path / "run" / "generator.keras").stat().st_mtime_ns == keras_mtime  # not rewritten

    resumed = training.train(config, tmp_path / "run", resume=True, verbose=0)
    assert int(resumed.step.numpy()) == 9 and all_finite(RunDir(tmp_path / "run").latest_checkpoint())
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["epochs"] == 3
