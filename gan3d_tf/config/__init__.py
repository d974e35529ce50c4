"""Typed run configuration with named presets (`core`), the train step's recipe (`recipe`), fields that
declare themselves (`options`), old configs (`legacy`) and the resolution from train.py's flags (`resolve`)."""

from gan3d_tf.config.core import (
    ALGORITHMS,
    D_NORMS,
    FIXED_G_RECIPES,
    LATENT_LOSSES,
    PRESETS,
    RECIPES,
    RECON_LOSSES,
    SCENES,
    Z_DISTRIBUTIONS,
    Config,
    DataConfig,
    ModelConfig,
    TrainConfig,
    VAEGANConfig,
    default_preset,
    get_preset,
    parse_set,
)
from gan3d_tf.config.recipe import D_PASSES, LOSSES, GANRecipe

__all__ = [
    "ALGORITHMS",
    "D_NORMS",
    "D_PASSES",
    "FIXED_G_RECIPES",
    "LATENT_LOSSES",
    "LOSSES",
    "PRESETS",
    "RECIPES",
    "RECON_LOSSES",
    "SCENES",
    "Z_DISTRIBUTIONS",
    "Config",
    "DataConfig",
    "GANRecipe",
    "ModelConfig",
    "TrainConfig",
    "VAEGANConfig",
    "default_preset",
    "get_preset",
    "parse_set",
]
