"""`python tests/train_child.py ARGS`: train.py's main with deterministic TensorFlow kernels.

For tests that run training in a child process (to kill it) and compare its
weights bit for bit with another run.

With KILL_IN_SAVE=STEP:POINT in the environment the child kills itself
(SIGKILL) inside the save of checkpoint ckpt-STEP, at POINT:

    data   the variables are written (into ckpt-STEP_temp/), the checkpoint's
           files are not yet merged into place (no ckpt-STEP.index)
    index  ckpt-STEP's files are complete, the checkpoint manager has not yet
           recorded it in its index (the `checkpoint` file still names the
           previous save)
"""

import os
import signal
import sys

import tensorflow as tf

from gan3d_tf.cli.train import main


def kill_inside_saves(step: int, point: str) -> None:
    """Makes this process SIGKILL itself inside the save of ckpt-`step`, at `point` ("data" or "index")."""
    from tensorflow.python.checkpoint import checkpoint_management, functional_saver

    def die():
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "data":  # TensorFlow writes the shards, then merges them into <prefix>.index / .data-*
        io_ops = functional_saver.gen_io_ops
        merge = io_ops.merge_v2_checkpoints

        def merge_or_die(checkpoint_prefixes, destination_prefix, *args, **kwargs):
            if os.path.basename(tf.convert_to_tensor(destination_prefix).numpy().decode()) == f"ckpt-{step}":
                die()
            return merge(checkpoint_prefixes, destination_prefix, *args, **kwargs)

        io_ops.merge_v2_checkpoints = merge_or_die
    elif point == "index":  # then the manager records the new checkpoint in its `checkpoint` file
        manager = checkpoint_management.CheckpointManager
        record = manager._record_state

        def record_or_die(self):
            if os.path.basename(self.latest_checkpoint) == f"ckpt-{step}":
                die()
            return record(self)

        manager._record_state = record_or_die
    else:
        raise ValueError(f"KILL_IN_SAVE: unknown point {point!r}")


if __name__ == "__main__":
    if os.environ.get("KILL_IN_SAVE"):
        kill_step, kill_point = os.environ["KILL_IN_SAVE"].split(":")
        kill_inside_saves(int(kill_step), kill_point)
    tf.config.experimental.enable_op_determinism()
    sys.exit(main(sys.argv[1:]))
