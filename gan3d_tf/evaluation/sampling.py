"""Drawing samples from a trained generator: arrays, generation metrics, files (npz, PNG grid, OBJ meshes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan3d_tf.data.voxel_npz import load_voxel_npz
from gan3d_tf.metrics.generation import generation_report
from gan3d_tf.metrics.iou import mean_pairwise_iou
from gan3d_tf.metrics.quality import keep_largest_component, sample_quality
from gan3d_tf.models.batched import predict_batched
from gan3d_tf.models.gan3d import sample_z
from gan3d_tf.models.generator import Generator
from gan3d_tf.visual.mesh import write_meshes
from gan3d_tf.visual.render import render_grid, save_png


def draw_z(n: int, z_dim: int, distribution: str, seed: int = 0, truncation: float | None = None) -> np.ndarray:
    """n latent vectors from a generator's prior, float32 [n, z_dim].

    Args:
        n: number of vectors (>= 1).
        z_dim: size of each.
        distribution: the prior, "uniform" (U[0, 1]) or "normal" (N(0, 1)).
        seed: the draw's seed; without truncation, the same vectors as
            training's sampler seeded alike.
        truncation: None, or psi > 0: a normal prior truncated to [-psi, psi]
            (every entry outside is drawn again until it falls inside; the
            entries inside keep their values, so psi -> infinity gives the
            untruncated draw). Refused for the uniform prior.

    Raises:
        ValueError: n < 1, a psi <= 0, or truncation of a uniform prior.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if truncation is not None:
        if distribution != "normal":
            raise ValueError(
                f"--truncation {truncation}: truncation samples z from a truncated normal, but this "
                f"generator's prior is {distribution!r} (U[0, 1], the paper's); it applies to a "
                f"normal prior only (e.g. chair32)"
            )
        if not truncation > 0:
            raise ValueError(f"--truncation must be > 0 (psi: |z| <= psi), got {truncation}")
    rng = tf.random.Generator.from_seed(seed)
    z = sample_z(rng, n, z_dim, distribution).numpy()
    while truncation is not None and (outside := np.abs(z) > truncation).any():
        z[outside] = rng.normal((int(outside.sum()),), dtype=tf.float32).numpy()
    return z


def generate(
    generator: Generator,
    n: int,
    seed: int = 0,
    batch_size: int = 32,
    truncation: float | None = None,
    clean: bool = False,
    threshold: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws n latent vectors from the generator's prior and decodes them.

    Args:
        generator: the generator.
        n: number of shapes.
        seed: seed of the latent draw.
        batch_size: shapes decoded per call.
        truncation: psi of a truncated normal prior (`draw_z`), or None.
        clean: keep only each shape's largest connected component at
            `threshold` (`gan3d_tf.metrics.quality.keep_largest_component`).
        threshold: occupancy level of `clean`.

    Returns:
        (z [n, z_dim], occupancy probabilities [n, R, R, R]) as float32 arrays.
    """
    z = draw_z(n, generator.z_dim, generator.z_distribution, seed, truncation)
    voxels = predict_batched(generator, z, batch_size)
    return z, keep_largest_component(voxels, threshold) if clean else voxels


def training_mean_voxels(model) -> float | None:
    """The mean filled-voxel count of the shapes a model was trained on, or None when unknown.

    Read from a run directory's `data.json` or a pretrained folder's
    `metadata.json` ("mean_occupancy" times R^3); None for a bare `.keras`
    file or a folder without either.
    """
    path = Path(model)
    for name, key in (("data.json", None), ("metadata.json", "data")):
        if (path / name).is_file():
            data = json.loads((path / name).read_text())
            data = data.get(key) if key else data
            if data and data.get("mean_occupancy") and data.get("resolution"):
                return float(data["mean_occupancy"]) * int(data["resolution"]) ** 3
    return None


def generator_report(
    generator: Generator,
    data_path,
    category: str,
    split: str = "test",
    n: int = 100,
    seed: int = 0,
    chamfer: bool = False,
    held_out: tuple[float, int] | None = None,
    truncation: float | None = None,
) -> dict:
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
        truncation: psi of a truncated normal prior (`draw_z`), or None.

    Returns:
        The raw samples' `generation_report` at the top level, the same
        samples cleaned (each reduced to its largest connected component)
        under "cleaned", and the floor's report under "floor".

    Raises:
        ValueError, FileNotFoundError: from the data loader (naming file, key, category).
    """
    _, samples = generate(generator, n, seed, truncation=truncation)
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
        "data": str(data_path),
        "category": category,
        "split": split,
        "n": n,
        "seed": seed,
        "truncation": truncation,
        "resolution": int(resolution),
        "n_reference_empty_dropped": reference.n_empty_skipped,
        **generation_report(samples, reference.voxels, chamfer=chamfer),
        "cleaned": generation_report(keep_largest_component(samples), reference.voxels, chamfer=chamfer),
        "floor": {
            "source": "train",
            "n_floor": n_floor,
            "n_train": len(train.voxels),
            "n_train_empty_dropped": train.n_empty_skipped,
            "notes": notes,
            **generation_report(train.voxels[pick], reference.voxels, chamfer=chamfer),
        },
    }


def write_samples(
    generator: Generator,
    n: int,
    out_dir,
    seed: int = 0,
    threshold: float = 0.5,
    clean: bool = True,
    truncation: float | None = None,
    reference_mean_voxels: float | None = None,
) -> dict:
    """Writes `samples.npz` (keys `voxels`, `z`), `grid.png`, `sample_NNN.obj` and `summary.json`.

    Args:
        generator: the trained generator.
        n: number of samples.
        out_dir: output directory (created).
        seed: seed of the latent draw.
        threshold: occupancy level of the rendering, the meshes and the counts.
        clean: keep only each sample's largest connected component (what
            the authors' visualiser shows); the counts are given for the raw
            samples either way.
        truncation: psi of a truncated normal prior (`draw_z`), or None.
        reference_mean_voxels: the training shapes' mean filled-voxel count
            (`training_mean_voxels`), for the near-empty count (None: not
            counted).

    Returns:
        A summary: paths, mean occupancy, mean pairwise IoU of the samples
        (near 1: mode collapse), how many raw samples were empty (no mesh is
        written for those), near-empty and fragmented, and the settings.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    z, raw = generate(generator, n, seed, truncation=truncation)
    voxels = keep_largest_component(raw, threshold) if clean else raw
    np.savez_compressed(out_dir / "samples.npz", voxels=voxels, z=z)
    save_png(render_grid(voxels, threshold=threshold), out_dir / "grid.png")
    meshes, empty = write_meshes(voxels, out_dir, "sample_{:03d}.obj", threshold)
    summary = {
        "n": n,
        "seed": seed,
        "truncation": truncation,
        "clean": clean,
        "resolution": int(voxels.shape[1]),
        "mean_occupancy": float((voxels > threshold).mean()),
        "n_empty": empty,
        **sample_quality(raw, reference_mean_voxels, threshold),
        "mean_pairwise_iou": mean_pairwise_iou(voxels, threshold) if n > 1 else None,
        "samples": str(out_dir / "samples.npz"),
        "grid": str(out_dir / "grid.png"),
        "meshes": meshes,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
