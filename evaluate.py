"""Evaluate and use a trained run: `python evaluate.py --help` (the code is in gan3d_tf/cli/evaluate.py)."""

import sys

from gan3d_tf.cli.evaluate import main, parse_args  # noqa: F401  (evaluate.parse_args etc. for scripts)

if __name__ == "__main__":
    sys.exit(main())
