"""gan3d_tf: 3D-GAN (Wu et al., NIPS 2016) in TensorFlow 2 / Keras 3.

Importing the package registers its Keras classes, so `.keras` files written
by `train.py` load with `keras.saving.load_model(path)` after `import gan3d_tf`.

Importing the package before TensorFlow also turns TensorFlow's oneDNN CPU
kernels on (`TF_ENABLE_ONEDNN_OPTS=1`), which TensorFlow 2.21 leaves off on
CPUs without AVX-512 and which trains 1.3-1.9x faster there; a value the user
has set in the environment (`TF_ENABLE_ONEDNN_OPTS=0` turns it off) wins.
"""

import os as _os
import sys as _sys

if "tensorflow" not in _sys.modules:  # read once, when TensorFlow's library loads
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

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
