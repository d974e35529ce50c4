"""Shipping trained runs: TF Serving SavedModels, portable `.keras` files, pretrained-model folders."""
