"""Single-image 3D reconstruction on the IKEA photographs (paper Sec. 4.3, Table 2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan3d_tf.config import Config
from gan3d_tf.data import procedural
from gan3d_tf.data.ikea import category_of, load_ikea, load_image
from gan3d_tf.data.views import view_pairs
from gan3d_tf.data.voxel_npz import load_voxel_npz
from gan3d_tf.metrics.reconstruction import average_precision_by_category, iou, save_reconstruction_sheet, to_grid
from gan3d_tf.models.batched import predict_batched
from gan3d_tf.models.vaegan3d import kl_divergence, prior_moments
from gan3d_tf.training import load_training_data
from gan3d_tf.training.run_dir import RunDir, load_network

IOU_THRESHOLD = 0.5  # a voxel is predicted occupied when its probability is above this (for IoU and pictures)


def load_encoder(run_dir, checkpoint: str | None = None):
    """The encoder of a 3D-VAE-GAN run directory (`RunDir.load("encoder")`)."""
    return RunDir(run_dir).load("encoder", checkpoint)


def load_image_to_shape(run_dir):
    """(encoder, generator) of a 3D-VAE-GAN run directory (its `.keras` files or latest checkpoint).

    A run still training is read from one checkpoint, resolved once, so that E
    and G come from the same epoch even when a new checkpoint lands meanwhile.
    """
    checkpoint = tf.train.latest_checkpoint(str(Path(run_dir) / "checkpoints"))
    return load_encoder(run_dir, checkpoint), load_network(run_dir, "generator", checkpoint)


def encode(encoder, images: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The posterior q(z|y) of each image: (mean, log_variance), float32 [N, z_dim] each."""
    mean, log_variance = predict_batched(encoder, images, batch_size)
    return mean, log_variance


def decode(generator, z: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Occupancy probabilities [N, R, R, R] of latent vectors z [N, z_dim]."""
    return predict_batched(generator, z, batch_size, compiled=True)


def predict(encoder, generator, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Occupancy probabilities [N, R, R, R] for images [N, S, S, 3] (z = the posterior mean)."""
    return decode(generator, encode(encoder, images)[0], batch_size)


def latent_summary(mean: np.ndarray, log_variance: np.ndarray, labels: np.ndarray, z_distribution: str) -> dict:
    """How much the encoder's code says about the images: a check for posterior collapse.

    Args:
        mean, log_variance: the posteriors of N images, [N, z_dim] each.
        labels: [N] class index of each image.
        z_distribution: G's prior ("normal" or "uniform"); its moments are the
            KL term's reference (`gan3d_tf.models.vaegan3d.prior_moments`).

    Returns:
        {"kl_nats": mean KL(q(z|y) || prior) per image, summed over z;
         "sigma_ratio": mean posterior standard deviation over the prior's
            (1: the code is as noisy as the prior itself);
         "spread_ratio": standard deviation of the posterior means across the
            images, averaged over z, over the prior's (how far apart images are);
         "probe_accuracy": 5-fold accuracy of a logistic regression from the
            posterior mean to the class (only with >= 2 classes of >= 5
            images each), the category information a linear read-out finds}.
    """
    prior_mean, prior_variance = prior_moments(z_distribution)
    prior_sd = float(np.sqrt(prior_variance))
    summary = {
        "kl_nats": float(np.mean(kl_divergence(mean, log_variance, prior_mean, prior_variance).numpy())),
        "sigma_ratio": float(np.exp(0.5 * log_variance).mean() / prior_sd),
        "spread_ratio": float(mean.std(axis=0).mean() / prior_sd),
    }
    counts = np.bincount(labels)
    if (counts >= 5).sum() >= 2:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        keep = counts[labels] >= 5
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        summary["probe_accuracy"] = float(cross_val_score(probe, mean[keep], labels[keep], cv=folds).mean())
    return summary


@dataclass(frozen=True)
class ShapeMeans:
    """Mean occupancy grids of the shapes a run trained on, the reference points of the baselines."""

    overall: np.ndarray  # [R, R, R] mean of all training shapes
    classes: tuple[str, ...]  # names of the classes the run trained on
    per_class: np.ndarray  # [C, R, R, R] mean of each of these classes' shapes
    overall_threshold: float = IOU_THRESHOLD  # where `overall` is cut for the IoU baseline (`best_threshold`)
    class_thresholds: tuple[float, ...] = ()  # the same for each class mean (empty: IOU_THRESHOLD for all)


BASELINE_THRESHOLDS = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2))  # candidate cuts of a mean shape


def best_threshold(mean_shape: np.ndarray, shapes: np.ndarray) -> float:
    """The cut of `mean_shape` (among `BASELINE_THRESHOLDS`) with the highest mean IoU against `shapes`.

    Chosen on the training shapes, so that the IoU baselines are fair to the mean shape (at 0.5 a mean
    chair is nearly empty) without looking at any test shape.
    """
    truth = shapes.reshape(len(shapes), -1) > 0.5
    scores = []
    for t in BASELINE_THRESHOLDS:
        cut = mean_shape.reshape(-1) > t
        inter, union = (truth & cut).sum(1), (truth | cut).sum(1)
        scores.append(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())
    return float(BASELINE_THRESHOLDS[int(np.argmax(scores))])


def training_means(run_dir) -> ShapeMeans:
    """The mean training shape of a run, overall and per class it trained on (re-read from its config).

    Only classes with training shapes are kept: a run trained on some classes
    of a data file (`--data X --category chair`) has no (NaN) mean for the others.
    """
    data = load_training_data(Config.from_json(Path(run_dir) / "config.json"))
    trained = np.unique(data.labels)
    per_class = np.stack([data.voxels[data.labels == i].mean(0, dtype=np.float32) for i in trained])
    overall = data.voxels.mean(0, dtype=np.float32)
    return ShapeMeans(
        overall,
        tuple(data.classes[i] for i in trained),
        per_class,
        best_threshold(overall, data.voxels),
        tuple(best_threshold(m, data.voxels[data.labels == i]) for m, i in zip(per_class, trained)),
    )


def nearest_class(probabilities: np.ndarray, class_means: np.ndarray) -> np.ndarray:
    """Index of the class mean each predicted grid correlates best with (Pearson, over voxels), [N]."""
    p = probabilities.reshape(len(probabilities), -1).astype(np.float64)
    m = class_means.reshape(len(class_means), -1).astype(np.float64)
    p, m = p - p.mean(1, keepdims=True), m - m.mean(1, keepdims=True)
    norms = np.linalg.norm(p, axis=1)[:, None] * np.linalg.norm(m, axis=1)[None]
    return np.argmax(p @ m.T / np.maximum(norms, 1e-12), axis=1)


def reference_scores(
    probabilities, targets, labels, categories, means: ShapeMeans, name_of=lambda c: c, resolution: int | None = None
) -> dict:
    """The baselines a reconstruction should be read against, and how often it gets the category right.

    - "baseline_mean_shape": AP of the mean training shape for every image.
    - "baseline_class_mean": AP of the mean training shape of the image's
      true category (a label the model never sees): what recognising the
      category, and nothing more, would score.
    - "category_accuracy" (and "category_confusion", rows the true
      category, columns the training class): how often the prediction
      correlates best with the mean shape of its own category.
    The last two need the category of every image among the training classes.

    Args:
        probabilities: predicted grids [N, R, R, R] at the run's resolution.
        targets: ground truth [N, T, T, T].
        labels: [N] indices into `categories`.
        categories: names of the evaluated categories.
        means: the run's `training_means`.
        name_of: maps a training class name to its category name (e.g. "bookshelf" -> "bookcase").
        resolution: bring grids to this side before AP (`to_grid`); None: compare as they are.
    """
    scale = (lambda g: to_grid(g, resolution)) if resolution else (lambda g: g)
    constant = np.repeat(scale(means.overall[None]), len(labels), 0)
    report = {"baseline_mean_shape": average_precision_by_category(constant, targets, labels, categories)}
    # IoU of the mean shapes, each cut where it best fits the training shapes (`best_threshold`); the
    # prediction's own IoU is at IOU_THRESHOLD
    report["baseline_mean_shape_iou"] = {
        "threshold": means.overall_threshold,
        **_iou_report(constant, targets, means.overall_threshold, labels, categories),
    }
    names = [name_of(c) for c in means.classes]
    if not {categories[i] for i in np.unique(labels)} <= set(names):
        return report
    truth = np.array([names.index(categories[i]) for i in labels])  # the training class of each image
    report["baseline_class_mean"] = average_precision_by_category(
        scale(means.per_class)[truth], targets, labels, categories
    )
    cuts = np.asarray(means.class_thresholds or (IOU_THRESHOLD,) * len(names), np.float32)
    # cutting every grid at its own class's threshold == cutting (grid - threshold) at 0
    shifted = scale(means.per_class)[truth] - cuts[truth][:, None, None, None]
    report["baseline_class_mean_iou"] = {
        "thresholds": dict(zip(names, map(float, cuts))),
        **_iou_report(shifted, targets, 0.0, labels, categories),
    }
    guess = nearest_class(probabilities, means.per_class)
    confusion = np.zeros((len(categories), len(names)), int)
    np.add.at(confusion, (np.asarray(labels), guess), 1)
    report["category_accuracy"] = float(np.mean(guess == truth))
    report["category_confusion"] = {"rows": list(categories), "columns": names, "counts": confusion.tolist()}
    return report


def _iou_report(probabilities, targets, threshold, labels, categories) -> dict:
    """{"mean_iou", "by_category"} of `iou` (gan3d_tf.metrics.reconstruction)."""
    scores = iou(probabilities, targets, threshold, labels, categories)
    return {"mean_iou": scores["mean_iou"], "by_category": scores["by_category"]}


def evaluate_ikea(encoder, generator, ikea_dir, sheet: str | None = None, means: ShapeMeans | None = None) -> dict:
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
        means: optional `training_means` of the run; adds the baselines and
            the category accuracy of `reference_scores` (training class names
            are matched to IKEA's with `category_of`, so "bookshelf" counts
            as "bookcase").

    Returns:
        {"ap": {category: AP}, "mean_ap", "iou", "iou_per_category", "iou_threshold",
        "n_images", "n_skipped", "problems", "latent" (`latent_summary`)} and,
        with means, the keys of `reference_scores`.
    """
    data = load_ikea(ikea_dir)
    images = np.stack([load_image(p, encoder.image_size) for p in data.image_paths])
    posterior = encode(encoder, images)
    predicted = decode(generator, posterior[0])
    probabilities = to_grid(predicted)
    ap = average_precision_by_category(probabilities, data.voxels, data.labels, data.categories)
    overlap = iou(probabilities, data.voxels, IOU_THRESHOLD, data.labels, data.categories)
    report = {
        "ap": ap["ap"],
        "mean_ap": ap["mean_ap"],
        "iou": overlap["mean_iou"],
        "iou_per_category": overlap["by_category"],
        "iou_threshold": IOU_THRESHOLD,
        "n_images": len(images),
        "n_skipped": data.n_skipped,
        "problems": data.problems,
    }
    if means is not None:
        report.update(
            reference_scores(
                predicted,
                data.voxels,
                data.labels,
                data.categories,
                means,
                lambda c: category_of(c) or c,
                data.voxels.shape[1],
            )
        )
    report["latent"] = latent_summary(*posterior, data.labels, generator.z_distribution)
    if sheet:
        rows = np.concatenate([np.flatnonzero(data.labels == c)[:2] for c in range(len(data.categories))])
        save_reconstruction_sheet(
            images[rows],
            probabilities[rows],
            data.voxels[rows],
            sheet,
            IOU_THRESHOLD,
            max_rows=len(rows),
            titles=[data.categories[data.labels[i]] for i in rows],
        )
    return report


def heldout_shapes(config, n: int, classes=None):
    """Up to `n` shapes the run never trained on: its data file's test split, or further built-in shapes.

    Args:
        config: the run's config.
        n: number of shapes.
        classes: the run's built-in categories when known (`training_means(...).classes`), to skip
            re-generating its training shapes to find them.

    Returns:
        (voxels float32 [m, R, R, R], labels int [m], class names).
    """
    d, res = config.data, config.model.resolution
    if d.path is not None:
        test = load_voxel_npz(d.path, d.category, "test", resolution=res)
        pick = np.sort(np.random.default_rng(0).permutation(len(test.voxels))[:n])
        return test.voxels[pick].astype(np.float32), test.labels[pick], tuple(test.classes)
    classes = classes or load_training_data(config).classes  # the built-in categories of the run, checked
    per = -(-n // len(classes))  # shapes i >= builtin_size of each category were never generated for training
    grids = [procedural.make_dataset(c, d.builtin_size + per, res, seed=config.seed)[d.builtin_size :] for c in classes]
    labels = np.concatenate([np.full(per, i) for i in range(len(classes))])
    return np.concatenate(grids).astype(np.float32)[:n], labels[:n], tuple(classes)


def evaluate_views(
    encoder, generator, run_dir, n: int = 300, seed: int = 0, means: ShapeMeans | None = None, scene: str | None = None
) -> dict:
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
        means: the run's `training_means`, when already computed.
        scene: look of the views ("plain", "room", "photo"); None: the run's
            training scene.
    """
    config = Config.from_json(Path(run_dir) / "config.json")
    means = means or training_means(run_dir)
    voxels, labels, classes = heldout_shapes(config, n, means.classes)
    v = config.vaegan
    scene = scene or v.scene
    views = view_pairs(
        tf.data.Dataset.from_tensor_slices(voxels),
        seed,
        image_size=v.image_size,
        render_size=v.render_size,
        scene=scene,
        distance_range=tuple(v.view_distance),
    )
    images = np.stack([image.numpy() for image, _ in views])
    posterior = encode(encoder, images)
    probabilities = decode(generator, posterior[0])
    ap = average_precision_by_category(probabilities, voxels, labels, classes)
    report = {
        "ap": ap["ap"],
        "mean_ap": ap["mean_ap"],
        "iou": iou(probabilities, voxels, IOU_THRESHOLD, labels, classes)["mean_iou"],
        "iou_threshold": IOU_THRESHOLD,
        "n_views": len(images),
        "resolution": int(voxels.shape[1]),
        "scene": scene,
        "latent": latent_summary(*posterior, labels, generator.z_distribution),
    }
    return report | reference_scores(probabilities, voxels, labels, classes, means)
