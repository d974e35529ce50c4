"""Train a 3D-GAN or 3D-VAE-GAN: `python train.py --help` (the code is in gan3d_tf/cli/train.py)."""

import sys

from gan3d_tf.cli.train import main, parse_args, resolve_config  # noqa: F401  (train.parse_args etc. for scripts)

if __name__ == "__main__":
    sys.exit(main())
