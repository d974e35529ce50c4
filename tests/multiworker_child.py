"""`python tests/multiworker_child.py DUMP.npz ARGS`: train.py's main on one worker, then that worker's state in DUMP.

For tests/test_multiworker.py: every worker of a multi-worker run (TF_CONFIG
set by the test) runs this with the same train.py flags. Deterministic
TensorFlow kernels, as in tests/train_child.py. When training ends, DUMP.npz
holds, as this worker sees them:

    net/<net>/<path>  every weight of G, D (and G's moving average when kept), by network name and variable path
    opt/<name>        the optimizers' iteration counters
    steps_done        the model's step counter
    d_acc, d_updated  the per-batch logs of this invocation's steps (running means over the epoch)
    epoch             the epoch of each of those steps
    scratch           what this worker's scratch directories held when training ended, as
                      "gan3d-<task type><index>/<entry>" (TMPDIR/gan3d-*; the chief has none)
    seen/<step>/<r>   the real batch replica r (its number among all replicas in sync) trained on at step
                      <step> (the model's step counter before the step, over all invocations)

With LOGICAL_CPUS=N in the environment (and no TF_CONFIG) it is instead one
process with N logical CPU devices, and `--strategy mirrored` trains with a
MirroredStrategy over all N (one replica each): the single-process run a
multi-worker run of N workers must equal.
"""

import os
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan3d_tf.cli.train import main
from gan3d_tf.models.gan3d import GAN3D

SEEN = {}  # (step, replica) -> the real batch that replica trained on


def record_batches(train_step):
    """GAN3D.train_step that first stores each replica's real batch in SEEN (a py_function: eager, on the host)."""

    def store(step, replica, real):
        SEEN[(int(step), int(replica))] = real.numpy()
        return step

    def wrapped(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        done = tf.py_function(store, [self.steps_done, replica, real], tf.int64)
        with tf.control_dependencies([done]):
            return train_step(self, data)

    return wrapped


class DumpState(keras.callbacks.Callback):
    """Writes the worker's weights, counters and per-batch gate logs to `path` at the end of every fit.

    Args:
        path: the .npz file to write.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.logs = {"d_acc": [], "d_updated": [], "epoch": []}
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.logs["d_acc"].append(float(logs["d_acc"]))
        self.logs["d_updated"].append(float(logs["d_updated"]))
        self.logs["epoch"].append(self.epoch)

    def on_train_end(self, logs=None):
        gan = self.model
        nets = [gan.generator, gan.discriminator] + ([gan.ema_generator] if gan.ema_generator is not None else [])
        state = {f"net/{net.name}/{v.path}": v.numpy() for net in nets for v in net.weights}
        state.update(
            {
                "opt/g_iterations": gan.g_optimizer.iterations.numpy(),
                "opt/d_iterations": gan.d_optimizer.iterations.numpy(),
                "steps_done": gan.steps_done.numpy(),
            }
        )
        scratch = Path(tempfile.gettempdir()).glob("gan3d-*")  # named gan3d-<task type><index>-<random>
        entries = [f"{d.name.rsplit('-', 1)[0]}/{e.name}" for d in scratch for e in d.iterdir()]
        state["scratch"] = np.array(sorted(entries), dtype=str)
        state.update({f"seen/{step}/{replica}": real for (step, replica), real in SEEN.items()})
        np.savez(self.path, **state, **{k: np.array(v) for k, v in self.logs.items()})


if __name__ == "__main__":
    GAN3D.train_step = record_batches(GAN3D.train_step)
    if os.environ.get("LOGICAL_CPUS"):  # one process, N replicas (before any op: devices are fixed then)
        from gan3d_tf import training

        n = int(os.environ["LOGICAL_CPUS"])
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
        make_strategy = training.make_strategy
        training.make_strategy = lambda name: (
            tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(n)])
            if name == "mirrored"
            else make_strategy(name)
        )
    tf.config.experimental.enable_op_determinism()  # no TensorFlow op runs before the strategy is made
    sys.exit(main(sys.argv[2:], callbacks_extra=[DumpState(sys.argv[1])]))
