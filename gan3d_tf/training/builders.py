"""Building the networks a `Config` describes (every network of a run is made here)."""

from __future__ import annotations

import tensorflow as tf

from gan3d_tf.config import Config, ModelConfig
from gan3d_tf.models.discriminator import Discriminator
from gan3d_tf.models.encoder import Encoder
from gan3d_tf.models.generator import Generator


def dtype_policy(mixed_precision: bool) -> str | None:
    """The Keras dtype policy: bf16 on CPU, fp16 on GPU, None for float32."""
    if not mixed_precision:
        return None
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"


def build_generator(m: ModelConfig, dtype=None) -> Generator:
    """The generator described by a `ModelConfig`."""
    return Generator(
        m.z_dim, m.g_widths, m.bn_momentum, m.z_distribution, dtype=dtype, output_bias=m.g_output_bias, name="generator"
    )


def build_discriminator(m: ModelConfig, dtype=None) -> Discriminator:
    """The discriminator described by a `ModelConfig`."""
    return Discriminator(
        m.d_widths, m.leaky_slope, m.bn_momentum, m.d_norm, m.d_minibatch_std, dtype=dtype, name="discriminator"
    )


def build_encoder(config: Config, dtype=None) -> Encoder:
    """The 3D-VAE-GAN image encoder described by a `Config`."""
    v = config.vaegan
    return Encoder(config.model.z_dim, v.e_widths, v.image_size, config.model.bn_momentum, dtype=dtype, name="encoder")
