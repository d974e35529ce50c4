"""Drawing samples from a trained generator: arrays, generation metrics, files (npz, PNG grid, OBJ meshes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan3d_tf.data.voxel_npz import load_voxel_npz
from gan3d_tf.metrics.generation import generation_report
from gan3d_tf.metrics.iou import mean_pairwise_iou
from gan3d_tf.models.batched import predict_batched
from gan3d_tf.models.gan3d import sample_z
from gan3d_tf.models.generator import Generator
from gan3d_tf.visual.mesh import write_meshes
from gan3d_tf.visual.render import render_grid, save_png


def generate(generator: Generator, n: int, seed: int = 0, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Draws n latent vectors from the generator's prior and decodes them.

    Returns:
        (z [n, z_dim], occupancy probabilities [n, R, R, R]) as float32 arrays.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = tf.random.Generator.from_seed(seed)
    z = sample_z(rng, n, generator.z_dim, generator.z_distribution).numpy()
    return z, predict_batched(generator, z, batch_size)


def generator_report(generator: Generator, data_path, category: str, split: str = "test", n: int = 100,
                     seed: int = 0, chamfer: bool = False, held_out: tuple[float, int] | None = None) -> dict:
    """COV, MMD, 1-NNA (and occupancy, empty samples, pairwise IoU) of n samples against real shapes.

    Also scores the floor: n shapes drawn (seed) from the *train* split of
    the same category, against the same reference, as a perfect generator
    would score.

    Args:
        generator: the generator to score.
        data_path: labelled voxel .npz with train and test splits.
        category: class name, several joined by commas, or "all".
        split: the reference split: "test", "train", or "heldout" (the part
            of train a run held out, given by `held_out`; the floor is then
            drawn from the rest of train).
        n: number of samples and of floor shapes.
        seed: seed of the latent draw and of the floor draw.
        chamfer: also score with the surface Chamfer distance.
        held_out: (val_fraction, seed) of the run, for split "heldout"
            (`gan3d_tf.training.split_validation`).

    Raises:
        ValueError, FileNotFoundError: from the data loader (naming file, key, category).
    """
    _, samples = generate(generator, n, seed)
    resolution = samples.shape[1]
    train = load_voxel_npz(data_path, category, "train", resolution=resolution)
    if split == "heldout":
        from gan3d_tf.training.loop import split_validation

        if held_out is None or not held_out[0]:
            raise ValueError("split 'heldout' needs the run's val_fraction > 0 and seed (a run that held shapes out)")
        train, reference = split_validation(train, *held_out)
    else:
        reference = load_voxel_npz(data_path, category, split, resolution=resolution)
    n_floor = min(n, len(train.voxels))
    pick = np.sort(np.random.default_rng(seed).choice(len(train.voxels), n_floor, replace=False))
    notes = []
    if n_floor < n:
        notes.append(f"the train split has only {n_floor} {category} shapes: the floor uses all of them")
    if split == "train":
        notes.append("the floor shapes are drawn from the reference split itself")
    return {
        "data": str(data_path), "category": category, "split": split, "n": n, "seed": seed,
        "resolution": int(resolution), "n_reference_empty_dropped": reference.n_empty_skipped,
        **generation_report(samples, reference.voxels, chamfer=chamfer),
        "floor": {
            "source": "train", "n_floor": n_floor, "n_train": len(train.voxels),
            "n_train_empty_dropped": train.n_empty_skipped, "notes": notes,
            **generation_report(train.voxels[pick], reference.voxels, chamfer=chamfer),
        },
    }


def write_samples(generator: Generator, n: int, out_dir, seed: int = 0, threshold: float = 0.5) -> dict:
    """Writes `samples.npz` (keys `voxels`, `z`), `grid.png` and `sample_NNN.obj`.

    Args:
        generator: the trained generator.
        n: number of samples.
        out_dir: output directory (created).
        seed: seed of the latent draw.
        threshold: occupancy level of the rendering and of the meshes.

    Returns:
        A summary: paths, mean occupancy, mean pairwise IoU of the samples
        (near 1: mode collapse), and how many samples were empty (no mesh is
        written for those).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    z, voxels = generate(generator, n, seed)
    np.savez_compressed(out_dir / "samples.npz", voxels=voxels, z=z)
    save_png(render_grid(voxels, threshold=threshold), out_dir / "grid.png")
    meshes, empty = write_meshes(voxels, out_dir, "sample_{:03d}.obj", threshold)
    summary = {
        "n": n,
        "seed": seed,
        "resolution": int(voxels.shape[1]),
        "mean_occupancy": float((voxels > threshold).mean()),
        "n_empty": empty,
        "mean_pairwise_iou": mean_pairwise_iou(voxels, threshold) if n > 1 else None,
        "samples": str(out_dir / "samples.npz"),
        "grid": str(out_dir / "grid.png"),
        "meshes": meshes,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
