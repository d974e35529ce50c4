"""Shipping a trained generator: `pretrained/<name>/generator.keras` and `metadata.json`.

    python -m gan3d_tf.serving.pretrained RUN_DIR --out pretrained/chair32 \
        --data ../shared/data/modelnet10_vox32.npz --category chair

takes the sampling generator (the moving average of G when the run keeps
one) of the run's latest checkpoint (or of `--checkpoint`, chosen on the
run's held-out shapes with `evaluate.py generation --split heldout`),
saves it as a float32 `.keras` file, scores it with
`gan3d_tf.evaluation.sampling.generator_report` (n samples against the
reference split, next to the train floor) and writes `metadata.json`: the
resolved config, steps and epochs, training wall time, machine, data, the
metrics, and the commands that trained the run and made the metrics. The
directory then works wherever a run directory does:
`python evaluate.py sample pretrained/chair32 --n 16 --out samples/`.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import tensorflow as tf

from gan3d_tf.bench import system_info
from gan3d_tf.serving.export import float32_copy, git_revision
from gan3d_tf.evaluation.sampling import generator_report
from gan3d_tf.training.run_dir import RunDir


def training_wall_seconds(run_dir, epochs: int | None = None) -> float | None:
    """Seconds spent in `fit`, from the run's TensorBoard train event files (one per start or resume).

    Each file spans from its writer's creation (the start of `fit`) to its
    last epoch summary; pauses between sessions are not counted.

    Args:
        run_dir: the run directory.
        epochs: count only up to the summary of this many epochs (None: all).
    """
    total, found = 0.0, False
    for path in sorted(Path(run_dir, "logs", "train").glob("events.out.tfevents.*")):
        events = [tf.compat.v1.Event.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]
        times = [e.wall_time for e in events if epochs is None or e.step < epochs]
        if len(times) > 1:
            total, found = total + times[-1] - times[0], True
    return round(total, 1) if found else None


def package(run_dir, out, data, category: str, split: str = "test", n: int = 100, seed: int = 0,
            checkpoint: str | None = None) -> dict:
    """Writes `out/generator.keras` and `out/metadata.json` from a checkpoint of `run_dir` (default: the latest).

    Returns:
        The metadata written.
    """
    run_dir, out = Path(run_dir), Path(out)
    run = RunDir(run_dir)
    config = run.config()
    latest = checkpoint or run.latest_checkpoint()
    if latest is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint in {run.checkpoints}")
    generator = float32_copy(run.load("generator", checkpoint=latest))
    report = generator_report(generator, data, category, split, n, seed)
    commands, counters = run.commands_file, run.counters(latest)
    metadata = {
        "name": out.name,
        "files": {"generator": "generator.keras"},
        "run": str(run_dir),
        **counters,  # the checkpoint the generator came from, even if a newer one lands meanwhile
        "training_wall_seconds": training_wall_seconds(run_dir, counters.get("epochs")),
        "train_commands": commands.read_text().splitlines() if commands.is_file() else None,
        "metrics_command": " ".join(["python", "evaluate.py", "generation", "--model", str(out), "--data", str(data),
                                     "--category", category, "--split", split, "--n", str(n), "--seed", str(seed)]),
        "machine": {**system_info(), "python": platform.python_version(), "tensorflow": tf.__version__},
        "git_revision": git_revision(),
        "data": json.loads(run.data_file.read_text()) if run.data_file.is_file() else None,
        "metrics": report,
        "config": config.to_dict(),
    }
    out.mkdir(parents=True, exist_ok=True)
    generator.save(out / "generator.keras")
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Package a trained run's generator as a pretrained model.")
    p.add_argument("run", metavar="RUN_DIR", help="run directory written by train.py")
    p.add_argument("--out", required=True, help="output directory, e.g. pretrained/chair32")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="labelled voxel .npz the metrics are taken on")
    p.add_argument("--category", required=True, help="class the run was trained on")
    p.add_argument("--split", choices=("train", "test"), default="test", help="reference split (default test)")
    p.add_argument("--n", type=int, default=100, help="samples scored (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent and floor draws (default 0)")
    p.add_argument("--checkpoint", metavar="PREFIX", help="checkpoint to ship (default: the run's latest)")
    args = p.parse_args(argv)
    if args.checkpoint and not Path(args.checkpoint + ".index").is_file():
        p.error(f"--checkpoint: no checkpoint {args.checkpoint} (no {args.checkpoint}.index)")
    if not (Path(args.run) / "config.json").is_file():
        p.error(f"not a run directory (no config.json): {args.run}")
    if not Path(args.data).is_file():
        p.error(f"--data not found: {args.data}")
    try:
        metadata = package(args.run, args.out, args.data, args.category, args.split, args.n, args.seed,
                           args.checkpoint)
    except (FileNotFoundError, ValueError) as e:
        print(f"gan3d_tf.serving.pretrained: error: {e}", file=sys.stderr)
        return 2
    m = metadata["metrics"]["iou"]
    print(f"wrote {args.out}/generator.keras and metadata.json: COV {m['cov']:.3f}, MMD {m['mmd']:.3f}, "
          f"1-NNA {m['one_nna']:.3f}, {metadata['metrics']['n_empty']} empty, "
          f"pairwise IoU {metadata['metrics']['mean_pairwise_iou']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
