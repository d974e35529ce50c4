"""Fresh measurement subprocesses: TensorFlow (`python -m gan3d_tf.bench --one`) alternated with the
PyTorch reference (`benchmarks/torch_reference.py`), and the medians and TF / torch ratios over the rounds."""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path

from gan3d_tf.bench.flops import efficiency, generator_flops, train_step_flops
from gan3d_tf.bench.measurements import DEFAULT_BATCH, bench_config
from gan3d_tf.bench.system import PEAK_N, PEAK_REPEATS

TORCH_MISSING = "torch is not installed; pip install torch==2.13.0 for the CPU wheel"
TORCH_REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "torch_reference.py"
MEDIAN_KEYS = (
    "train_samples_per_s",
    "generator_shapes_per_s",
    "train_gflops",
    "train_fraction_of_peak",
    "generator_gflops",
    "generator_fraction_of_peak",
    "matmul_peak_gflops",
    "peak_rss_mb",
)
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
    return [
        sys.executable,
        "-m",
        "gan3d_tf.bench",
        "--one",
        preset,
        precision,
        "--steps",
        str(steps),
        "--batch-size",
        str(batch_size),
    ]


def torch_command(config, steps: int, batch_size: int) -> list[str]:
    """The command of one PyTorch reference subprocess (`benchmarks/torch_reference.py`).

    Args:
        config: the benchmarked `Config` (see `bench_config`).
        steps: timed steps.
        batch_size: shapes per step.
    """
    if not TORCH_REFERENCE.is_file():
        raise FileNotFoundError(f"{TORCH_REFERENCE} not found: --vs-torch needs the repository checkout")
    return [
        sys.executable,
        str(TORCH_REFERENCE),
        "--config",
        json.dumps(config.to_dict()),
        "--steps",
        str(steps),
        "--batch-size",
        str(batch_size),
        "--peak-n",
        str(PEAK_N),
        "--peak-repeats",
        str(PEAK_REPEATS),
    ]


def summarize(runs: list[dict], m) -> dict:
    """The runs of one framework and configuration, each with its `efficiency`, and the medians over them.

    Args:
        runs: results of `measure` or of the torch reference, one per round.
        m: their `ModelConfig`.
    """
    runs = [{**run, **efficiency(run, m)} for run in runs]
    return {**{key: round(statistics.median(run[key] for run in runs), 3) for key in MEDIAN_KEYS}, "runs": runs}


def compare(
    presets, precisions, steps: int, batch_size: int | None, rounds: int, with_torch: bool, run=run_json
) -> list[dict]:
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
            entry = {
                "preset": preset,
                "precision": precision,
                "resolution": m.resolution,
                "batch_size": batch,
                "train_step_gflop": round(train_step_flops(m, batch) / 1e9, 3),
                "generator_gflop_per_shape": round(generator_flops(m) / 1e9, 4),
                "tensorflow": summarize(tf_runs, m),
                "torch": summarize(torch_runs, m) if torch_runs else None,
            }
            entry["tf_over_torch"] = (
                None
                if not torch_runs
                else {key: round(entry["tensorflow"][key] / entry["torch"][key], 3) for key in RATIO_KEYS}
            )
            entries.append(entry)
    return entries
