"""Measurements, each in this process: train steps and generator inference of one configuration, the parts
of a train step (`profile`), training views, built-in shapes and sample grids, linear-SVM solvers."""

from __future__ import annotations

import os
import resource
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from gan3d_tf.bench.flops import train_step_flops  # noqa: E402
from gan3d_tf.bench.system import matmul_peak_gflops, median_seconds  # noqa: E402

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


def bench_config(preset: str, mixed: bool, batch_size: int):
    """The preset's `Config` as benchmarked: the given precision and batch, D updated every step.

    Args:
        preset: preset name.
        mixed: mixed precision.
        batch_size: real shapes per step.
    """
    from gan3d_tf.config import get_preset

    return get_preset(preset).replace(
        **{"train.mixed_precision": mixed, "train.batch_size": batch_size, "train.d_acc_threshold": 1.0}
    )


def measure(preset: str, mixed: bool, batch_size: int, steps: int) -> dict:
    """Times train steps and generator inference for one configuration, after measuring the matmul peak.

    Args:
        preset: preset name.
        mixed: mixed precision (bf16 on CPU).
        batch_size: shapes per train step and per generator batch.
        steps: timed train steps and generator batches.
    """
    import numpy as np
    import tensorflow as tf

    from gan3d_tf.training import build_gan

    peak = matmul_peak_gflops()
    config = bench_config(preset, mixed, batch_size)
    gan = build_gan(config)
    r = config.model.resolution
    grids = (np.random.default_rng(0).random((batch_size, r, r, r)) < 0.1).astype(np.float32)
    data = tf.data.Dataset.from_tensors(grids).repeat()
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # trace + warm up
    timer = StepTimer()
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    train_s = statistics.median(timer.seconds)

    z = gan.draw_z(batch_size)
    infer = tf.function(lambda z: gan.generator(z, training=False))
    infer(z).numpy()
    gen_times = []
    for _ in range(steps):
        start = time.perf_counter()
        infer(z).numpy()
        gen_times.append(time.perf_counter() - start)
    gen_s = statistics.median(gen_times)
    return {
        "framework": "tensorflow",
        "preset": preset,
        "resolution": r,
        "precision": gan.generator.dtype_policy.name,
        "batch_size": batch_size,
        "steps": steps,
        "train_step_s": round(train_s, 4),
        "generator_batch_s": round(gen_s, 4),
        "train_samples_per_s": round(batch_size / train_s, 3),
        "generator_shapes_per_s": round(batch_size / gen_s, 3),
        "matmul_peak_gflops": round(peak, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def profile(preset: str, batch_size: int, steps: int) -> dict:
    """Where one train step's time goes: its parts timed alone, median of `steps` after two warm-ups.

    Parts, each a traced `tf.function` on a fixed batch (no input pipeline):
    G's forward pass; D's forward pass over 2 x batch; the forward pass with
    both losses; forward and both backward passes (no optimizer); the whole
    `train_step` (with Adam and the metrics) called directly; and the same
    step through `fit` on a repeated tf.data batch (Keras' loop, callbacks,
    the input pipeline). Also the float32 matmul peak of the same process.

    Args:
        preset: preset name (D updated every step).
        batch_size: real shapes per step.
        steps: timed calls per part.
    """
    import numpy as np
    import tensorflow as tf

    from gan3d_tf.training import build_gan

    peak = matmul_peak_gflops()
    config = bench_config(preset, False, batch_size)
    gan = build_gan(config)
    r = config.model.resolution
    real = tf.constant((np.random.default_rng(0).random((batch_size, r, r, r)) < 0.1).astype(np.float32))
    z = gan.draw_z(batch_size)
    g_vars, d_vars = gan.generator.trainable_variables, gan.discriminator.trainable_variables

    def forward_backward():
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            _, _, d_loss, g_loss = gan.score_and_losses(real, gan.generator(z, training=True))
        return d_tape.gradient(d_loss, d_vars), g_tape.gradient(g_loss, g_vars)

    parts = {
        "g_forward": tf.function(lambda: gan.generator(z, training=True)),
        "d_forward_2b": tf.function(lambda: gan.discriminator(tf.concat([real, real], 0), training=True)),
        "forward_and_losses": tf.function(lambda: gan.score_and_losses(real, gan.generator(z, training=True))),
        "forward_backward": tf.function(forward_backward),
        "train_step_direct": tf.function(lambda: gan.train_step(real)),
    }
    timings = {}
    for name, fn in parts.items():
        timings[name] = median_seconds(lambda: tf.nest.map_structure(lambda t: t.numpy(), fn()), steps, warmup=2)
    timer = StepTimer()
    data = tf.data.Dataset.from_tensors(real).repeat()
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
    gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    timings["fit_step"] = statistics.median(timer.seconds)
    flops = train_step_flops(config.model, batch_size)
    return {
        "preset": preset,
        "batch_size": batch_size,
        "steps": steps,
        "matmul_peak_gflops": round(peak, 1),
        "train_step_gflop": round(flops / 1e9, 3),
        "fit_step_fraction_of_peak": round(flops / timings["fit_step"] / 1e9 / peak, 3),
        "ms": {k: round(1000 * v, 1) for k, v in timings.items()},
        "fraction_of_fit_step": {k: round(v / timings["fit_step"], 3) for k, v in timings.items()},
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
    return {
        "resolution": resolution,
        "image_size": image_size,
        "views": n,
        "median_ms": round(1000 * median, 1),
        "views_per_s": round(1 / median, 1),
        "threads": "all (tf default)",
    }


def measure_builtin(n_shapes: int = 100, n_drawn: int = 16, resolution: int = 64, repeats: int = 3) -> dict:
    """Median time to generate `n_shapes` procedural chairs and to draw a sample grid of `n_drawn` of them."""
    from gan3d_tf.data.procedural import make_dataset
    from gan3d_tf.visual.render import render_grid

    generate = median_seconds(lambda: make_dataset("chair", n_shapes, resolution=resolution, seed=0), repeats)
    shapes = make_dataset("chair", n_drawn, resolution=resolution, seed=0)
    draw = median_seconds(lambda: render_grid(shapes), repeats)
    return {
        "resolution": resolution,
        "generate_shapes": n_shapes,
        "generate_s": round(generate, 3),
        "shapes_per_s": round(n_shapes / generate, 1),
        "sample_grid_shapes": n_drawn,
        "sample_grid_s": round(draw, 3),
        "repeats": repeats,
    }


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

    from gan3d_tf.evaluation.classify import linear_svm
    from gan3d_tf.data.voxel_npz import load_voxel_npz
    from gan3d_tf.evaluation.features import extract_features
    from gan3d_tf.training.run_dir import load_network

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
        results.append(
            {
                "solver": name,
                "fit_s": round(seconds, 1),
                "test_accuracy": round(float((model.predict(xte) == test.labels).mean()), 4),
            }
        )
    return {
        "run": str(run_dir),
        "data": str(data_path),
        "n_train": n,
        "n_features": int(xtr.shape[1]),
        "classes": len(train.classes),
        "alpha": alpha,
        "threads": 1,
        "svm": results,
    }
