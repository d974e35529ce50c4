"""The 3D-GAN generator: a latent vector z to an R^3 occupancy grid."""

from __future__ import annotations

import keras
from keras import layers

from gan3d_tf.config import Z_DISTRIBUTIONS


@keras.saving.register_keras_serializable(package="gan3d_tf")
class Generator(keras.Model):
    """3D-GAN generator (Wu et al. 2016, Fig. 1).

    z -> widths[0] x 4^3 (transposed conv, kernel 4, stride 1, `valid`) ->
    widths[1] x 8^3 -> ... -> 1 x R^3 (transposed convs, kernel 4, stride 2),
    batch norm + ReLU after every hidden layer, no biases, sigmoid output.
    With the defaults this is the paper's 200 -> 512x4^3 -> 256x8^3 ->
    128x16^3 -> 64x32^3 -> 1x64^3 network.

    Args:
        z_dim: size of the latent vector.
        widths: channels of the hidden volumes, from 4^3 upwards; the output
            resolution is 4 * 2**len(widths).
        bn_momentum: batch-norm moving-average momentum.
        z_distribution: the prior G is trained with, "uniform" (i.i.d.
            U[0, 1], as in the authors' release) or "normal" (N(0, 1)); kept
            with the model so that samplers draw z the way training did.
        dtype: Keras dtype policy (e.g. "mixed_bfloat16"); the output is
            always float32.
        output_bias: None (the paper: no bias anywhere), or the initial
            value of a bias on the last layer; logit(p) starts G near
            occupancy p instead of 0.5 (the prior initialisation of Lin et al.
            2017 for sparse targets).
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Call:
        z: float tensor [batch, z_dim]. Returns float32 occupancy
        probabilities [batch, R, R, R].
    """

    def __init__(
        self,
        z_dim=200,
        widths=(512, 256, 128, 64),
        bn_momentum=0.9,
        z_distribution="uniform",
        dtype=None,
        output_bias=None,
        **kwargs,
    ):
        if z_distribution not in Z_DISTRIBUTIONS:
            raise ValueError(f"z_distribution must be one of {Z_DISTRIBUTIONS}, got {z_distribution!r}")
        widths = tuple(int(w) for w in widths)
        resolution = 4 * 2 ** len(widths)
        z = keras.Input((z_dim,), name="z")
        x = layers.Reshape((1, 1, 1, z_dim), dtype=dtype, name="to_volume")(z)
        for i, width in enumerate(widths):
            x = layers.Conv3DTranspose(
                width,
                4,
                strides=1 if i == 0 else 2,
                padding="valid" if i == 0 else "same",
                use_bias=False,
                dtype=dtype,
                name=f"deconv{i + 1}",
            )(x)
            x = layers.BatchNormalization(momentum=bn_momentum, synchronized=True, dtype=dtype, name=f"bn{i + 1}")(x)
            x = layers.ReLU(dtype=dtype, name=f"relu{i + 1}")(x)
        x = layers.Conv3DTranspose(
            1,
            4,
            strides=2,
            padding="same",
            use_bias=output_bias is not None,
            dtype=dtype,
            bias_initializer=keras.initializers.Constant(0.0 if output_bias is None else float(output_bias)),
            name=f"deconv{len(widths) + 1}",
        )(x)
        x = layers.Activation("sigmoid", dtype="float32", name="sigmoid")(x)
        voxels = layers.Reshape((resolution,) * 3, dtype="float32", name="voxels")(x)
        super().__init__(inputs=z, outputs=voxels, dtype=dtype, **kwargs)
        if dtype is not None:  # functional models drop `dtype`; keep it for get_config
            self.dtype_policy = dtype
        self.z_dim = z_dim
        self.widths = widths
        self.bn_momentum = bn_momentum
        self.z_distribution = z_distribution
        self.output_bias = None if output_bias is None else float(output_bias)
        self.resolution = resolution

    def logits(self, z, training=False):
        """The occupancy logits of `z` (float32 [batch, R, R, R]): the layers of `call` without the sigmoid."""
        x = z
        for layer in self.layers[1:]:  # after the InputLayer
            if layer.name != "sigmoid":
                x = layer(x, training=training)
        return keras.ops.cast(x, "float32")

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "z_dim": self.z_dim,
            "widths": list(self.widths),
            "bn_momentum": self.bn_momentum,
            "z_distribution": self.z_distribution,
            "output_bias": self.output_bias,
        }
