"""`EpochCheckpoint`: a callback that saves the whole training state every epoch."""

from __future__ import annotations

import keras
import tensorflow as tf


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves a `tf.train.CheckpointManager` checkpoint after every epoch.

    The checkpoint must hold an `epoch` variable (int64), set here to the
    number of finished epochs before saving, so `--resume` knows where to
    start.

    Args:
        manager: the checkpoint manager (its checkpoint holds G, D, both
            optimizers, the z sampler state and `epoch`).
        epoch: the `epoch` tf.Variable inside that checkpoint.
    """

    def __init__(self, manager: tf.train.CheckpointManager, epoch: tf.Variable):
        super().__init__()
        self.manager = manager
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)
