"""The networks and training models: G, D, the image encoder, their layers, `GAN3D`, `VAEGAN3D`, losses.

Importing this package registers every Keras class the project saves, so
`.keras` files load with `keras.saving.load_model` (also with safe_mode=True).
"""

from gan3d_tf.models.discriminator import Discriminator
from gan3d_tf.models.encoder import Encoder
from gan3d_tf.models.gan3d import GAN3D
from gan3d_tf.models.generator import Generator
from gan3d_tf.models.linear_head import LinearHead
from gan3d_tf.models.minibatch_stddev import MinibatchStddev
from gan3d_tf.models.reparameterize import Reparameterize
from gan3d_tf.models.vaegan3d import VAEGAN3D

__all__ = [
    "Discriminator",
    "Encoder",
    "GAN3D",
    "Generator",
    "LinearHead",
    "MinibatchStddev",
    "Reparameterize",
    "VAEGAN3D",
]
