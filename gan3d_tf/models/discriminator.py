"""The 3D-GAN discriminator: an R^3 occupancy grid to one real/fake logit."""

from __future__ import annotations

import keras
from keras import layers

from gan3d_tf.config import D_NORMS
from gan3d_tf.models.minibatch_stddev import MinibatchStddev

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

    `norm` replaces the batch norm for recipes where it does not belong:
    a gradient penalty is per sample, which batch statistics break (WGAN-GP,
    3D-IWGAN). "layer" normalises each sample over all its voxels and
    channels with a per-channel scale and offset (`GroupNormalization` with
    one group, the layer norm of WGAN-GP's critic); "none" leaves the convs
    plain (with biases); "spectral" wraps every conv, the first and the logit
    conv too, in Keras' `SpectralNormalization` (one power iteration a
    training call).

    With `minibatch_std` > 0, a `MinibatchStddev` layer (groups of that many
    samples) adds one channel before the logit conv, so that D can see a
    batch without variety (mode collapse).

    Args:
        widths: channels of the hidden volumes from (R/2)^3 down to 4^3; the
            input resolution is 4 * 2**len(widths).
        leaky_slope: negative slope of the LeakyReLUs.
        bn_momentum: batch-norm moving-average momentum.
        norm: "batch", "layer", "none" or "spectral" (see above).
        minibatch_std: group size of the minibatch standard-deviation channel
            before the logit conv (0: none, as in the paper).
        dtype: Keras dtype policy; the logit is always float32.
        **kwargs: passed to `keras.Model`.

    Call:
        voxels: float tensor [batch, R, R, R] of occupancies in [0, 1].
        Returns float32 logits [batch] (> 0 means "real").
    """

    def __init__(
        self,
        widths=(64, 128, 256, 512),
        leaky_slope=0.2,
        bn_momentum=0.9,
        norm="batch",
        minibatch_std=0,
        dtype=None,
        **kwargs,
    ):
        if norm not in D_NORMS:
            raise ValueError(f"norm must be one of {D_NORMS}, got {norm!r}")
        if int(minibatch_std) < 0:
            raise ValueError(f"minibatch_std must be >= 0 (0: off), got {minibatch_std}")
        widths = tuple(int(w) for w in widths)
        resolution = 4 * 2 ** len(widths)

        def conv(filters, name, **conv_kwargs):
            layer = layers.Conv3D(filters, 4, dtype=dtype, name=name, **conv_kwargs)
            return layers.SpectralNormalization(layer, dtype=dtype, name=f"sn_{name}") if norm == "spectral" else layer

        voxels = keras.Input((resolution,) * 3, name="voxels")
        x = layers.Reshape((resolution,) * 3 + (1,), dtype=dtype, name="add_channel")(voxels)
        for i, width in enumerate(widths):
            normalised = i > 0 and norm in ("batch", "layer")
            x = conv(width, f"conv{i + 1}", strides=2, padding="same", use_bias=not normalised)(x)
            if normalised and norm == "batch":
                x = layers.BatchNormalization(momentum=bn_momentum, synchronized=True, dtype=dtype, name=f"bn{i + 1}")(
                    x
                )
            elif normalised:
                x = layers.GroupNormalization(groups=1, dtype=dtype, name=f"ln{i + 1}")(x)
            x = layers.LeakyReLU(leaky_slope, dtype=dtype, name=f"lrelu{i + 1}")(x)
        if int(minibatch_std) > 0:
            x = MinibatchStddev(int(minibatch_std), dtype=dtype, name="minibatch_std")(x)
        x = conv(1, f"conv{len(widths) + 1}", padding="valid")(x)
        logits = layers.Reshape((), dtype="float32", name="logit")(x)
        super().__init__(inputs=voxels, outputs=logits, dtype=dtype, **kwargs)
        if dtype is not None:  # functional models drop `dtype`; keep it for get_config
            self.dtype_policy = dtype
        self.widths = widths
        self.leaky_slope = leaky_slope
        self.bn_momentum = bn_momentum
        self.norm = norm
        self.minibatch_std = int(minibatch_std)
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
            "norm": self.norm,
            "minibatch_std": self.minibatch_std,
        }
