"""`python -m gan3d_tf.bench`: the benchmark's command line (`gan3d_tf.bench.cli.main`)."""

import sys

from gan3d_tf.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
