"""Running a network over an array in batches (inference mode), the one way every caller does it."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def predict_batched(network, x: np.ndarray, batch_size: int = 32, compiled: bool = False):
    """network(batch, training=False) over x in batches of `batch_size`, outputs concatenated as float32.

    Args:
        network: a Keras model (or any callable taking `training=`); one
            output or a tuple / list of outputs.
        x: the inputs, [N, ...].
        batch_size: rows per call.
        compiled: trace the call once with `tf.function` (faster for many batches).

    Returns:
        float32 [N, ...], or a tuple of them for a network with several outputs.
    """
    if len(x) == 0:
        raise ValueError("predict_batched needs at least one input row")

    def forward(b):
        return network(b, training=False)

    if compiled:
        forward = tf.function(forward)
    parts = [forward(tf.constant(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    if isinstance(parts[0], (tuple, list)):
        return tuple(
            np.concatenate([np.asarray(tf.cast(p[k], tf.float32)) for p in parts]) for k in range(len(parts[0]))
        )
    return np.concatenate([np.asarray(tf.cast(p, tf.float32)) for p in parts])
