"""`MinibatchStddev`: lets D see how varied a batch is (Karras et al. 2018, ProGAN)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gan3d_tf")
class MinibatchStddev(keras.layers.Layer):
    """Appends one channel: the standard deviation of the features across a group of samples.

    The batch is cut into groups of `group_size` consecutive samples (the
    largest divisor of the batch size up to `group_size`); within each group
    the standard deviation of every feature over the group's samples is
    averaged into one number, which is appended to each of the group's
    samples as a constant extra channel. A generator that draws one shape for
    every z gives groups with a deviation near 0, which D can then reject:
    the standard remedy for mode collapse (ProGAN, StyleGAN).

    Groups are consecutive samples, so when D scores concat(real, fake) in
    one pass and the batch size is a multiple of `group_size`, no group mixes
    real and generated shapes. A batch of one sample gets a zero channel.

    Args:
        group_size: samples per group (at most; 4 in ProGAN / StyleGAN).
        **kwargs: passed to `keras.layers.Layer`.

    Call:
        x: [batch, ..., channels] features. Returns [batch, ..., channels + 1].
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size = int(group_size)

    def call(self, x):
        shape = tf.shape(x)
        batch = shape[0]
        candidates = tf.range(tf.minimum(self.group_size, batch), 0, -1)  # group_size, ..., 1
        group = tf.gather(candidates, tf.argmax(tf.cast(batch % candidates == 0, tf.int32)))
        grouped = tf.reshape(x, tf.concat([[batch // group, group], shape[1:]], 0))
        grouped = tf.cast(grouped, tf.float32)
        std = tf.sqrt(tf.math.reduce_variance(grouped, axis=1) + 1e-8)  # [groups, ..., channels]
        per_group = tf.reduce_mean(std, axis=tf.range(1, tf.rank(std)))  # [groups]
        per_sample = tf.repeat(per_group, group)  # [batch]
        channel = tf.ones_like(x[..., :1]) * tf.cast(tf.reshape(per_sample, [-1] + [1] * (len(x.shape) - 1)), x.dtype)
        return tf.concat([x, channel], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1 if input_shape[-1] is not None else None,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
