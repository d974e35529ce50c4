"""Metrics on voxel grids (NumPy / TensorFlow functions, no models): IoU, generation (COV, MMD, 1-NNA),
reconstruction (average precision)."""
