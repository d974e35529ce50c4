"""`StepCheckpoint`: a callback that saves the whole training state at epoch ends and every N steps or M minutes,
and stops training before a non-finite loss or weight can be saved."""

from __future__ import annotations

import math
import shutil
import time

import keras
import tensorflow as tf


class NonFiniteError(FloatingPointError):
    """Training produced a non-finite loss or weight; nothing from that step on was saved."""


def first_non_finite(variables: dict) -> str | None:
    """The name of the first variable holding a NaN or an infinity, or None when all are finite.

    Args:
        variables: {name: variable}.
    """
    for name, v in variables.items():
        if not bool(tf.reduce_all(tf.math.is_finite(v))):
            return name
    return None


class StepCheckpoint(keras.callbacks.Callback):
    """Saves a `tf.train.CheckpointManager` checkpoint at every epoch end, every
    `every_steps` steps and whenever `every_minutes` have passed since the last
    save, with the semantics of Keras' `BackupAndRestore`: a run killed at any
    moment resumes from its last save (see `gan3d_tf.training.loop.train`,
    which restarts the data stream at the saved step). Checkpoints are numbered
    by the steps done (`ckpt-<step>`); TensorFlow writes each one to temporary
    files and renames them, so a kill during a save leaves the previous one.

    Before every save, and after every step, it checks that the step's logged
    losses and (before a save) every variable in `guarded` are finite; if not
    it raises `NonFiniteError` naming the step, so the last good checkpoint
    stays the latest.

    Under a multi-worker strategy every worker must save at the same steps
    (saving may run collective ops): `agree` turns the per-worker "the
    minutes are up" into one decision, and a non-chief worker's manager
    writes to a scratch directory that `discard_saves` removes after each
    save (TensorFlow's multi-worker pattern; `gan3d_tf.training.multiworker`).

    Args:
        manager: the checkpoint manager; its checkpoint holds the `epoch` and
            `step` variables below besides the networks and optimizers.
        epoch: int64 tf.Variable, epochs finished.
        step: int64 tf.Variable, steps finished (over all epochs).
        steps_per_epoch: steps in a full epoch (to name the epoch and batch of a step).
        guarded: {name: variable}, the variables that must be finite to be saved (weights, optimizer state).
        every_steps: also save every this many steps (0: off).
        every_minutes: also save when this many minutes passed since the last save (0: off).
        agree: maps this worker's "the minutes are up" to the decision of all
            workers (`multiworker.any_worker`); None: a single process.
        discard_saves: remove the manager's directory after every save (a
            non-chief worker's scratch checkpoints).
    """

    def __init__(
        self,
        manager: tf.train.CheckpointManager,
        epoch: tf.Variable,
        step: tf.Variable,
        steps_per_epoch: int,
        guarded,
        every_steps: int = 0,
        every_minutes: float = 0.0,
        agree=None,
        discard_saves: bool = False,
    ):
        super().__init__()
        self.manager, self.epoch, self.step = manager, epoch, step
        self.steps_per_epoch = int(steps_per_epoch)
        self.guarded = dict(guarded)
        self.every_steps = int(every_steps)
        self.every_seconds = 60.0 * float(every_minutes)
        self.agree = agree
        self.discard_saves = bool(discard_saves)
        self._last_save = time.monotonic()

    def where(self, step: int) -> str:
        epoch, batch = divmod(step - 1, self.steps_per_epoch)
        return f"step {step} (epoch {epoch + 1}, batch {batch + 1} of {self.steps_per_epoch})"

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.step.assign_add(1).numpy())
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                raise NonFiniteError(
                    f"{self.where(step)}: {name} = {value}; training stopped, nothing from this "
                    f"step on was saved; the last good checkpoint is {self.manager.latest_checkpoint}"
                )
        if step % self.steps_per_epoch == 0:
            return  # the epoch's last step: `on_epoch_end` saves it, with the epoch counted
        timed = bool(self.every_seconds) and time.monotonic() - self._last_save >= self.every_seconds
        if self.every_seconds and self.agree is not None:  # every worker asks, every step: the clocks differ
            timed = self.agree(timed)
        if (self.every_steps and step % self.every_steps == 0) or timed:
            self.save(step)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.assign(epoch + 1)
        self.save(int(self.step.numpy()))

    def save(self, step: int) -> None:
        bad = first_non_finite(self.guarded)
        if bad is not None:
            raise NonFiniteError(
                f"{self.where(step)}: variable {bad} is not finite; training stopped, nothing from "
                f"this step on was saved; the last good checkpoint is {self.manager.latest_checkpoint}"
            )
        self.manager.save(checkpoint_number=step)
        if self.discard_saves:
            shutil.rmtree(self.manager.directory)
        self._last_save = time.monotonic()
