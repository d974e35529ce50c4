"""gan3d_tf: 3D-GAN (Wu et al., NIPS 2016) in TensorFlow 2 / Keras 3.

Importing the package registers every Keras class it saves, so `.keras` files
written by `train.py` (generator, discriminator, encoder) load with
`keras.saving.load_model(path)` after `import gan3d_tf`, also with safe_mode=True.

Layout (dependencies point down the list, never up):
    cli/         the entry points' argument parsing (train.py, evaluate.py, export.py call these)
    serving/     TF Serving SavedModels, .keras exports, pretrained-model folders
    evaluation/  sampling, classification from D's features, 3D-VAE-GAN reconstruction
    training/    builders, the run directory (`RunDir`), the fit loop, callbacks
    models/      networks, layers, `GAN3D`, `VAEGAN3D`, losses, augmentation
    metrics/, visual/, data/, config   NumPy/TF functions, pictures, data sets, typed configs

Importing the package before TensorFlow also turns TensorFlow's oneDNN CPU
kernels on (`TF_ENABLE_ONEDNN_OPTS=1`), which TensorFlow 2.21 leaves off on
CPUs without AVX-512 and which trains 1.3-1.9x faster there; a value the user
has set in the environment (`TF_ENABLE_ONEDNN_OPTS=0` turns it off) wins.
TensorFlow's informational start-up lines are kept in
`gan3d_tf.tf_startup.STARTUP_LOG` instead of being printed (twice);
warnings and errors are still printed, once.
"""

import os as _os
import sys as _sys

if "tensorflow" not in _sys.modules:  # read once, when TensorFlow's library loads
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from gan3d_tf.tf_startup import import_tensorflow as _import_tensorflow

_import_tensorflow()  # without TensorFlow's start-up lines, printed twice otherwise (gan3d_tf.tf_startup)

from gan3d_tf.config import PRESETS, Config, DataConfig, ModelConfig, TrainConfig, get_preset  # noqa: E402
from gan3d_tf.models import (  # noqa: E402
    GAN3D,
    VAEGAN3D,
    Discriminator,
    Encoder,
    Generator,
    LinearHead,
    MinibatchStddev,
    Reparameterize,
)

__all__ = [
    "GAN3D",
    "PRESETS",
    "VAEGAN3D",
    "Config",
    "DataConfig",
    "Discriminator",
    "Encoder",
    "Generator",
    "LinearHead",
    "MinibatchStddev",
    "ModelConfig",
    "Reparameterize",
    "TrainConfig",
    "get_preset",
]
