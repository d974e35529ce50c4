"""`python tests/train_child.py ARGS`: train.py's main with deterministic TensorFlow kernels.

For tests that run training in a child process (to kill it) and compare its
weights bit for bit with another run.
"""

import sys

import tensorflow as tf

from gan3d_tf.cli.train import main

if __name__ == "__main__":
    tf.config.experimental.enable_op_determinism()
    sys.exit(main(sys.argv[1:]))
