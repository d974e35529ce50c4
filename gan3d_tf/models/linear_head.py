"""A fixed linear classifier head: scores, probabilities, class id and class name."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gan3d_tf")
class LinearHead(keras.layers.Layer):
    """scores = features @ w + b; probabilities = softmax(temperature * scores).

    Holds a linear classifier trained elsewhere (the folded SVM of
    `gan3d_tf.serving.export`); set its weights with `set_weights([w, b])`. Its
    weights are not trainable.

    Args:
        n_features: length F of the input feature vectors.
        classes: the C class names, in score order.
        temperature: multiplier of the scores inside the softmax.
        **kwargs: passed to `keras.layers.Layer`.

    Call:
        features: float [batch, F].
        Returns {"scores": float32 [batch, C], "probabilities": float32
        [batch, C], "class_id": int64 [batch], "class_name": string [batch]}.
    """

    def __init__(self, n_features, classes, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.n_features = int(n_features)
        self.classes = [str(c) for c in classes]
        self.temperature = float(temperature)
        self.w = self.add_weight(
            shape=(self.n_features, len(self.classes)), initializer="zeros", trainable=False, name="w", dtype="float32"
        )
        self.b = self.add_weight(
            shape=(len(self.classes),), initializer="zeros", trainable=False, name="b", dtype="float32"
        )
        self.built = True  # the weights' shapes come from the arguments, not from the input

    def call(self, features):
        scores = tf.matmul(tf.cast(features, tf.float32), self.w) + self.b
        class_id = tf.argmax(scores, axis=1)
        return {
            "scores": scores,
            "probabilities": tf.nn.softmax(self.temperature * scores, axis=1),
            "class_id": class_id,
            "class_name": tf.gather(tf.constant(self.classes), class_id),
        }

    def get_config(self):
        return dict(
            super().get_config(), n_features=self.n_features, classes=self.classes, temperature=self.temperature
        )
