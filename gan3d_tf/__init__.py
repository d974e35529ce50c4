"""gan3d_tf: 3D-GAN (Wu et al., NIPS 2016) in TensorFlow 2 / Keras 3.

Importing the package registers its Keras classes, so `.keras` files written
by `train.py` load with `keras.saving.load_model(path)` after `import gan3d_tf`.
"""

from gan3d_tf.config import PRESETS, Config, DataConfig, ModelConfig, TrainConfig, get_preset
from gan3d_tf.discriminator import Discriminator
from gan3d_tf.gan3d import GAN3D
from gan3d_tf.generator import Generator
from gan3d_tf.linear_head import LinearHead

__all__ = [
    "PRESETS",
    "Config",
    "DataConfig",
    "Discriminator",
    "GAN3D",
    "Generator",
    "LinearHead",
    "ModelConfig",
    "TrainConfig",
    "get_preset",
]
