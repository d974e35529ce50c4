"""Single-image 3D reconstruction on the IKEA photographs (paper Sec. 4.3, Table 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from gan3d_tf.data.ikea import load_ikea, load_image
from gan3d_tf.reconstruction_metrics import average_precision_by_category, iou, save_reconstruction_sheet, to_grid

IOU_THRESHOLD = 0.5  # a voxel is predicted occupied when its probability is above this (for IoU and pictures)


def load_encoder(run_dir):
    """The encoder of a 3D-VAE-GAN run directory (its `encoder.keras`, else its latest checkpoint)."""
    import keras

    from gan3d_tf.config import Config
    from gan3d_tf.training import build_encoder

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"{run_dir}: not a run directory (no config.json)")
    config = Config.from_json(run_dir / "config.json")
    if config.algorithm != "vaegan":
        raise ValueError(f"{run_dir} is a {config.algorithm!r} run; reconstruction needs a 3D-VAE-GAN run "
                         f"(train.py --model vaegan)")
    if (run_dir / "encoder.keras").is_file():
        return keras.saving.load_model(run_dir / "encoder.keras")
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    if latest is None:
        raise FileNotFoundError(f"{run_dir}: no encoder.keras and no checkpoint")
    encoder = build_encoder(config)
    tf.train.Checkpoint(encoder=encoder).restore(latest).expect_partial().assert_existing_objects_matched()
    return encoder


def load_image_to_shape(run_dir):
    """(encoder, generator) of a 3D-VAE-GAN run directory (its `.keras` files or latest checkpoint)."""
    from gan3d_tf.sampling import load_network

    return load_encoder(run_dir), load_network(run_dir, "generator")


def predict(encoder, generator, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Occupancy probabilities [N, R, R, R] for images [N, S, S, 3] (z = the posterior mean)."""

    @tf.function
    def forward(x):
        mean, _ = encoder(x, training=False)
        return tf.cast(generator(mean, training=False), tf.float32)

    return np.concatenate([forward(tf.constant(images[i:i + batch_size])).numpy()
                           for i in range(0, len(images), batch_size)])


def mean_training_shape(run_dir) -> np.ndarray:
    """The mean occupancy grid [R, R, R] of the shapes a run was trained on (re-read from its config)."""
    from gan3d_tf.config import Config
    from gan3d_tf.training import load_training_data

    return load_training_data(Config.from_json(Path(run_dir) / "config.json")).voxels.mean(0, dtype=np.float32)


def evaluate_ikea(encoder, generator, ikea_dir, sheet: str | None = None, mean_shape: np.ndarray | None = None) -> dict:
    """Per-category voxel AP, mean AP and IoU on the IKEA test images.

    Each photo is padded to a square and resized to the encoder's input; the
    predicted grid is brought to the ground truth's 20^3 (max over the cells
    each output voxel overlaps) and compared with the ground truth in our
    orientation (`gan3d_tf.data.ikea`).

    Args:
        encoder: the trained encoder.
        generator: the trained generator.
        ikea_dir: the IKEA directory (Images/, Voxels/, Lists/).
        sheet: optional PNG path for a sheet of photo / prediction / ground truth.
        mean_shape: optional mean training grid [R, R, R]; predicting it for
            every photo (ignoring the image) is reported as a baseline.

    Returns:
        {"ap": {category: AP}, "mean_ap", "iou", "iou_per_category", "iou_threshold",
        "n_images", "n_skipped", "problems"} and, with mean_shape,
        "baseline_mean_shape": {"ap", "mean_ap"}.
    """
    data = load_ikea(ikea_dir)
    images = np.stack([load_image(p, encoder.image_size) for p in data.image_paths])
    probabilities = to_grid(predict(encoder, generator, images))
    ap = average_precision_by_category(probabilities, data.voxels, data.labels, data.categories)
    overlap = iou(probabilities, data.voxels, IOU_THRESHOLD, data.labels, data.categories)
    report = {"ap": ap["ap"], "mean_ap": ap["mean_ap"], "iou": overlap["mean_iou"],
              "iou_per_category": overlap["by_category"], "iou_threshold": IOU_THRESHOLD,
              "n_images": len(images), "n_skipped": data.n_skipped, "problems": data.problems}
    if mean_shape is not None:
        constant = np.repeat(to_grid(np.asarray(mean_shape, np.float32)[None]), len(images), 0)
        report["baseline_mean_shape"] = average_precision_by_category(constant, data.voxels, data.labels,
                                                                      data.categories)
    if sheet:
        rows = np.concatenate([np.flatnonzero(data.labels == c)[:2] for c in range(len(data.categories))])
        save_reconstruction_sheet(images[rows], probabilities[rows], data.voxels[rows], sheet, IOU_THRESHOLD,
                                  max_rows=len(rows), titles=[data.categories[data.labels[i]] for i in rows])
    return report


def heldout_shapes(config, n: int):
    """Up to `n` shapes the run never trained on: its data file's test split, or further built-in shapes.

    Returns:
        (voxels float32 [m, R, R, R], labels int [m], class names).
    """
    from gan3d_tf.data import procedural
    from gan3d_tf.data.voxel_npz import load_voxel_npz
    from gan3d_tf.training import load_training_data

    d, res = config.data, config.model.resolution
    if d.path is not None:
        test = load_voxel_npz(d.path, d.category, "test", resolution=res)
        pick = np.sort(np.random.default_rng(0).permutation(len(test.voxels))[:n])
        return test.voxels[pick].astype(np.float32), test.labels[pick], tuple(test.classes)
    classes = load_training_data(config).classes  # the built-in categories of the run, checked
    per = -(-n // len(classes))  # shapes i >= builtin_size of each category were never generated for training
    grids = [procedural.make_dataset(c, d.builtin_size + per, res, seed=config.seed)[d.builtin_size:] for c in classes]
    labels = np.concatenate([np.full(per, i) for i in range(len(classes))])
    return np.concatenate(grids).astype(np.float32)[:n], labels[:n], tuple(classes)


def evaluate_views(encoder, generator, run_dir, n: int = 300, seed: int = 0) -> dict:
    """AP, mean AP and IoU on `n` rendered views of held-out shapes, drawn like the run's training views.

    Separates how well a model fits its own kind of images from the gap to
    photographs: the shapes come from `heldout_shapes`, the views from the
    run's own renderer settings (scene, image size, camera distance) with a
    fixed seed. Scored at the run's resolution, next to the mean training
    shape as a baseline.

    Args:
        encoder: the trained encoder.
        generator: the trained generator.
        run_dir: the run directory (its config.json chooses shapes and views).
        n: number of held-out shapes, one view each.
        seed: seed of the views.
    """
    from gan3d_tf.config import Config
    from gan3d_tf.data.views import view_pairs

    config = Config.from_json(Path(run_dir) / "config.json")
    voxels, labels, classes = heldout_shapes(config, n)
    v = config.vaegan
    views = view_pairs(tf.data.Dataset.from_tensor_slices(voxels), seed, image_size=v.image_size,
                       render_size=v.render_size, scene=v.scene, distance_range=tuple(v.view_distance))
    images = np.stack([image.numpy() for image, _ in views])
    probabilities = predict(encoder, generator, images)
    ap = average_precision_by_category(probabilities, voxels, labels, classes)
    constant = np.repeat(mean_training_shape(run_dir)[None], len(voxels), 0)
    return {"ap": ap["ap"], "mean_ap": ap["mean_ap"],
            "iou": iou(probabilities, voxels, IOU_THRESHOLD, labels, classes)["mean_iou"],
            "iou_threshold": IOU_THRESHOLD, "n_views": len(images), "resolution": int(voxels.shape[1]),
            "baseline_mean_shape": average_precision_by_category(constant, voxels, labels, classes)}
