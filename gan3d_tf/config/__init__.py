"""Typed run configuration with named presets (`core`), and its resolution from train.py's flags (`resolve`)."""

from gan3d_tf.config.core import (
    ALGORITHMS, AUGMENTS, D_NORMS, D_PASSES, FIXED_G_RECIPES, LATENT_LOSSES, LOSSES, PRESETS, RECIPES, RECON_LOSSES, SCENES, Z_DISTRIBUTIONS, Config, DataConfig,
    ModelConfig, TrainConfig, VAEGANConfig, default_preset, get_preset, parse_set,
)

__all__ = ["ALGORITHMS", "AUGMENTS", "D_NORMS", "D_PASSES", "FIXED_G_RECIPES", "LATENT_LOSSES", "LOSSES", "PRESETS", "RECIPES", "RECON_LOSSES", "SCENES",
           "Z_DISTRIBUTIONS", "Config", "DataConfig", "ModelConfig", "TrainConfig", "VAEGANConfig", "default_preset",
           "get_preset", "parse_set"]
