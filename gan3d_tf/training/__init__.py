"""Training: builders, the run directory, the fit loop and its callbacks (what `train.py` calls).

Depends on `gan3d_tf.models`, `gan3d_tf.data`, `gan3d_tf.metrics` and
`gan3d_tf.visual`; evaluation and serving use it, never the reverse.
"""

from gan3d_tf.training.builders import build_discriminator, build_encoder, build_generator, dtype_policy
from gan3d_tf.training.loop import Run, build_gan, check_run_dir, fixed_z, make_strategy, open_run, train
from gan3d_tf.training.multiworker import WorkerRole, check_algorithm, parse_tf_config, worker_role
from gan3d_tf.training.run_dir import RunDir, load_network
from gan3d_tf.training.shapes import load_training_data, n_held_out, split_validation
from gan3d_tf.training.step_checkpoint import NonFiniteError, StepCheckpoint

__all__ = [
    "NonFiniteError",
    "Run",
    "RunDir",
    "StepCheckpoint",
    "WorkerRole",
    "build_discriminator",
    "build_encoder",
    "build_gan",
    "build_generator",
    "check_algorithm",
    "check_run_dir",
    "dtype_policy",
    "fixed_z",
    "load_network",
    "load_training_data",
    "make_strategy",
    "n_held_out",
    "open_run",
    "parse_tf_config",
    "split_validation",
    "train",
    "worker_role",
]
