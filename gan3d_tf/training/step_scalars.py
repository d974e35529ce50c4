"""`StepScalars`: the training scalars in TensorBoard every N steps, for runs whose epochs are long."""

from __future__ import annotations

import keras
import tensorflow as tf


class StepScalars(keras.callbacks.Callback):
    """Writes the logged training scalars every `every` steps, against the run's step count.

    Keras' own `TensorBoard(update_freq=N)` counts batches from 0 in every
    `fit`, so a resumed run would write over its own history; this callback
    reads the run's checkpointed step counter instead, so the curve of a run
    resumed mid-epoch continues where it stopped. The values are what `fit`
    reports after each batch: each tracker's mean over the epoch so far.

    Args:
        log_dir: TensorBoard directory (the run's `logs/steps`).
        step: the run's step counter (finished steps over all epochs),
            advanced by `StepCheckpoint` before this callback runs.
        every: write every this many steps (>= 1).
    """

    def __init__(self, log_dir, step: tf.Variable, every: int):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.step = step
        self.every = int(every)
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.step.numpy())
        if step % self.every:
            return
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                tf.summary.scalar(name, float(value), step=step)

    def on_train_end(self, logs=None):
        self.writer.close()
