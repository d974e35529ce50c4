"""Throughput benchmark: prints one JSON object.

    python -m gan3d_tf.bench                     # 32^3 and 64^3, fp32 and mixed precision
    python -m gan3d_tf.bench --presets smoke --steps 3
    python -m gan3d_tf.bench --vs-torch          # fp32, smoke/modelnet32/paper64, against a same-work PyTorch step
    python -m gan3d_tf.bench --profile smoke     # where the time of one train step goes
    python -m gan3d_tf.bench --views             # 3D-VAE-GAN training views rendered per second
    python -m gan3d_tf.bench --svm RUN_DIR FILE.npz  # linear-SVM solvers on a trained D's features
    python -m gan3d_tf.bench --builtin           # built-in shapes generated and sample grids drawn per second

For each (preset, precision) a fresh subprocess builds the model and measures
training samples/s (full GAN3D train steps through `fit`, D updated every
step, from the median step time after two warm-up steps) and generator
shapes/s (inference, median of the timed batches), plus the subprocess's peak
resident memory and its float32 matmul peak (see `matmul_peak_gflops`). Random
occupancy grids stand in for data: speed does not depend on their content.
The report also names the CPU (model, AVX2/AVX-512/AMX flags), TensorFlow's
version, oneDNN and thread settings, and the arithmetic of each step
(`train_step_flops`, `generator_flops`), so achieved GFLOP/s and the fraction
of the matmul peak come with every number.

`--vs-torch` also times `benchmarks/torch_reference.py` (the same networks and
train step in PyTorch) per preset, alternating fresh subprocesses TF, torch,
TF, torch (`--rounds` pairs), and reports the medians over the rounds and the
TF / torch ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

DEFAULT_BATCH = {"smoke": 32, "modelnet32": 32, "paper64": 16}
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
PEAK_N, PEAK_REPEATS = 4096, 3  # float32 matmul of the peak measurement: side, timed products (after one warm-up)
TORCH_MISSING = "torch is not installed; pip install torch==2.13.0 for the CPU wheel"
TORCH_REFERENCE = Path(__file__).resolve().parents[1] / "benchmarks" / "torch_reference.py"
FLOP_CONVENTION = (
    "2 FLOPs per multiply-add of every conv / transposed conv (padding zeros included, BN and activations "
    "ignored); train step = G forward (B) + D forward (2B) + D weight and input grads (2 x D forward on 2B) "
    "+ D input grads on the fake half (D forward on B) + G weight and input grads (2 x G forward on B)"
)


def conv_macs(m) -> tuple[list[int], list[int]]:
    """Multiply-adds per sample of every conv of G and of D, layer by layer in forward order.

    A conv with kernel k^3 costs (output voxels) x c_out x k^3 x c_in; a
    transposed conv, which scatters each input voxel onto k^3 outputs,
    (input voxels) x c_in x k^3 x c_out. Padding zeros count (the kernels
    compute them).

    Args:
        m: a `ModelConfig` (z_dim, g_widths, d_widths, resolution).
    """
    k3 = 4**3
    g, side, channels = [], 1, m.z_dim  # z is a 1^3 volume with z_dim channels
    for width in (*m.g_widths, 1):
        g.append(side**3 * channels * k3 * width)
        side, channels = (4 if side == 1 else 2 * side), width
    d, side, channels = [], m.resolution, 1
    for width in m.d_widths:
        side //= 2
        d.append(side**3 * width * k3 * channels)
        channels = width
    d.append(k3 * channels)  # valid 4^3 conv to one logit
    return g, d


def generator_flops(m, batch_size: int = 1) -> int:
    """FLOPs of one generator forward pass over `batch_size` latents (2 per multiply-add, see `conv_macs`).

    Args:
        m: a `ModelConfig`.
        batch_size: shapes generated.
    """
    return 2 * sum(conv_macs(m)[0]) * batch_size


def discriminator_flops(m, batch_size: int = 1) -> int:
    """FLOPs of one discriminator forward pass over `batch_size` grids (2 per multiply-add, see `conv_macs`).

    Args:
        m: a `ModelConfig`.
        batch_size: grids scored.
    """
    return 2 * sum(conv_macs(m)[1]) * batch_size


def train_step_flops(m, batch_size: int) -> int:
    """FLOPs of one GAN3D train step on `batch_size` real shapes, counted from the architecture.

    Convention (B = batch_size; F_G(n), F_D(n) = forward FLOPs of G, D on n
    samples, 2 per multiply-add of every conv and transposed conv including
    padding zeros; batch norm, activations, losses and Adam are ignored; a
    layer's backward counts 2x its forward, one for the weight gradient and
    one for the input gradient, and an input-gradient-only pass 1x):

        G forward on B                                      F_G(B)
        D forward on 2B = concat(real, fake)                F_D(2B)
        D backward of D's loss, weight + input grads, 2B    2 F_D(2B)
        G's loss back through D to the fake half: D input
        grads on B (D's weights need no grad here)          F_D(B)
        G backward of G's loss, weight + input grads, B     2 F_G(B)
        total                                               3 F_G(B) + 7 F_D(B)

    Against what the frameworks execute, this convention counts two input
    gradients that neither computes (w.r.t. z through G's first layer, and
    through D's first conv in D's own backward: 1.6 % of the total for
    smoke, under 1 % for modelnet32 and paper64), and leaves out that both
    run the input-gradient pass of G's loss through D over all 2B samples
    (the real half gets zero gradients), F_D(B) more.

    Args:
        m: a `ModelConfig`.
        batch_size: real shapes per step (B).
    """
    return 3 * generator_flops(m, batch_size) + 7 * discriminator_flops(m, batch_size)


def cpu_info(cpuinfo: str) -> dict:
    """CPU model name and which of `ISA_FLAGS` are present, from the text of /proc/cpuinfo.

    Args:
        cpuinfo: the file's text (the first "model name" and "flags" lines are read).

    Returns:
        {"model": str or None, "isa": {flag: bool} or None when there is no flags line}.
    """
    fields = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    flags = set(fields["flags"].split()) if "flags" in fields else None
    return {"model": fields.get("model name"),
            "isa": None if flags is None else {flag: flag in flags for flag in ISA_FLAGS}}


def system_info() -> dict:
    """This machine's CPU (see `cpu_info`), core count, architecture and OMP_NUM_THREADS (None when unset)."""
    proc = Path("/proc/cpuinfo")
    cpu = cpu_info(proc.read_text()) if proc.is_file() else {"model": platform.processor() or None, "isa": None}
    return {"cpu": cpu["model"], "isa": cpu["isa"], "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}


def tensorflow_info() -> dict:
    """TensorFlow's version, device, oneDNN state and thread-pool settings in this process.

    The measurement subprocesses inherit this process's environment, so
    they run with the same oneDNN and thread settings.
    """
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    return {
        "version": tf.__version__,
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
        "onednn_enabled": bool(_pywrap_util_port.IsMklEnabled()),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "threads_note": "0 = TensorFlow's default (one thread per logical core)",
    }


def median_seconds(fn, repeats: int, warmup: int = 0) -> float:
    """Median wall time of `repeats` calls of `fn` after `warmup` untimed calls.

    Args:
        fn: the function to time (no arguments).
        repeats: timed calls.
        warmup: untimed calls first.
    """
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def matmul_peak_gflops(n: int = PEAK_N, repeats: int = PEAK_REPEATS) -> float:
    """float32 n x n `tf.matmul` GFLOP/s (2 n^3 per product), median of `repeats` after one warm-up.

    Args:
        n: matrix side.
        repeats: timed products.
    """
    import tensorflow as tf

    a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
    return 2 * n**3 / median_seconds(lambda: tf.matmul(a, b).numpy(), repeats, warmup=1) / 1e9


def efficiency(run: dict, m) -> dict:
    """Achieved GFLOP/s of a measured run and their fraction of its matmul peak.

    Args:
        run: a result of `measure` or of the torch reference (train_step_s,
            generator_batch_s, batch_size, matmul_peak_gflops).
        m: the run's `ModelConfig`.
    """
    train = train_step_flops(m, run["batch_size"]) / run["train_step_s"] / 1e9
    gen = generator_flops(m, run["batch_size"]) / run["generator_batch_s"] / 1e9
    return {"train_gflops": round(train, 2), "train_fraction_of_peak": round(train / run["matmul_peak_gflops"], 3),
            "generator_gflops": round(gen, 2),
            "generator_fraction_of_peak": round(gen / run["matmul_peak_gflops"], 3)}


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

    return get_preset(preset).replace(**{"train.mixed_precision": mixed, "train.batch_size": batch_size,
                                         "train.d_acc_threshold": 1.0})


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
    z = gan.sample_z(batch_size)
    g_vars, d_vars = gan.generator.trainable_variables, gan.discriminator.trainable_variables

    def forward_backward():
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            _, _, d_loss, g_loss = gan.gan_losses(real, gan.generator(z, training=True))
        return d_tape.gradient(d_loss, d_vars), g_tape.gradient(g_loss, g_vars)

    parts = {
        "g_forward": tf.function(lambda: gan.generator(z, training=True)),
        "d_forward_2b": tf.function(lambda: gan.discriminator(tf.concat([real, real], 0), training=True)),
        "forward_and_losses": tf.function(lambda: gan.gan_losses(real, gan.generator(z, training=True))),
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
    return {"preset": preset, "batch_size": batch_size, "steps": steps, "matmul_peak_gflops": round(peak, 1),
            "train_step_gflop": round(flops / 1e9, 3),
            "fit_step_fraction_of_peak": round(flops / timings["fit_step"] / 1e9 / peak, 3),
            "ms": {k: round(1000 * v, 1) for k, v in timings.items()},
            "fraction_of_fit_step": {k: round(v / timings["fit_step"], 3) for k, v in timings.items()}}


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
    from gan3d_tf.visual.render import render_grid

    generate = median_seconds(lambda: make_dataset("chair", n_shapes, resolution=resolution, seed=0), repeats)
    shapes = make_dataset("chair", n_drawn, resolution=resolution, seed=0)
    draw = median_seconds(lambda: render_grid(shapes), repeats)
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
        results.append({"solver": name, "fit_s": round(seconds, 1),
                        "test_accuracy": round(float((model.predict(xte) == test.labels).mean()), 4)})
    return {"run": str(run_dir), "data": str(data_path), "n_train": n, "n_features": int(xtr.shape[1]),
            "classes": len(train.classes), "alpha": alpha, "threads": 1, "svm": results}


MEDIAN_KEYS = ("train_samples_per_s", "generator_shapes_per_s", "train_gflops", "train_fraction_of_peak",
               "generator_gflops", "generator_fraction_of_peak", "matmul_peak_gflops", "peak_rss_mb")
RATIO_KEYS = ("train_samples_per_s", "generator_shapes_per_s")


def run_json(cmd: list[str]) -> dict:
    """Runs one measurement subprocess; returns the JSON object on the last line of its stdout.

    Args:
        cmd: the command line.

    Raises:
        RuntimeError: the subprocess failed (its stderr's tail is in the message).
    """
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark {' '.join(cmd[1:5])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def torch_importable() -> bool:
    """Whether `import torch` can find a torch installation (torch itself is not loaded here)."""
    return importlib.util.find_spec("torch") is not None


def tf_command(preset: str, precision: str, steps: int, batch_size: int) -> list[str]:
    """The command of one TensorFlow measurement subprocess (`--one`).

    Args:
        preset: preset name.
        precision: "float32" or "mixed".
        steps: timed steps.
        batch_size: shapes per step.
    """
    return [sys.executable, "-m", "gan3d_tf.bench", "--one", preset, precision, "--steps", str(steps),
            "--batch-size", str(batch_size)]


def torch_command(config, steps: int, batch_size: int) -> list[str]:
    """The command of one PyTorch reference subprocess (`benchmarks/torch_reference.py`).

    Args:
        config: the benchmarked `Config` (see `bench_config`).
        steps: timed steps.
        batch_size: shapes per step.
    """
    if not TORCH_REFERENCE.is_file():
        raise FileNotFoundError(f"{TORCH_REFERENCE} not found: --vs-torch needs the repository checkout")
    return [sys.executable, str(TORCH_REFERENCE), "--config", json.dumps(config.to_dict()), "--steps", str(steps),
            "--batch-size", str(batch_size), "--peak-n", str(PEAK_N), "--peak-repeats", str(PEAK_REPEATS)]


def summarize(runs: list[dict], m) -> dict:
    """The runs of one framework and configuration, each with its `efficiency`, and the medians over them.

    Args:
        runs: results of `measure` or of the torch reference, one per round.
        m: their `ModelConfig`.
    """
    runs = [{**run, **efficiency(run, m)} for run in runs]
    return {**{key: round(statistics.median(run[key] for run in runs), 3) for key in MEDIAN_KEYS}, "runs": runs}


def compare(presets, precisions, steps: int, batch_size: int | None, rounds: int, with_torch: bool,
            run=run_json) -> list[dict]:
    """Measures every (preset, precision), each run in a fresh subprocess, and the torch reference at float32.

    Per configuration the subprocesses alternate TF, torch, TF, torch, ...
    (`rounds` of each); each entry holds every run and the medians over
    them, "torch" and "tf_over_torch" are None when torch was not run.

    Args:
        presets: preset names.
        precisions: "float32" and/or "mixed" (torch runs at float32 only).
        steps: timed steps per measurement.
        batch_size: shapes per step (None: `DEFAULT_BATCH`).
        rounds: measurements per framework and configuration.
        with_torch: also run the torch reference.
        run: runs a command and returns its JSON result (`run_json`).
    """
    entries = []
    for preset in presets:
        for precision in precisions:
            batch = batch_size or DEFAULT_BATCH.get(preset, 16)
            config = bench_config(preset, precision == "mixed", batch)
            torch_too = with_torch and precision == "float32"
            tf_runs, torch_runs = [], []
            for _ in range(rounds):
                tf_runs.append(run(tf_command(preset, precision, steps, batch)))
                if torch_too:
                    torch_runs.append(run(torch_command(config, steps, batch)))
            m = config.model
            entry = {"preset": preset, "precision": precision, "resolution": m.resolution, "batch_size": batch,
                     "train_step_gflop": round(train_step_flops(m, batch) / 1e9, 3),
                     "generator_gflop_per_shape": round(generator_flops(m) / 1e9, 4),
                     "tensorflow": summarize(tf_runs, m), "torch": summarize(torch_runs, m) if torch_runs else None}
            entry["tf_over_torch"] = None if not torch_runs else {
                key: round(entry["tensorflow"][key] / entry["torch"][key], 3) for key in RATIO_KEYS}
            entries.append(entry)
    return entries


def main(argv=None, run=run_json, torch_present=torch_importable) -> int:
    """The command line (see the module docstring).

    Args:
        argv: arguments (None: sys.argv[1:]).
        run: runs a measurement subprocess and returns its JSON result (`run_json`).
        torch_present: says whether torch can be imported (`torch_importable`).
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", nargs="+",
                   help="presets to measure (default: modelnet32 paper64; with --vs-torch smoke modelnet32 paper64)")
    p.add_argument("--precisions", nargs="+", choices=("float32", "mixed"),
                   help="precisions (default: float32 mixed; with --vs-torch float32)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    p.add_argument("--batch-size", type=int, help="batch size (default: 32 at 32^3, 16 at 64^3)")
    p.add_argument("--vs-torch", action="store_true",
                   help="also time the same networks and train step in PyTorch (benchmarks/torch_reference.py)")
    p.add_argument("--rounds", type=int,
                   help="fresh subprocesses per framework and configuration, alternated (default: 2 with "
                        "--vs-torch, else 1); the report gives their medians")
    p.add_argument("--views", action="store_true", help="measure the VAE-GAN view renderer instead")
    p.add_argument("--builtin", action="store_true",
                   help="measure built-in shape generation and sample-grid drawing instead")
    p.add_argument("--svm", nargs=2, metavar=("RUN_DIR", "FILE.npz"),
                   help="measure linear-SVM solvers on the features of RUN_DIR's D instead")
    p.add_argument("--svm-alpha", type=float, default=1e-4, help="--svm: L2 penalty of every solver")
    p.add_argument("--svm-solvers", nargs="+", choices=SVM_SOLVERS, default=["asgd", "sgd"],
                   help="--svm: solvers (liblinear, opt-in, can take many minutes per fit)")
    p.add_argument("--profile", metavar="PRESET",
                   help="time the parts of PRESET's float32 train step (G, D, losses, backward, Adam, fit) instead")
    p.add_argument("--one", nargs=2, metavar=("PRESET", "PRECISION"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.profile:
        batch = args.batch_size or DEFAULT_BATCH.get(args.profile, 16)
        print(json.dumps({"system": system_info(), "tensorflow": tensorflow_info(),
                          "profile": profile(args.profile, batch, args.steps)}, indent=2))
        return 0
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
    with_torch = args.vs_torch and torch_present()
    if args.vs_torch and not with_torch:
        print(TORCH_MISSING, file=sys.stderr)
    presets = args.presets or (["smoke", "modelnet32", "paper64"] if args.vs_torch else ["modelnet32", "paper64"])
    precisions = args.precisions or (["float32"] if args.vs_torch else ["float32", "mixed"])
    rounds = args.rounds or (2 if args.vs_torch else 1)
    results = compare(presets, precisions, args.steps, args.batch_size, rounds, with_torch, run)
    report = {
        "system": system_info(),
        "tensorflow": tensorflow_info(),
        "matmul_peak": f"float32 {PEAK_N}x{PEAK_N} matmul (tf.matmul; torch.matmul in torch runs), median of "
                       f"{PEAK_REPEATS} after one warm-up, measured in every measurement subprocess; each run's "
                       "fractions of peak use its own subprocess's peak",
        "flops": FLOP_CONVENTION,
        "timing": f"train: median of {args.steps} steps after 2 warm-up steps (TF through fit); generator: median "
                  f"of {args.steps} batches after one warm-up (TF: traced tf.function, training=False; torch: "
                  "no_grad, eval-mode batch norm)",
        "rounds": f"{rounds} fresh subprocess(es) per framework and configuration"
                  + (", alternated TF, torch, TF, torch, ...; values are medians over the rounds" if with_torch
                     else "; values are medians over the rounds"),
    }
    first = next((e["torch"]["runs"][0] for e in results if e["torch"]), None)
    report["torch"] = None if first is None else {
        "version": first["torch"], "threads": first["torch_threads"],
        "interop_threads": first["torch_interop_threads"], "cpu_capability": first["torch_cpu_capability"]}
    report["results"] = results
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
