"""Walking the latent space of a trained generator (paper Sec. 4.4, Figs. 6-7).

Latent vectors come from one of three sources, written as an *endpoint*:

- ``"7"``: the first vector drawn with seed 7 from the generator's prior (the
  shape ``evaluate.py sample --seed 7`` draws first);
- ``"samples.npz:3"``: row 3 of key ``z`` of a file written by ``evaluate.py
  sample``, ``interpolate``, ``arithmetic`` or ``invert``;
- ``"shapes.npz:X_train:12"`` (or ``"shapes.npz:12"`` for a file with key
  ``voxels`` and no ``z``): the voxel grid at that key and index, *inverted*:
  z is fitted by gradient descent so that G(z) reproduces the grid
  (`invert`), so interpolation and arithmetic run between real shapes.

`interpolate_z` mixes two vectors linearly or spherically (slerp, for a
normal prior, where it keeps the norm typical of the prior), `arithmetic_z`
forms a - b + c, and `write_strip` saves a result as the paper's figures
show it: a PNG strip, the grids (.npz) and one .obj mesh per shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan3d_tf.data.checks import open_npz
from gan3d_tf.data.voxel_npz import resample
from gan3d_tf.metrics.iou import iou_distance
from gan3d_tf.models.batched import predict_batched
from gan3d_tf.models.gan3d import sample_z
from gan3d_tf.models.generator import Generator
from gan3d_tf.visual.mesh import write_meshes
from gan3d_tf.visual.render import render_voxels

INTERPOLATIONS = ("auto", "linear", "slerp")
INVERT_STEPS = 300  # Adam steps of the latent fit
INVERT_RESTARTS = 8  # latent starts fitted together; the best reconstruction is kept
INVERT_CANDIDATES = 256  # prior draws decoded first; the `restarts` nearest the target (IoU) are the starts
INVERT_LEARNING_RATE = 0.05  # Adam step size of the latent fit
PRIOR_WEIGHT = 1e-3  # weight of the normal prior's 0.5 * ||z||^2 / z_dim in the fit (keeps z typical)


@dataclass
class Endpoint:
    """A latent vector and where it came from.

    Attributes:
        z: [z_dim] float32.
        source: the endpoint as written ("7", "file.npz:X_train:12").
        target: the real grid it was inverted from, else None.
        iou: IoU (at 0.5) of G(z) with `target`, else None.
    """

    z: np.ndarray
    source: str
    target: np.ndarray | None = None
    iou: float | None = None

    def describe(self) -> dict:
        out = {"source": self.source}
        if self.iou is not None:
            out["inverted_iou"] = round(self.iou, 4)
        return out


def z_from_seed(generator: Generator, seed: int) -> np.ndarray:
    """The first latent vector drawn with `seed` from G's prior (as `sampling.generate` draws it)."""
    rng = tf.random.Generator.from_seed(seed)
    return sample_z(rng, 1, generator.z_dim, generator.z_distribution).numpy()[0]


def read_grid(path, key: str | None, index: int, resolution: int) -> np.ndarray:
    """Grid `index` of key `key` (default: `voxels`, else `X_train`) of a `.npz`, at `resolution`.

    Raises:
        FileNotFoundError, ValueError: no file, no such key, index out of
            range, not an [N, R, R, R] array of values in [0, 1]; named.
    """
    with open_npz(path) as data:
        if key is None:
            key = next((k for k in ("voxels", "X_train") if k in data.files), None)
            if key is None:
                raise ValueError(f"{path}: no key 'voxels' or 'X_train'; name one of {sorted(data.files)}")
        if key not in data.files:
            raise ValueError(f"{path}: no key {key!r}; found {sorted(data.files)}")
        grids = data[key]
    if grids.ndim != 4 or not grids.shape[1] == grids.shape[2] == grids.shape[3]:
        raise ValueError(f"{path}: {key} must have shape [N, R, R, R], got {grids.shape}")
    if not -len(grids) <= index < len(grids):
        raise ValueError(f"{path}: index {index} is out of range for {key} with {len(grids)} grids")
    grid = np.asarray(grids[index], np.float32)
    if not np.isfinite(grid).all() or grid.min() < 0 or grid.max() > 1:
        raise ValueError(
            f"{path}: {key}[{index}] must hold values in [0, 1], got min {np.nanmin(grid)} "
            f"max {np.nanmax(grid)}{' and NaN or inf' if not np.isfinite(grid).all() else ''}"
        )
    if not grid.any():
        raise ValueError(f"{path}: {key}[{index}] is empty; there is no shape to invert")
    r = grid.shape[0]
    if r != resolution and (max(r, resolution) % min(r, resolution)):
        raise ValueError(f"{path}: {key}[{index}] is {r}^3, not an integer factor of the generator's {resolution}^3")
    return resample(grid[None], resolution)[0].astype(np.float32)


def invert(
    generator: Generator,
    target: np.ndarray,
    steps: int = INVERT_STEPS,
    restarts: int = INVERT_RESTARTS,
    learning_rate: float = INVERT_LEARNING_RATE,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Fits z so that G(z) reproduces `target` (G's weights fixed, inference mode).

    Minimises the binary cross-entropy (from G's logits) plus one minus the
    soft IoU between G(z) and the target grid (the IoU term keeps thin parts
    from being traded for the many empty voxels), plus `PRIOR_WEIGHT` * 0.5 *
    ||z||^2 / z_dim for a normal prior (a uniform prior is kept by projecting
    z onto [0, 1] after every step), by Adam from
    `restarts` starts at once: the prior draws (of `INVERT_CANDIDATES`) whose
    shapes are nearest the target. Returns the start that ends with the
    highest IoU.

    Args:
        generator: the trained generator.
        target: [R, R, R] grid of G's resolution, values in [0, 1].
        steps: Adam steps.
        restarts: starts fitted together (one batch).
        learning_rate: Adam step size.
        seed: seed of the starts.

    Returns:
        (z [z_dim] float32, IoU at 0.5 of G(z) with the target).
    """
    target = np.asarray(target, np.float32)
    if target.shape != (generator.resolution,) * 3:
        raise ValueError(f"target must have shape {(generator.resolution,) * 3}, got {target.shape}")
    if steps < 1 or restarts < 1:
        raise ValueError(f"steps and restarts must be >= 1, got {steps} and {restarts}")
    uniform = generator.z_distribution == "uniform"
    pool = sample_z(
        tf.random.Generator.from_seed(seed), INVERT_CANDIDATES, generator.z_dim, generator.z_distribution
    ).numpy()
    closest = np.argsort(iou_distance(predict_batched(generator, pool), target[None])[:, 0], kind="stable")
    z = tf.Variable(pool[closest[:restarts]])  # start from the prior draws nearest the target
    optimizer = keras.optimizers.Adam(learning_rate)
    goal = tf.constant(np.broadcast_to(target, (restarts, *target.shape)))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            logits = tf.reshape(generator.logits(z, training=False), tf.shape(goal))
            p = tf.sigmoid(logits)
            bce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(goal, logits), axis=(1, 2, 3))
            soft_iou = tf.reduce_sum(p * goal, axis=(1, 2, 3)) / tf.reduce_sum(p + goal - p * goal, axis=(1, 2, 3))
            prior = 0.0 if uniform else PRIOR_WEIGHT * 0.5 * tf.reduce_mean(tf.square(z), axis=1)
            loss = tf.reduce_sum(bce + (1.0 - soft_iou) + prior)  # the starts are independent: sum, not mean
        optimizer.apply_gradients([(tape.gradient(loss, z), z)])
        if uniform:
            z.assign(tf.clip_by_value(z, 0.0, 1.0))

    for _ in range(steps):
        step()
    fitted = predict_batched(generator, z.numpy())
    ious = 1.0 - iou_distance(fitted, target[None])[:, 0]
    best = int(np.argmax(ious))
    return z.numpy()[best].astype(np.float32), float(ious[best])


def split_endpoint(spec: str) -> tuple[str | None, str, int]:
    """(path, key, index) of an endpoint string: (None, "", seed) for a seed, ("f.npz", "" or KEY, INDEX) for a file.

    Raises:
        ValueError: neither an integer nor FILE.npz:INDEX nor FILE.npz:KEY:INDEX; names the spec.
    """
    spec = str(spec)
    if spec.lstrip("-").isdigit():
        return None, "", int(spec)
    path, sep, rest = spec.partition(".npz:")
    key, _, index = rest.rpartition(":")
    if not sep or not index.lstrip("-").isdigit():
        raise ValueError(f"{spec!r} is neither a seed (an integer) nor FILE.npz:INDEX nor FILE.npz:KEY:INDEX")
    return path + ".npz", key, int(index)


def parse_endpoint(generator: Generator, spec: str, invert_steps: int = INVERT_STEPS, seed: int = 0) -> Endpoint:
    """The latent vector an endpoint string names (see the module docstring).

    Raises:
        ValueError, FileNotFoundError: a spec that is neither a seed nor FILE.npz:[KEY:]INDEX, or a bad file,
            key or index; named.
    """
    spec = str(spec)
    path, key, index = split_endpoint(spec)
    if path is None:
        return Endpoint(z_from_seed(generator, index), spec)
    with open_npz(path) as data:
        files = data.files
        zs = data["z"] if (key in ("", "z") and "z" in files) else None
    if zs is not None:
        if zs.ndim != 2 or zs.shape[1] != generator.z_dim:
            raise ValueError(f"{path}: z must have shape [N, {generator.z_dim}] for this generator, got {zs.shape}")
        if not -len(zs) <= index < len(zs):
            raise ValueError(f"{path}: index {index} is out of range for z with {len(zs)} rows")
        if not np.isfinite(zs[index]).all():
            raise ValueError(f"{path}: z[{index}] holds NaN or inf")
        return Endpoint(np.asarray(zs[index], np.float32), spec)
    target = read_grid(path, key or None, index, generator.resolution)
    z, iou = invert(generator, target, steps=invert_steps, seed=seed)
    return Endpoint(z, spec, target, iou)


def interpolate_z(za: np.ndarray, zb: np.ndarray, steps: int, method: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """`steps` latent vectors from za to zb (both included).

    Args:
        za, zb: [z_dim] endpoints.
        steps: number of vectors, >= 2.
        method: "linear" ((1 - t) za + t zb) or "slerp" (along the great
            circle, with the norm interpolated linearly; linear when the two
            are parallel).

    Returns:
        (t [steps], z [steps, z_dim]) float32.
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    za, zb = np.asarray(za, np.float64), np.asarray(zb, np.float64)
    t = np.linspace(0.0, 1.0, steps)
    linear = (1 - t)[:, None] * za + t[:, None] * zb
    na, nb = np.linalg.norm(za), np.linalg.norm(zb)
    if method == "linear" or na == 0 or nb == 0:
        return t.astype(np.float32), linear.astype(np.float32)
    omega = np.arccos(np.clip(za @ zb / (na * nb), -1.0, 1.0))
    if omega < 1e-6:
        return t.astype(np.float32), linear.astype(np.float32)
    ua, ub = za / na, zb / nb
    direction = (np.sin((1 - t) * omega)[:, None] * ua + np.sin(t * omega)[:, None] * ub) / np.sin(omega)
    z = direction * ((1 - t) * na + t * nb)[:, None]
    z[0], z[-1] = za, zb  # exact endpoints
    return t.astype(np.float32), z.astype(np.float32)


def resolve_method(generator: Generator, method: str) -> str:
    """ "auto" is slerp for a normal prior and linear for a uniform one; slerp is refused for a uniform prior."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {INTERPOLATIONS}, got {method!r}")
    if method == "auto":
        return "slerp" if generator.z_distribution == "normal" else "linear"
    if method == "slerp" and generator.z_distribution != "normal":
        raise ValueError("slerp is for a normal prior; this generator's prior is uniform on [0, 1]^d: use linear")
    return method


def arithmetic_z(za: np.ndarray, zb: np.ndarray, zc: np.ndarray, rescale: bool = False) -> np.ndarray:
    """a - b + c (paper Fig. 7: the shape of a, without what b has, with what c has).

    Args:
        za, zb, zc: [z_dim] latent vectors.
        rescale: scale the result to the mean norm of a, b and c. For a
            normal prior a - b + c has sqrt(3) times a draw's standard
            deviation, off the shell where the prior's draws (and G's
            training) lie; rescaling keeps the direction and puts it back.
    """
    za, zb, zc = (np.asarray(v, np.float64) for v in (za, zb, zc))
    z = za - zb + zc
    norm = np.linalg.norm(z)
    if rescale and norm > 0:
        z *= np.mean([np.linalg.norm(v) for v in (za, zb, zc)]) / norm
    return z.astype(np.float32)


def write_strip(
    generator: Generator,
    z: np.ndarray,
    titles: list[str],
    out_dir,
    name: str,
    threshold: float = 0.5,
    extra: dict | None = None,
    size: int = 160,
    targets: dict[int, np.ndarray] | None = None,
) -> dict:
    """Decodes z and writes `NAME.png` (one row of rendered shapes, titled), `NAME.npz` and `NAME_NN.obj`.

    Args:
        generator: the trained generator.
        z: [k, z_dim] latent vectors, one per shape of the strip.
        titles: k captions drawn over the shapes.
        out_dir: output directory (created).
        name: stem of the files ("interpolation", "arithmetic").
        threshold: occupancy level of the pictures and meshes.
        extra: more arrays for the .npz (e.g. t).
        size: pixels per rendered shape.
        targets: {position: real grid} drawn as a second row under those
            positions (the shapes an inverted endpoint was fitted to).

    Returns:
        {"png", "npz", "meshes", "n_empty"}: what was written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(titles) != len(z):
        raise ValueError(f"need one title per shape, got {len(titles)} titles for {len(z)} shapes")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    voxels = predict_batched(generator, np.asarray(z, np.float32))
    np.savez_compressed(out_dir / f"{name}.npz", voxels=voxels, z=np.asarray(z, np.float32), **(extra or {}))
    targets = targets or {}
    rows = 2 if targets else 1
    fig, axes = plt.subplots(
        rows, len(z), figsize=(1.6 * len(z), 2.0 * rows), dpi=100, squeeze=False, layout="constrained"
    )
    for i, grid in enumerate(voxels):
        axes[0, i].imshow(render_voxels(grid, threshold, size))
        axes[0, i].set_title(titles[i], fontsize=9)
        if rows == 2:
            if i in targets:
                axes[1, i].imshow(render_voxels(targets[i], threshold, size))
                axes[1, i].set_title("real shape", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.savefig(out_dir / f"{name}.png")
    plt.close(fig)
    meshes, empty = write_meshes(voxels, out_dir, name + "_{:02d}.obj", threshold)
    return {
        "png": str(out_dir / f"{name}.png"),
        "npz": str(out_dir / f"{name}.npz"),
        "meshes": meshes,
        "n_empty": empty,
    }


def write_summary(out_dir, summary: dict) -> None:
    """`summary.json` in out_dir."""
    Path(out_dir, "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
