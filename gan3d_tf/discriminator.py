"""The 3D-GAN discriminator: an R^3 occupancy grid to one real/fake logit."""

from __future__ import annotations

import keras
from keras import layers

#: Number of last hidden layers whose activations form the classification features.
N_FEATURE_LAYERS = 3
#: Side of the max-pooled grid each feature layer is reduced to.
FEATURE_POOL = 2


@keras.saving.register_keras_serializable(package="gan3d_tf")
class Discriminator(keras.Model):
    """3D-GAN discriminator, the mirror of `Generator`.

    1 x R^3 -> widths[0] x (R/2)^3 -> ... -> widths[-1] x 4^3 (convs, kernel 4,
    stride 2, LeakyReLU) -> one logit (conv, kernel 4, `valid`). Batch norm
    follows every hidden conv except the first (as in DCGAN: normalising the
    raw input layer destabilises training). Convs followed by batch norm have
    no bias; the first conv and the logit conv do.

    Args:
        widths: channels of the hidden volumes from (R/2)^3 down to 4^3; the
            input resolution is 4 * 2**len(widths).
        leaky_slope: negative slope of the LeakyReLUs.
        bn_momentum: batch-norm moving-average momentum.
        dtype: Keras dtype policy; the logit is always float32.
        **kwargs: passed to `keras.Model`.

    Call:
        voxels: float tensor [batch, R, R, R] of occupancies in [0, 1].
        Returns float32 logits [batch] (> 0 means "real").
    """

    def __init__(self, widths=(64, 128, 256, 512), leaky_slope=0.2, bn_momentum=0.9, dtype=None, **kwargs):
        widths = tuple(int(w) for w in widths)
        resolution = 4 * 2 ** len(widths)
        voxels = keras.Input((resolution,) * 3, name="voxels")
        x = layers.Reshape((resolution,) * 3 + (1,), dtype=dtype, name="add_channel")(voxels)
        for i, width in enumerate(widths):
            x = layers.Conv3D(
                width, 4, strides=2, padding="same", use_bias=i == 0, dtype=dtype, name=f"conv{i + 1}"
            )(x)
            if i > 0:
                x = layers.BatchNormalization(momentum=bn_momentum, synchronized=True, dtype=dtype, name=f"bn{i + 1}")(x)
            x = layers.LeakyReLU(leaky_slope, dtype=dtype, name=f"lrelu{i + 1}")(x)
        x = layers.Conv3D(1, 4, padding="valid", dtype=dtype, name=f"conv{len(widths) + 1}")(x)
        logits = layers.Reshape((), dtype="float32", name="logit")(x)
        super().__init__(inputs=voxels, outputs=logits, dtype=dtype, **kwargs)
        if dtype is not None:  # functional models drop `dtype`; keep it for get_config
            self.dtype_policy = dtype
        self.widths = widths
        self.leaky_slope = leaky_slope
        self.bn_momentum = bn_momentum
        self.resolution = resolution

    def feature_layer_names(self) -> list[str]:
        """Names of the hidden activations used as features (the last three, or all when fewer)."""
        n = len(self.widths)
        return [f"lrelu{i + 1}" for i in range(max(n - N_FEATURE_LAYERS, 0), n)]

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "widths": list(self.widths),
            "leaky_slope": self.leaky_slope,
            "bn_momentum": self.bn_momentum,
        }
