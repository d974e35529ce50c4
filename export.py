"""Export a trained run for TF Serving and Keras: `python export.py --help` (code: gan3d_tf/cli/export.py)."""

import sys

from gan3d_tf.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
