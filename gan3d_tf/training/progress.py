"""`RunProgress`: the whole run's plan and time estimate on the console, beside Keras's per-epoch progress.

At the start `plan_line` states the planned steps; after the first epoch this
process trains, `RunProgress` prints the estimated total time; with
`every_epoch` (train.py when its output is not a terminal, where Keras prints
one line per epoch and no bar) it adds the whole run's ETA after every epoch.
The pace leaves out the first epoch once a later one is measured: it holds
TensorFlow's tracing.
"""

from __future__ import annotations

import time

import keras


def format_duration(seconds: float) -> str:
    """'43 s', '12 min 5 s', '3 h 4 min'.

    Args:
        seconds: a duration.
    """
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def plan_line(epochs: int, steps_per_epoch: int, batch_size: int, n_train: int, done: int) -> str:
    """The run's plan: epochs, steps and where it starts.

    Args:
        epochs: epochs to reach.
        steps_per_epoch: steps of one epoch.
        batch_size: the global batch.
        n_train: the training shapes (without the held-out ones).
        done: steps already done (a resumed run).
    """
    total = epochs * steps_per_epoch
    start = (
        f"resuming at step {done:,} (epoch {done // steps_per_epoch}): {max(total - done, 0):,} steps left"
        if done
        else "the time estimate follows the first epoch"
    )
    return (
        f"plan: {epochs} epochs x {steps_per_epoch} steps (batch {batch_size} of {n_train:,} training shapes) "
        f"= {total:,} steps; {start}"
    )


class RunProgress(keras.callbacks.Callback):
    """Prints the estimated total time after the first epoch, and with `every_epoch` the run's ETA after each.

    One instance serves every `fit` of a run (a resumed run fits its unfinished epoch first).

    Args:
        epochs: epochs the run reaches.
        steps_per_epoch: steps of one epoch.
        done: steps done before this process started.
        every_epoch: also print the ETA after every later epoch.
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, epochs: int, steps_per_epoch: int, done: int, every_epoch: bool, clock=time.monotonic):
        super().__init__()
        self.total, self.steps, self.start_step = epochs * steps_per_epoch, steps_per_epoch, done
        self.every_epoch, self.clock = every_epoch, clock
        self.t0 = None
        self.first = None  # (time, step) at the end of the first epoch this process trained

    def on_train_begin(self, logs=None):
        if self.t0 is None:
            self.t0 = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        now, step = self.clock(), (epoch + 1) * self.steps
        left = self.total - step
        if self.first is None:
            self.first = (now, step)
            pace = (now - self.t0) / max(step - self.start_step, 1)
            print(
                f"run: the first epoch took {format_duration(now - self.t0)} ({pace:.2f} s/step, with start-up); "
                f"the {self.total:,} steps take about {format_duration(pace * self.total)} in all, "
                f"{format_duration(pace * left)} from now{self._at(pace * left)}",
                flush=True,
            )
            return
        if not self.every_epoch:
            return
        t, s = self.first
        pace = (now - t) / max(step - s, 1)
        print(
            f"run: epoch {epoch + 1} of {self.total // self.steps}, step {step:,} of {self.total:,}, "
            f"{pace:.2f} s/step, ETA {format_duration(pace * left)}{self._at(pace * left)}",
            flush=True,
        )

    @staticmethod
    def _at(seconds: float) -> str:
        """' (around 17:45)' or ' (around Tue 17:45)' beyond a day; '' when nothing is left."""
        if seconds <= 0:
            return ""
        when = time.localtime(time.time() + seconds)
        return time.strftime(" (around %a %H:%M)" if seconds > 86400 else " (around %H:%M)", when)
