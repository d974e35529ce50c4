"""`GenerationMonitor`: a callback that scores the generator's shapes against real ones during training."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from gan3d_tf.metrics.gate import gate_failures
from gan3d_tf.metrics.generation import generation_report
from gan3d_tf.models.batched import predict_batched

LOG_KEYS = {
    "cov": "gen_cov",
    "mmd": "gen_mmd",
    "one_nna": "gen_1nna",
    "mean_pairwise_iou": "gen_pairwise_iou",
    "n_empty": "gen_empty",
    "n_near_empty": "gen_near_empty",
    "n_fragmented": "gen_fragmented",
    "gate": "gen_gate",
}
"""Report entry -> key added to the epoch's `logs` (History, console line)."""


class GenerationMonitor(keras.callbacks.Callback):
    """Every `every` epochs and on the last one, generates shapes from a fixed
    latent batch and scores them against reference shapes (IoU distance).

    The shapes come from `model.sampling_generator` when the model has one
    (e.g. the moving average of G), else `model.generator`, called with
    `training=False` in batches of 32. The scores of
    `gan3d_tf.metrics.generation.generation_report` are written as
    TensorBoard scalars `generation/cov`, `generation/mmd`,
    `generation/one_nna`, `generation/mean_pairwise_iou`,
    `generation/occupancy`, `generation/n_empty`, `generation/n_near_empty`,
    `generation/n_fragmented` (`gan3d_tf.metrics.quality`),
    `generation/gate` (1 when the reading passes `gan3d_tf.metrics.gate`)
    and `generation/step` (the train steps done), all at step epoch + 1, and
    added to the epoch's logs (`LOG_KEYS`). One warning line goes to
    `print_fn` when the samples have collapsed (mean pairwise IoU above
    `collapse_iou`) or more than half of them are empty. With
    `stop_at_gate`, training stops at the first reading that passes the
    gate (and one line says so).

    Args:
        reference: [m, R, R, R] real shapes at the generator's resolution.
        z: [n, z_dim] fixed latent vectors (n >= 2), drawn from the
            generator's prior.
        log_dir: directory of the TensorBoard event file.
        every: score every this many epochs (>= 1).
        threshold: occupancy level above which a voxel is filled.
        collapse_iou: mean pairwise IoU above which the samples count as
            collapsed.
        print_fn: where the warning line goes.
        stop_at_gate: stop training at the first reading that passes the gate.
    """

    def __init__(
        self,
        reference,
        z,
        log_dir,
        every: int = 1,
        threshold: float = 0.5,
        collapse_iou: float = 0.9,
        print_fn=print,
        stop_at_gate: bool = False,
    ):
        super().__init__()
        self.reference = np.asarray(reference)
        self.z = np.asarray(z, np.float32)
        if self.reference.ndim != 4 or not len(self.reference):
            raise ValueError(f"reference must have shape [m, R, R, R] with m >= 1, got {self.reference.shape}")
        if self.z.ndim != 2 or len(self.z) < 2:
            raise ValueError(f"z must have shape [n, z_dim] with n >= 2, got {self.z.shape}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.log_dir = str(log_dir)
        self.every = every
        self.threshold = threshold
        self.collapse_iou = collapse_iou
        self.print_fn = print_fn
        self.stop_at_gate = stop_at_gate
        self._writer = None

    def generate(self) -> np.ndarray:
        """The shapes of the fixed latent batch, float32 [n, R, R, R]."""
        generator = getattr(self.model, "sampling_generator", self.model.generator)
        return predict_batched(generator, self.z, 32)

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_train_end(self, logs=None):
        self._writer.close()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and epoch + 1 != self.params.get("epochs"):
            return
        report = generation_report(self.generate(), self.reference, self.threshold)
        failures = gate_failures(report)
        steps = getattr(self.model, "steps_done", None)
        scalars = {
            **report["iou"],
            **{
                k: report[k]
                for k in (
                    "mean_pairwise_iou",
                    "occupancy",
                    "n_empty",
                    "n_near_empty",
                    "n_fragmented",
                    "reference_mean_pairwise_iou",
                )
                if report[k] is not None
            },
            "gate": float(not failures),
            **({"step": int(steps.numpy())} if steps is not None else {}),
        }
        with self._writer.as_default():
            for name, value in scalars.items():
                tf.summary.scalar(f"generation/{name}", value, step=epoch + 1)
        self._writer.flush()
        if logs is not None:
            logs.update({key: scalars[name] for name, key in LOG_KEYS.items()})
        problems = []
        if report["mean_pairwise_iou"] > self.collapse_iou:
            problems.append(f"collapsed (mean pairwise IoU {report['mean_pairwise_iou']:.3f} > {self.collapse_iou})")
        if report["n_empty"] > report["n_samples"] / 2:
            problems.append(f"empty: {report['n_empty']} of {report['n_samples']} samples have no filled voxel")
        if problems:
            self.print_fn(f"GenerationMonitor: epoch {epoch + 1}: warning: samples " + "; ".join(problems))
        if self.stop_at_gate and not failures:
            self.print_fn(
                f"GenerationMonitor: epoch {epoch + 1}: the held-out reading passes the gate; "
                f"stopping (train.stop_at_gate)"
            )
            self.model.stop_training = True
