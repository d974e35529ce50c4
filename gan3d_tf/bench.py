"""Throughput benchmark: prints one JSON object.

    python -m gan3d_tf.bench                     # 32^3 and 64^3, fp32 and mixed precision
    python -m gan3d_tf.bench --presets smoke --steps 3
    python -m gan3d_tf.bench --views             # 3D-VAE-GAN training views rendered per second
    python -m gan3d_tf.bench --svm RUN_DIR FILE.npz  # linear-SVM solvers on a trained D's features
    python -m gan3d_tf.bench --builtin           # built-in shapes generated and sample grids drawn per second

For each (preset, precision) a fresh subprocess builds the model and measures
training samples/s (full GAN3D train steps through `fit`, from the median step
time after two warm-up steps) and generator shapes/s (inference, median of
the timed batches), plus the subprocess's peak resident memory. Random occupancy grids stand in for data: speed does not depend on
their content.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

DEFAULT_BATCH = {"smoke": 32, "modelnet32": 32, "paper64": 16}


class StepTimer(keras.callbacks.Callback):
    """Records the wall time of every training batch."""

    def __init__(self):
        super().__init__()
        self.seconds = []
        self._start = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def measure(preset: str, mixed: bool, batch_size: int, steps: int) -> dict:
    """Times train steps and generator inference for one configuration."""
    import numpy as np
    import tensorflow as tf

    from gan3d_tf.config import get_preset
    from gan3d_tf.training import build_gan

    config = get_preset(preset).replace(**{"train.mixed_precision": mixed, "train.batch_size": batch_size})
    gan = build_gan(config)
    r = config.model.resolution
    grids = (np.random.default_rng(0).random((batch_size, r, r, r)) < 0.1).astype(np.float32)
    data = tf.data.Dataset.from_tensors(grids).repeat()
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # trace + warm up
    timer = StepTimer()
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    train_s = statistics.median(timer.seconds)

    z = gan.sample_z(batch_size)
    infer = tf.function(lambda z: gan.generator(z, training=False))
    infer(z).numpy()
    gen_times = []
    for _ in range(steps):
        start = time.perf_counter()
        infer(z).numpy()
        gen_times.append(time.perf_counter() - start)
    gen_s = statistics.median(gen_times)
    return {
        "preset": preset,
        "resolution": r,
        "precision": gan.generator.dtype_policy.name,
        "batch_size": batch_size,
        "steps": steps,
        "train_samples_per_s": round(batch_size / train_s, 3),
        "generator_shapes_per_s": round(batch_size / gen_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure_views(resolution: int, image_size: int = 256, n: int = 20) -> dict:
    """Median time of one random training view (`gan3d_tf.data.views.make_pair`) of a procedural chair."""
    import tensorflow as tf

    from gan3d_tf.data.procedural import make_dataset
    from gan3d_tf.data.views import make_pair

    chairs = [tf.constant(v) for v in make_dataset("chair", 4, resolution=resolution, seed=0)]
    render = tf.function(lambda v, s: make_pair(v, s, image_size=image_size)[0])
    render(chairs[0], tf.constant([0, 0], tf.int64)).numpy()  # trace
    seconds = []
    for i in range(n):
        start = time.perf_counter()
        render(chairs[i % 4], tf.constant([0, i], tf.int64)).numpy()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {"resolution": resolution, "image_size": image_size, "views": n, "median_ms": round(1000 * median, 1),
            "views_per_s": round(1 / median, 1), "threads": "all (tf default)"}


def measure_builtin(n_shapes: int = 100, n_drawn: int = 16, resolution: int = 64, repeats: int = 3) -> dict:
    """Median time to generate `n_shapes` procedural chairs and to draw a sample grid of `n_drawn` of them."""
    from gan3d_tf.data.procedural import make_dataset
    from gan3d_tf.render import render_grid

    def median_seconds(fn):
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - start)
        return statistics.median(seconds)

    generate = median_seconds(lambda: make_dataset("chair", n_shapes, resolution=resolution, seed=0))
    shapes = make_dataset("chair", n_drawn, resolution=resolution, seed=0)
    draw = median_seconds(lambda: render_grid(shapes))
    return {"resolution": resolution, "generate_shapes": n_shapes, "generate_s": round(generate, 3),
            "shapes_per_s": round(n_shapes / generate, 1), "sample_grid_shapes": n_drawn,
            "sample_grid_s": round(draw, 3), "repeats": repeats}


SVM_SOLVERS = ("asgd", "sgd", "liblinear")


def measure_svm(run_dir: str, data_path: str, alpha: float, solvers=SVM_SOLVERS) -> dict:
    """Fit time (one core) and test accuracy of one linear-SVM fit per solver on a run's D features.

    asgd is `classify.fit_svm`'s solver (averaged SGD, SVM_EPOCHS passes);
    sgd is plain SGD up to 100 passes; liblinear is `LinearSVC` (hinge loss,
    dual coordinate descent) with C = 1 / (alpha * n_train), the same objective.
    """
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from gan3d_tf.classify import linear_svm
    from gan3d_tf.data.voxel_npz import load_voxel_npz
    from gan3d_tf.features import extract_features
    from gan3d_tf.sampling import load_network

    d = load_network(run_dir, "discriminator")
    train = load_voxel_npz(data_path, "all", "train", resolution=d.resolution)
    test = load_voxel_npz(data_path, "all", "test", resolution=d.resolution, skip_empty=False)
    xtr, xte = extract_features(d, train.voxels), extract_features(d, test.voxels)
    n = len(xtr)
    make = {
        "asgd": lambda: linear_svm(alpha),
        "sgd": lambda: SGDClassifier(loss="hinge", alpha=alpha, max_iter=100, tol=1e-4, random_state=0),
        "liblinear": lambda: LinearSVC(C=1.0 / (alpha * n), loss="hinge", dual=True, max_iter=2000),
    }
    results = []
    for name in solvers:
        model = make_pipeline(StandardScaler(), make[name]())
        start = time.perf_counter()
        model.fit(xtr, train.labels)
        seconds = time.perf_counter() - start
        results.append({"solver": name, "fit_s": round(seconds, 1),
                        "test_accuracy": round(float((model.predict(xte) == test.labels).mean()), 4)})
    return {"run": str(run_dir), "data": str(data_path), "n_train": n, "n_features": int(xtr.shape[1]),
            "classes": len(train.classes), "alpha": alpha, "threads": 1, "svm": results}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", nargs="+", default=["modelnet32", "paper64"], help="presets to measure")
    p.add_argument("--precisions", nargs="+", choices=("float32", "mixed"), default=["float32", "mixed"])
    p.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    p.add_argument("--batch-size", type=int, help="batch size (default: 32 at 32^3, 16 at 64^3)")
    p.add_argument("--views", action="store_true", help="measure the VAE-GAN view renderer instead")
    p.add_argument("--builtin", action="store_true",
                   help="measure built-in shape generation and sample-grid drawing instead")
    p.add_argument("--svm", nargs=2, metavar=("RUN_DIR", "FILE.npz"),
                   help="measure linear-SVM solvers on the features of RUN_DIR's D instead")
    p.add_argument("--svm-alpha", type=float, default=1e-4, help="--svm: L2 penalty of every solver")
    p.add_argument("--svm-solvers", nargs="+", choices=SVM_SOLVERS, default=["asgd", "sgd"],
                   help="--svm: solvers (liblinear, opt-in, can take many minutes per fit)")
    p.add_argument("--one", nargs=2, metavar=("PRESET", "PRECISION"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        preset, precision = args.one
        batch = args.batch_size or DEFAULT_BATCH.get(preset, 16)
        print(json.dumps(measure(preset, precision == "mixed", batch, args.steps)))
        return 0

    if args.builtin:
        print(json.dumps({"cpu_count": os.cpu_count(), "builtin": [measure_builtin(resolution=32),
                                                                   measure_builtin(resolution=64)]}, indent=2))
        return 0
    import tensorflow as tf

    if args.svm:
        print(json.dumps({"cpu_count": os.cpu_count(), **measure_svm(*args.svm, args.svm_alpha, args.svm_solvers)},
                         indent=2))
        return 0
    if args.views:
        print(json.dumps({"cpu_count": os.cpu_count(), "tensorflow": tf.__version__,
                          "views": [measure_views(32), measure_views(64)]}, indent=2))
        return 0
    results = []
    for preset in args.presets:
        for precision in args.precisions:
            cmd = [sys.executable, "-m", "gan3d_tf.bench", "--one", preset, precision, "--steps", str(args.steps)]
            if args.batch_size:
                cmd += ["--batch-size", str(args.batch_size)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"benchmark {preset}/{precision} failed:\n{out.stderr[-3000:]}")
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    report = {
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "tensorflow": tf.__version__,
        "results": results,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
