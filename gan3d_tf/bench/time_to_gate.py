"""Time to the gate: train a preset from scratch until its held-out monitor first passes the quality gate.

    python -m gan3d_tf.bench.time_to_gate --preset chair32 --data ../shared/data/modelnet10_vox32.npz \
        --category chair --precision bfloat16 --out runs/ttg-chair-bf16
    python -m gan3d_tf.bench.time_to_gate --report runs/ttg-chair-bf16     # read a run that exists

Trains with `train.py --set train.stop_at_gate=true` (so the run ends at the
first passing reading; `--max-epochs` caps it), then reads every reading of
the generation monitor from the run's TensorBoard event files and prints one
JSON object: the CPU, the precision, the gate (`gan3d_tf.metrics.gate`), each
reading (epoch, step, seconds of training, COV / MMD / 1-NNA / pairwise IoU /
empty / near-empty / fragmented, the gate's verdict) and the first passing
one. Seconds count time inside `fit` only (summed over a resumed run's
starts; the pauses between them are not counted), monitor included. A run
sharing its cores with other work reports longer times: compare runs made
side by side on one machine, and their steps, which do not depend on speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from gan3d_tf.bench.system import system_info
from gan3d_tf.metrics.gate import GATE, gate_failures

PRECISIONS = ("float32", "bfloat16")
ROOT = Path(__file__).resolve().parents[2]


def read_readings(run_dir) -> list[dict]:
    """The generation monitor's readings of a run, from `RUN_DIR/logs/generation/events.out.tfevents.*`.

    Returns:
        One dict per reading in epoch order: "epoch", "step" (logged, or
        epoch x steps per epoch of the run's data and batch), "seconds"
        (time in `fit` since the run started, over all its starts), the
        scores, and "gate_failures" (empty: the reading passes).
    """
    import tensorflow as tf

    from gan3d_tf.data.pipeline import steps_per_epoch
    from gan3d_tf.training.run_dir import RunDir

    run = RunDir(run_dir)
    config = run.config()
    data = json.loads(run.data_file.read_text())
    per_epoch = steps_per_epoch(data["n_train"], config.train.batch_size)
    files = sorted(Path(run_dir, "logs", "generation").glob("events.out.tfevents.*"))
    if not files:
        raise FileNotFoundError(
            f"{run_dir}: no generation monitor events in logs/generation (was train.monitor_every_epochs > 0?)"
        )
    readings, offset = {}, 0.0
    for path in files:  # one file per start of fit: its first event is the writer's creation at train begin
        events = [tf.compat.v1.Event.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]
        if not events:
            continue
        start = events[0].wall_time
        for event in events:
            for value in event.summary.value:
                name = value.tag.split("/", 1)[-1]
                reading = readings.setdefault(int(event.step), {"epoch": int(event.step)})
                reading[name] = float(tf.make_ndarray(value.tensor))
                reading["seconds"] = round(offset + event.wall_time - start, 1)
        offset += events[-1].wall_time - start
    reference_pairwise = None
    if any("reference_mean_pairwise_iou" not in r for r in readings.values()):  # runs from before it was logged
        reference_pairwise = held_out_pairwise_iou(config)
    out = []
    for epoch in sorted(readings):
        r = readings[epoch]
        report = {
            "iou": {k: r.get(k, float("nan")) for k in ("cov", "mmd", "one_nna")},
            "mean_pairwise_iou": r.get("mean_pairwise_iou"),
            "n_empty": int(r.get("n_empty", 0)),
            "reference_mean_pairwise_iou": r.get("reference_mean_pairwise_iou", reference_pairwise),
        }
        out.append(
            {
                "epoch": epoch,
                "step": int(r.get("step", epoch * per_epoch)),
                "seconds": r["seconds"],
                "cov": r.get("cov"),
                "mmd": r.get("mmd"),
                "one_nna": r.get("one_nna"),
                "mean_pairwise_iou": r.get("mean_pairwise_iou"),
                "n_empty": report["n_empty"],
                "reference_mean_pairwise_iou": report["reference_mean_pairwise_iou"],
                "n_near_empty": None if "n_near_empty" not in r else int(r["n_near_empty"]),
                "n_fragmented": None if "n_fragmented" not in r else int(r["n_fragmented"]),
                "gate_failures": gate_failures(report),
            }
        )
    return out


def held_out_pairwise_iou(config) -> float | None:
    """The mean pairwise IoU among a run's held-out shapes (the monitor's reference), or None when it has none."""
    from gan3d_tf.metrics.iou import mean_pairwise_iou
    from gan3d_tf.training.loop import load_training_data, split_validation

    _, held_out = split_validation(load_training_data(config), config.data.val_fraction, config.seed)
    return None if held_out is None or len(held_out.voxels) < 2 else mean_pairwise_iou(held_out.voxels)


def report(run_dir) -> dict:
    """The time-to-gate report of a run (see the module docstring)."""
    from gan3d_tf.training.run_dir import RunDir

    config = RunDir(run_dir).config()
    readings = read_readings(run_dir)
    first = next((r for r in readings if not r["gate_failures"]), None)
    return {
        "run": str(run_dir),
        "preset": config.preset,
        "category": config.data.category,
        "precision": "bfloat16" if config.train.mixed_precision else "float32",
        "batch_size": config.train.batch_size,
        "monitor_every_epochs": config.train.monitor_every_epochs,
        "monitor_samples": config.train.monitor_samples,
        "system": system_info(),
        "gate": GATE,
        "passed": first is not None,
        "first_pass": None if first is None else {k: first[k] for k in ("epoch", "step", "seconds")},
        "readings": readings,
    }


def train_command(args) -> list[str]:
    """The train.py command of a from-scratch time-to-gate run."""
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "--preset",
        args.preset,
        "--category",
        args.category,
        "--epochs",
        str(args.max_epochs),
        "--out",
        args.out,
        "--set",
        "train.stop_at_gate=true",
        "--quiet",
    ]
    if args.data:
        cmd += ["--data", args.data]
    if args.precision == "bfloat16":
        cmd += ["--mixed-precision"]
    for item in args.set:
        cmd += ["--set", item]
    return cmd


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gan3d_tf.bench.time_to_gate", description=__doc__.split("\n\n")[0])
    p.add_argument("--report", metavar="RUN_DIR", help="only read an existing run's readings (no training)")
    p.add_argument("--preset", default="chair32", help="preset to train (default chair32)")
    p.add_argument("--data", metavar="FILE.npz", help="training data (default: the built-in shapes)")
    p.add_argument("--category", default="chair", help="class to train on (default chair)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="float32, or bfloat16 (train.py --mixed-precision); default float32",
    )
    p.add_argument("--max-epochs", type=int, default=400, help="stop there if the gate is not reached (default 400)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="a recipe change to measure, passed to train.py (repeatable)",
    )
    p.add_argument("--out", metavar="RUN_DIR", help="run directory of the training run (required to train)")
    args = p.parse_args(argv)
    if args.report is None:
        if not args.out:
            p.error("--out RUN_DIR is required to train (or give --report RUN_DIR)")
        if Path(args.out).exists():
            p.error(f"--out {args.out} exists: a time-to-gate run starts from scratch (or give --report {args.out})")
        if args.max_epochs < 1:
            p.error(f"--max-epochs must be >= 1, got {args.max_epochs}")
        proc = subprocess.run(train_command(args))
        if proc.returncode:
            print(f"time_to_gate: train.py exited with {proc.returncode}", file=sys.stderr)
            return proc.returncode
    try:
        out = report(args.report or args.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"time_to_gate: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
