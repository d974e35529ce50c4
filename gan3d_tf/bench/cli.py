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
import json
import os
import sys

from gan3d_tf.bench.flops import FLOP_CONVENTION
from gan3d_tf.bench.measurements import (
    DEFAULT_BATCH,
    SVM_SOLVERS,
    measure,
    measure_builtin,
    measure_svm,
    measure_views,
    profile,
)
from gan3d_tf.bench.system import PEAK_N, PEAK_REPEATS, system_info, tensorflow_info
from gan3d_tf.bench.torch_compare import TORCH_MISSING, compare, run_json, torch_importable


def main(argv=None, run=run_json, torch_present=torch_importable) -> int:
    """The command line (see the module docstring).

    Args:
        argv: arguments (None: sys.argv[1:]).
        run: runs a measurement subprocess and returns its JSON result (`run_json`).
        torch_present: says whether torch can be imported (`torch_importable`).
    """
    p = argparse.ArgumentParser(prog="python -m gan3d_tf.bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--presets",
        nargs="+",
        help="presets to measure (default: modelnet32 paper64; with --vs-torch smoke modelnet32 paper64)",
    )
    p.add_argument(
        "--precisions",
        nargs="+",
        choices=("float32", "mixed"),
        help="precisions (default: float32 mixed; with --vs-torch float32)",
    )
    p.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    p.add_argument("--batch-size", type=int, help="batch size (default: 32 at 32^3, 16 at 64^3)")
    p.add_argument(
        "--vs-torch",
        action="store_true",
        help="also time the same networks and train step in PyTorch (benchmarks/torch_reference.py)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        help="fresh subprocesses per framework and configuration, alternated (default: 2 with "
        "--vs-torch, else 1); the report gives their medians",
    )
    p.add_argument("--views", action="store_true", help="measure the VAE-GAN view renderer instead")
    p.add_argument(
        "--builtin", action="store_true", help="measure built-in shape generation and sample-grid drawing instead"
    )
    p.add_argument(
        "--svm",
        nargs=2,
        metavar=("RUN_DIR", "FILE.npz"),
        help="measure linear-SVM solvers on the features of RUN_DIR's D instead",
    )
    p.add_argument("--svm-alpha", type=float, default=1e-4, help="--svm: L2 penalty of every solver")
    p.add_argument(
        "--svm-solvers",
        nargs="+",
        choices=SVM_SOLVERS,
        default=["asgd", "sgd"],
        help="--svm: solvers (liblinear, opt-in, can take many minutes per fit)",
    )
    p.add_argument(
        "--profile",
        metavar="PRESET",
        help="time the parts of PRESET's float32 train step (G, D, losses, backward, Adam, fit) instead",
    )
    p.add_argument("--one", nargs=2, metavar=("PRESET", "PRECISION"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.profile:
        batch = args.batch_size or DEFAULT_BATCH.get(args.profile, 16)
        print(
            json.dumps(
                {
                    "system": system_info(),
                    "tensorflow": tensorflow_info(),
                    "profile": profile(args.profile, batch, args.steps),
                },
                indent=2,
            )
        )
        return 0
    if args.one:
        preset, precision = args.one
        batch = args.batch_size or DEFAULT_BATCH.get(preset, 16)
        print(json.dumps(measure(preset, precision == "mixed", batch, args.steps)))
        return 0

    if args.builtin:
        print(
            json.dumps(
                {
                    "cpu_count": os.cpu_count(),
                    "builtin": [measure_builtin(resolution=32), measure_builtin(resolution=64)],
                },
                indent=2,
            )
        )
        return 0
    import tensorflow as tf

    if args.svm:
        print(
            json.dumps(
                {"cpu_count": os.cpu_count(), **measure_svm(*args.svm, args.svm_alpha, args.svm_solvers)}, indent=2
            )
        )
        return 0
    if args.views:
        print(
            json.dumps(
                {
                    "cpu_count": os.cpu_count(),
                    "tensorflow": tf.__version__,
                    "views": [measure_views(32), measure_views(64)],
                },
                indent=2,
            )
        )
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
        + (
            ", alternated TF, torch, TF, torch, ...; values are medians over the rounds"
            if with_torch
            else "; values are medians over the rounds"
        ),
    }
    first = next((e["torch"]["runs"][0] for e in results if e["torch"]), None)
    report["torch"] = (
        None
        if first is None
        else {
            "version": first["torch"],
            "threads": first["torch_threads"],
            "interop_threads": first["torch_interop_threads"],
            "cpu_capability": first["torch_cpu_capability"],
        }
    )
    report["results"] = results
    print(json.dumps(report, indent=2))
    return 0
