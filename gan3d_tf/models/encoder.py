"""The 3D-VAE-GAN image encoder: one RGB image to the mean and log-variance of z."""

from __future__ import annotations

import keras
from keras import layers

#: The paper's encoder (Wu et al. 2016, Sec. 4.3): kernel sizes and strides of the five convs.
KERNELS = (11, 5, 5, 5, 8)
STRIDES = (4, 2, 2, 2, 1)


@keras.saving.register_keras_serializable(package="gan3d_tf")
class Encoder(keras.Model):
    """Image encoder E of the 3D-VAE-GAN: y [S, S, 3] -> (mean, log-variance) of q(z|y).

    Five convolutions with kernels 11, 5, 5, 5, 8 and strides 4, 2, 2, 2, 1:
    256^2 x 3 -> 64^2 x widths[0] -> 32^2 x widths[1] -> 16^2 x widths[2] ->
    8^2 x widths[3] ('same' padding, batch norm + ReLU) -> 1^2 x 2 z_dim (the
    last conv is `valid` over the 8^2 map, with a bias and no normalisation),
    as two heads: the mean and the log-variance of a diagonal Gaussian.

    Args:
        z_dim: size of the latent vector.
        widths: channels of the first four convs.
        image_size: side S of the square input image, a multiple of 32 (256 in
            the paper); the last conv's kernel is S / 32 (the paper's 8 at 256).
        bn_momentum: batch-norm moving-average momentum.
        dtype: Keras dtype policy; the outputs are always float32.
        **kwargs: passed to `keras.Model`.

    Call:
        images: float tensor [batch, S, S, 3] in [0, 1].
        Returns (mean, log_variance), each float32 [batch, z_dim].
    """

    def __init__(self, z_dim=200, widths=(64, 128, 256, 512), image_size=256, bn_momentum=0.9, dtype=None, **kwargs):
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4:
            raise ValueError(f"widths must give the channels of the first 4 convs, got {list(widths)}")
        if image_size % 32 or image_size < 64:
            raise ValueError(f"image_size must be a multiple of 32 (>= 64), got {image_size}")
        images = keras.Input((image_size, image_size, 3), name="images")
        x = layers.Rescaling(2.0, offset=-1.0, dtype=dtype, name="to_signed")(images)  # [0, 1] -> [-1, 1]
        for i, (width, kernel, stride) in enumerate(zip(widths, KERNELS, STRIDES)):
            x = layers.Conv2D(
                width, kernel, strides=stride, padding="same", use_bias=False, dtype=dtype, name=f"conv{i + 1}"
            )(x)
            x = layers.BatchNormalization(momentum=bn_momentum, synchronized=True, dtype=dtype, name=f"bn{i + 1}")(x)
            x = layers.ReLU(dtype=dtype, name=f"relu{i + 1}")(x)
        side = image_size // 32  # 8 for 256^2 input, the paper's last kernel
        # conv5 as two heads of z_dim channels each (the same as one conv of 2 z_dim channels, split)
        heads = []
        for name in ("z_mean", "z_log_variance"):
            h = layers.Conv2D(z_dim, side, padding="valid", dtype=dtype, name=f"conv5_{name[2:]}")(x)
            heads.append(layers.Flatten(dtype="float32", name=name)(h))
        mean, log_variance = heads
        super().__init__(inputs=images, outputs=[mean, log_variance], dtype=dtype, **kwargs)
        if dtype is not None:  # functional models drop `dtype`; keep it for get_config
            self.dtype_policy = dtype
        self.z_dim = z_dim
        self.widths = widths
        self.image_size = image_size
        self.bn_momentum = bn_momentum

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "z_dim": self.z_dim,
            "widths": list(self.widths),
            "image_size": self.image_size,
            "bn_momentum": self.bn_momentum,
        }
