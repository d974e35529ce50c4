"""SavedModel exports for TF Serving, and portable `.keras` files.

Layout written under `out` (default `saved_models/`), TF Serving's
`<model_name>/<version>/`:

    gan3d_generator/<v>/    serving_default: z float32 [batch, z_dim] -> voxels float32 [batch, R, R, R]
                            sample: batch_size int32 [], seed int64 [] -> voxels, z
    gan3d_features/<v>/     serving_default: voxels float32 [batch, R, R, R] in [0, 1] -> features float32 [batch, F]
    gan3d_classifier/<v>/   serving_default: voxels -> probabilities [batch, C], scores [batch, C],
                            class_id int64 [batch], class_name string [batch]
    gan3d_image_to_shape/<v>/  (3D-VAE-GAN runs) serving_default: images float32 [batch, S, S, 3] in [0, 1]
                            -> voxels; from_bytes: image_bytes string [batch] (JPEG/PNG/...) -> voxels
    keras/<v>/              generator.keras, discriminator.keras (float32, `import gan3d_tf` to load),
                            encoder.keras for 3D-VAE-GAN runs
    models.config           TF Serving model config listing every servable under `out`

Voxel and image inputs outside [0, 1] (or NaN) fail the call with an
InvalidArgumentError naming the input and the range (`in_unit_range`); a
`from_bytes` string that is no image fails in `tf.io.decode_image` ("Unknown
image file format").

Each version directory holds `assets.extra/metadata.json` (resolution, z
prior, classes, training data, git revision, metrics). One export call uses
one version number for all its servables, one more than the highest already
under `out`, so servables of the same version come from the same run; an
existing version is never overwritten. Each servable is written to a hidden
temporary directory and renamed into place, so TF Serving, which polls the
base path, never sees a partial version.

The classifier folds the standardised linear SVM into one dense layer:
scores = ((f - mean) / scale) @ coef.T + intercept = f @ W + b. Its
`probabilities` are softmax(scores * temperature), with the temperature fitted
on the training split by log-loss (an SVM has no probabilities of its own);
`class_id` is the SVM's own decision, argmax of the scores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from gan3d_tf.data.checks import open_npz, read_array
from gan3d_tf.data.voxel_npz import load_voxel_npz
from gan3d_tf.evaluation.classify import fit_svm
from gan3d_tf.evaluation.features import extract_features, feature_extractor, feature_size
from gan3d_tf.models.discriminator import Discriminator
from gan3d_tf.models.generator import Generator
from gan3d_tf.models.linear_head import LinearHead
from gan3d_tf.training.run_dir import RunDir, load_network, model_parts

GENERATOR = "gan3d_generator"
FEATURES = "gan3d_features"
CLASSIFIER = "gan3d_classifier"
IMAGE_TO_SHAPE = "gan3d_image_to_shape"
KERAS_DIR = "keras"
SERVABLES = (GENERATOR, FEATURES, CLASSIFIER, IMAGE_TO_SHAPE)
METADATA = os.path.join("assets.extra", "metadata.json")


def float32_copy(model: keras.Model) -> keras.Model:
    """The same network with float32 compute (a mixed-precision model's weights are float32 already)."""
    config = dict(model.get_config(), dtype=None)
    copy = type(model).from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def next_version(out: str | os.PathLike) -> int:
    """One more than the highest integer version of any servable under `out` (1 for none)."""
    out = Path(out)
    versions = [
        int(p.name)
        for name in (*SERVABLES, KERAS_DIR)
        if (out / name).is_dir()
        for p in (out / name).iterdir()
        if p.is_dir() and p.name.isdigit()
    ]
    return max(versions, default=0) + 1


def git_revision() -> str | None:
    """The commit of this package's checkout (with "+dirty" for local changes), None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _stage(write, out: Path, name: str, version: int, metadata: dict) -> tuple[Path, Path]:
    """Writes one servable version into a hidden temporary sibling; returns (temporary, final) paths."""
    final = out / name / str(version)
    if final.exists():
        raise FileExistsError(f"{final} exists; versions are never overwritten")
    tmp = out / name / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    write(tmp)
    (tmp / "assets.extra").mkdir(exist_ok=True)
    (tmp / METADATA).write_text(json.dumps(dict(metadata, model_name=name, version=version), indent=2) + "\n")
    return tmp, final


def generator_archive(g: Generator) -> keras.export.ExportArchive:
    """`serving_default` (z -> voxels) and `sample` (batch_size, seed -> voxels, z) of a float32 generator."""
    z_dim, r = g.z_dim, g.resolution
    archive = keras.export.ExportArchive()
    archive.track(g)

    def decode(z):
        return {"voxels": tf.reshape(tf.cast(g(z, training=False), tf.float32), [-1, r, r, r])}

    def sample(batch_size, seed):
        shape = tf.stack([batch_size, z_dim])
        pair = tf.stack([seed, tf.constant(0, tf.int64)])
        if g.z_distribution == "uniform":
            z = tf.random.stateless_uniform(shape, pair, 0.0, 1.0, dtype=tf.float32)
        else:
            z = tf.random.stateless_normal(shape, pair, dtype=tf.float32)
        return dict(decode(z), z=z)

    archive.add_endpoint("serving_default", decode, [tf.TensorSpec([None, z_dim], tf.float32, name="z")])
    archive.add_endpoint(
        "sample", sample, [tf.TensorSpec([], tf.int32, name="batch_size"), tf.TensorSpec([], tf.int64, name="seed")]
    )
    return archive


def in_unit_range(x: tf.Tensor, name: str) -> tf.Tensor:
    """x, once a graph assertion has checked that every value is in [0, 1].

    A value outside (or NaN) fails the call with InvalidArgumentError
    "<name> must hold values in [0, 1] (no NaN); got min ... max ...",
    instead of a silent result.

    Args:
        x: a float tensor.
        name: the input's name, for the message.
    """
    ok = tf.reduce_all((x >= 0.0) & (x <= 1.0))
    check = tf.debugging.Assert(
        ok, [f"{name} must hold values in [0, 1] (no NaN); got min", tf.reduce_min(x), "max", tf.reduce_max(x)]
    )
    with tf.control_dependencies([check]):
        return tf.identity(x)


def features_archive(extractor: keras.Model) -> keras.export.ExportArchive:
    """`serving_default`: voxels [batch, R, R, R] in [0, 1] -> features [batch, F], for a `feature_extractor`."""
    r = extractor.input_shape[1]
    archive = keras.export.ExportArchive()
    archive.track(extractor)
    archive.add_endpoint(
        "serving_default",
        lambda voxels: {"features": extractor(in_unit_range(voxels, "voxels"), training=False)},
        [tf.TensorSpec([None, r, r, r], tf.float32, name="voxels")],
    )
    return archive


def fold_svm(pipeline) -> tuple[np.ndarray, np.ndarray]:
    """(W [F, C], b [C]) with f @ W + b equal to the pipeline's `decision_function` (scaler + linear SVM).

    A two-class SVM has one score s; it is returned as the columns (-s, s) so
    that argmax picks the same class as the SVM.
    """
    scaler, svm = pipeline[0], pipeline[-1]
    coef, intercept = np.asarray(svm.coef_, np.float64), np.asarray(svm.intercept_, np.float64)
    mean = np.zeros(coef.shape[1]) if scaler.mean_ is None else scaler.mean_
    scale = np.ones(coef.shape[1]) if scaler.scale_ is None else scaler.scale_
    w = (coef / scale).T
    b = intercept - mean / scale @ coef.T
    if w.shape[1] == 1:
        w, b = np.concatenate([-w, w], 1), np.concatenate([-b, b])
    return w.astype(np.float32), b.astype(np.float32)


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The t > 0 minimising the log-loss of softmax(t * scores) on (scores, labels)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    scores = np.asarray(scores, np.float64)

    def nll(log_t):
        return -log_softmax(np.exp(log_t) * scores, axis=1)[np.arange(len(labels)), labels].mean()

    return float(np.exp(minimize_scalar(nll, bounds=(-8, 8), method="bounded").x))


def classifier_archive(extractor: keras.Model, pipeline, classes, temperature: float):
    """`serving_default`: voxels in [0, 1] -> probabilities, scores, class_id, class_name, for a `feature_extractor`."""
    w, b = fold_svm(pipeline)
    n_features = extractor.output_shape[-1]
    if w.shape != (n_features, len(classes)):
        raise ValueError(f"SVM weights {w.shape} do not match {n_features} features x {len(classes)} classes")
    head = LinearHead(w.shape[0], classes, temperature, name="svm")
    head.set_weights([w, b])
    r = extractor.input_shape[1]
    archive = keras.export.ExportArchive()
    archive.track(extractor)
    archive.track(head)
    archive.add_endpoint(
        "serving_default",
        lambda voxels: head(extractor(in_unit_range(voxels, "voxels"), training=False)),
        [tf.TensorSpec([None, r, r, r], tf.float32, name="voxels")],
    )
    return archive


def decode_photo(image_bytes, size: int) -> tf.Tensor:
    """Encoded image bytes (JPEG, PNG, BMP, GIF) -> float32 [size, size, 3] in [0, 1].

    The same preparation as `gan3d_tf.data.ikea.load_image`: pad to a centred
    square with white, then resize (bicubic, anti-aliased), in TensorFlow ops.
    """
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.maximum(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    padded = tf.pad(image - 1.0, [[top, side - h - top], [left, side - w - left], [0, 0]]) + 1.0  # white margin
    resized = tf.image.resize(padded[None], [size, size], method="bicubic", antialias=True)[0]
    return tf.clip_by_value(resized, 0.0, 1.0)


def image_to_shape_archive(e, g: Generator) -> keras.export.ExportArchive:
    """`serving_default` (images -> voxels, z = posterior mean) and `from_bytes` (encoded images -> voxels)
    of a float32 encoder and generator."""
    s, r = e.image_size, g.resolution
    archive = keras.export.ExportArchive()
    archive.track(e)
    archive.track(g)

    def reconstruct(images):
        mean, _ = e(images, training=False)
        return {"voxels": tf.reshape(tf.cast(g(mean, training=False), tf.float32), [-1, r, r, r])}

    def from_bytes(image_bytes):
        images = tf.map_fn(lambda b: decode_photo(b, s), image_bytes, fn_output_signature=tf.TensorSpec([s, s, 3]))
        return reconstruct(images)

    archive.add_endpoint(
        "serving_default",
        lambda images: reconstruct(in_unit_range(images, "images")),
        [tf.TensorSpec([None, s, s, 3], tf.float32, name="images")],
    )
    archive.add_endpoint("from_bytes", from_bytes, [tf.TensorSpec([None], tf.string, name="image_bytes")])
    return archive


def write_models_config(out: str | os.PathLike, base: str = "/models") -> Path:
    """TF Serving's `--model_config_file` for every servable under `out` (mounted at `base`)."""
    out = Path(out)
    entries = "".join(
        f"  config {{\n    name: '{name}'\n    base_path: '{base}/{name}'\n    model_platform: 'tensorflow'\n  }}\n"
        for name in SERVABLES
        if (out / name).is_dir()
    )
    path = out / "models.config"
    tmp = path.with_suffix(".config.tmp")
    tmp.write_text("model_config_list {\n" + entries + "}\n")
    os.replace(tmp, path)
    return path


def export(
    generator: Generator | None,
    discriminator: Discriminator | None,
    out="saved_models",
    *,
    classifier=None,
    encoder=None,
    metadata: dict | None = None,
    version: int | None = None,
) -> dict:
    """Writes the servables and `.keras` files of one trained model as version `version`.

    A model without a discriminator (a shipped generator) gets only the
    generator servable (and image to shape with an encoder); one without a
    generator (a shipped discriminator) only the features and classifier
    servables.

    Args:
        generator: the trained generator, or None.
        discriminator: the trained discriminator (same resolution), or None.
        out: the TF Serving base directory.
        classifier: None (no `gan3d_classifier`), or a dict with keys
            `pipeline` (fitted scaler + linear SVM on this D's features),
            `classes`, `temperature` and optional `metrics`.
        encoder: a 3D-VAE-GAN `Encoder` for the `gan3d_image_to_shape`
            servable (None: not written).
        metadata: extra fields for every servable's metadata (training data, metrics).
        version: the version to write (default: `next_version(out)`).

    Returns:
        {"version": v, "paths": {servable: directory}, "models_config": path}.
    """
    if generator is None and discriminator is None:
        raise ValueError("nothing to export: neither a generator nor a discriminator")
    if generator is not None and discriminator is not None and generator.resolution != discriminator.resolution:
        raise ValueError(f"generator resolution {generator.resolution} != discriminator {discriminator.resolution}")
    if discriminator is None and classifier is not None:
        raise ValueError("a classifier needs the discriminator's features, and this model has no discriminator")
    if generator is None and encoder is not None:
        raise ValueError("image to shape needs a generator, and this model has none")
    out = Path(out)
    version = next_version(out) if version is None else int(version)
    common = {
        "resolution": (generator or discriminator).resolution,
        **({"z_dim": generator.z_dim, "z_distribution": generator.z_distribution} if generator is not None else {}),
        "git_revision": git_revision(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        **(metadata or {}),
    }
    # the exported networks compute in float32 (one copy each, shared by the servables)
    g = float32_copy(generator) if generator is not None else None
    d = float32_copy(discriminator) if discriminator is not None else None
    e = float32_copy(encoder) if encoder is not None else None
    writers = {}
    if g is not None:
        writers[GENERATOR] = (lambda p: generator_archive(g).write_out(str(p), verbose=False), common)
    if d is not None:
        extractor = feature_extractor(d)
        writers[FEATURES] = (
            lambda p: features_archive(extractor).write_out(str(p), verbose=False),
            dict(common, feature_size=feature_size(discriminator)),
        )
    if classifier is not None:
        writers[CLASSIFIER] = (
            lambda p: classifier_archive(
                extractor, classifier["pipeline"], classifier["classes"], classifier["temperature"]
            ).write_out(str(p), verbose=False),
            dict(
                common,
                classes=list(classifier["classes"]),
                temperature=classifier["temperature"],
                feature_size=feature_size(discriminator),
                metrics=classifier.get("metrics", {}),
            ),
        )

    if encoder is not None:
        writers[IMAGE_TO_SHAPE] = (
            lambda p: image_to_shape_archive(e, g).write_out(str(p), verbose=False),
            dict(common, image_size=encoder.image_size, z="posterior mean of q(z|y)"),
        )

    def save_keras(p):
        p.mkdir(parents=True)
        if g is not None:
            g.save(p / "generator.keras")
        if d is not None:
            d.save(p / "discriminator.keras")
        if e is not None:
            e.save(p / "encoder.keras")

    writers[KERAS_DIR] = (save_keras, common)
    staged = {}
    try:  # stage everything first: a failure leaves no partial version behind
        for name, (write, meta) in writers.items():
            staged[name] = _stage(write, out, name, version, meta)
        for tmp, final in staged.values():
            os.rename(tmp, final)
    finally:  # whatever was staged and not renamed into place
        for name in writers:
            for leftover in (out / name).glob(f".tmp-{version}-{os.getpid()}"):
                shutil.rmtree(leftover, ignore_errors=True)
    paths = {name: final for name, (_, final) in staged.items()}
    return {
        "version": version,
        "paths": {k: str(v) for k, v in paths.items()},
        "models_config": str(write_models_config(out)),
    }


def fit_classifier(discriminator: Discriminator, data_path, seed: int = 0) -> dict:
    """The linear SVM of `evaluate.py classify` on this D's features, ready for `export(classifier=…)`.

    Fits on the train split of `data_path` (regularisation by CV on train),
    fits the softmax temperature on train, and measures test accuracy when the
    file has a non-empty test split.

    Raises:
        FileNotFoundError / ValueError: a missing or bad data file (`load_voxel_npz`).
    """
    r = discriminator.resolution
    train = load_voxel_npz(data_path, "all", "train", resolution=r)
    x = extract_features(discriminator, train.voxels)
    pipeline, alpha, cv = fit_svm(x, train.labels, seed=seed)
    w, b = fold_svm(pipeline)
    temperature = fit_temperature(x @ w + b, train.labels)
    metrics = {"data": str(data_path), "n_train": len(train.voxels), "alpha": alpha, "cv_accuracy": cv}
    with open_npz(data_path) as data:  # a missing or empty test split is skipped, a bad one is an error
        n_test = len(read_array(data, "y_test", data_path)) if "y_test" in data.files else 0
    if n_test:
        test = load_voxel_npz(data_path, "all", "test", resolution=r, skip_empty=False)
        pred = pipeline.predict(extract_features(discriminator, test.voxels))
        metrics.update(n_test=len(test.voxels), test_accuracy=float((pred == test.labels).mean()))
    return {"pipeline": pipeline, "classes": list(train.classes), "temperature": temperature, "metrics": metrics}


def export_run(run_dir, out="saved_models", classifier_data=None, seed: int = 0) -> dict:
    """`export` for a `train.py` run directory (its `.keras` files, else its latest checkpoint) or a shipped
    model folder (`pretrained/<name>`: the `.keras` files it holds, and its `metadata.json`).

    Args:
        run_dir: the run directory or model folder.
        out: the TF Serving base directory.
        classifier_data: labelled voxel `.npz` for the `gan3d_classifier`
            servable; None skips that servable.
        seed: seed of the SVM's cross-validation and SGD.

    Raises:
        FileNotFoundError: neither a run directory nor a folder of `.keras` files.
        ValueError: --classifier-data for a folder without a discriminator.
    """
    run_dir = Path(run_dir)
    parts = model_parts(run_dir)
    nets = {part: load_network(run_dir, part) for part in parts}
    if (run_dir / "config.json").is_file():
        metadata = {"run_dir": str(run_dir.resolve()), "config": json.loads((run_dir / "config.json").read_text())}
        if (run_dir / "data.json").is_file():
            metadata["training_data"] = json.loads((run_dir / "data.json").read_text())
        run = RunDir(run_dir)
        if run.latest_checkpoint() is not None:
            counters = run.counters()
            metadata["checkpoint"], metadata["epochs_trained"] = counters["checkpoint"], counters["epochs"]
    else:
        shipped = json.loads((run_dir / "metadata.json").read_text()) if (run_dir / "metadata.json").is_file() else {}
        metadata = {
            "model_dir": str(run_dir.resolve()),
            **{k: shipped[k] for k in ("name", "checkpoint", "epochs", "steps", "config") if k in shipped},
        }
        if shipped.get("data"):
            metadata["training_data"] = shipped["data"]
    if classifier_data is not None and "discriminator" not in nets:
        raise ValueError(
            f"--classifier-data: {run_dir} holds no discriminator (only {', '.join(parts)}); the "
            f"classifier servable needs one (e.g. pretrained/mn10-d)"
        )
    classifier = fit_classifier(nets["discriminator"], classifier_data, seed) if classifier_data is not None else None
    return export(
        nets.get("generator"),
        nets.get("discriminator"),
        out,
        classifier=classifier,
        encoder=nets.get("encoder"),
        metadata=metadata,
    )
