"""Benchmarks outside the `gan3d_tf` package (the PyTorch reference of `python -m gan3d_tf.bench --vs-torch`)."""
