"""Shipping a trained generator: `pretrained/<name>/generator.keras` and `metadata.json`.

    python -m gan3d_tf.serving.pretrained RUN_DIR --out pretrained/chair32 \
        --data ../shared/data/modelnet10_vox32.npz --category chair
    python -m gan3d_tf.serving.pretrained RUN_DIR --part discriminator --out pretrained/mn10-d \
        --data ../shared/data/modelnet10_vox32.npz --seeds 5

takes the sampling generator (the moving average of G when the run keeps
one) of the run's latest checkpoint (or of `--checkpoint`, chosen on the
run's held-out shapes with `evaluate.py generation --split heldout`),
saves it as a float32 `.keras` file, scores it with
`gan3d_tf.evaluation.sampling.generator_report` (n samples against the
reference split, next to the train floor), counts near-empty and fragmented
samples over `--quality-n` draws (raw and cleaned) and writes
`metadata.json`: the
resolved config, steps and epochs, training wall time, machine, data, the
metrics, and the commands that trained the run and made the metrics. The
directory then works wherever a run directory does:
`python evaluate.py sample pretrained/chair32 --n 16 --out samples/`.

With `--part discriminator` it ships the run's discriminator instead
(`discriminator.keras`), scored by `evaluate.py classify` over `--seeds`
seeds on `--data` (the trained D against its random twin and raw voxels).
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
from gan3d_tf.evaluation.sampling import generate, generator_report, training_mean_voxels
from gan3d_tf.metrics.quality import keep_largest_component, sample_quality
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


def quality_over_draws(generator, reference_mean_voxels: float | None, n: int = 1000, seed: int = 0) -> dict:
    """Near-empty and fragmented counts of n draws (seed), raw and cleaned (largest component kept)."""
    _, voxels = generate(generator, n, seed)
    raw = sample_quality(voxels, reference_mean_voxels)
    cleaned = sample_quality(keep_largest_component(voxels), reference_mean_voxels)
    return {"n": n, "seed": seed, "raw": raw, "cleaned": cleaned}


def package(
    run_dir,
    out,
    data,
    category: str = "all",
    split: str = "test",
    n: int = 100,
    seed: int = 0,
    checkpoint: str | None = None,
    part: str = "generator",
    quality_n: int = 1000,
    seeds: int = 5,
) -> dict:
    """Writes `out/<part>.keras` and `out/metadata.json` from a checkpoint of `run_dir` (default: the latest).

    Args:
        run_dir: the run directory.
        out: the model folder to write.
        data: labelled voxel .npz the metrics are taken on.
        category: the class of a generator's reference shapes.
        split: the reference split of a generator's metrics.
        n: samples scored by a generator's metrics.
        seed: seed of the latent and floor draws, or of the first classification seed.
        checkpoint: checkpoint prefix to ship (default: the run's latest).
        part: "generator" (its sampling generator) or "discriminator".
        quality_n: draws counted for near-empty and fragmented samples (generator).
        seeds: classification seeds (discriminator).

    Returns:
        The metadata written.
    """
    run_dir, out = Path(run_dir), Path(out)
    run = RunDir(run_dir)
    config = run.config()
    latest = checkpoint or run.latest_checkpoint()
    if latest is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint in {run.checkpoints}")
    network = float32_copy(run.load(part, checkpoint=latest))
    commands, counters = run.commands_file, run.counters(latest)
    if part == "generator":
        report = generator_report(network, data, category, split, n, seed)
        report["quality"] = quality_over_draws(network, training_mean_voxels(run_dir), quality_n, seed)
        metrics_command = [
            "python",
            "evaluate.py",
            "generation",
            "--model",
            str(out),
            "--data",
            str(data),
            "--category",
            category,
            "--split",
            split,
            "--n",
            str(n),
            "--seed",
            str(seed),
        ]
    else:
        from gan3d_tf.evaluation.classify import classify

        report = classify(network, data, seed=seed, seeds=seeds)
        report.pop("test_correct", None)
        report.get("over_seeds", {}).pop("test_correct", None)
        metrics_command = [
            "python",
            "evaluate.py",
            "classify",
            "--model",
            str(out),
            "--data",
            str(data),
            "--seed",
            str(seed),
            "--seeds",
            str(seeds),
        ]
    metadata = {
        "name": out.name,
        "files": {part: f"{part}.keras"},
        "run": str(run_dir),
        **counters,  # the checkpoint the network came from, even if a newer one lands meanwhile
        "training_wall_seconds": training_wall_seconds(run_dir, counters.get("epochs")),
        "train_commands": commands.read_text().splitlines() if commands.is_file() else None,
        "metrics_command": " ".join(metrics_command),
        "machine": {**system_info(), "python": platform.python_version(), "tensorflow": tf.__version__},
        "git_revision": git_revision(),
        "data": json.loads(run.data_file.read_text()) if run.data_file.is_file() else None,
        "metrics": report,
        "config": config.to_dict(),
    }
    out.mkdir(parents=True, exist_ok=True)
    network.save(out / f"{part}.keras")
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Package a trained run's generator or discriminator as a pretrained model.")
    p.add_argument("run", metavar="RUN_DIR", help="run directory written by train.py")
    p.add_argument("--out", required=True, help="output directory, e.g. pretrained/chair32")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="labelled voxel .npz the metrics are taken on")
    p.add_argument(
        "--part",
        choices=("generator", "discriminator"),
        default="generator",
        help="the network to ship (default generator)",
    )
    p.add_argument("--category", help="class the run was trained on (generator; required there)")
    p.add_argument("--split", choices=("train", "test"), default="test", help="reference split (default test)")
    p.add_argument("--n", type=int, default=100, help="samples scored (default 100)")
    p.add_argument(
        "--quality-n", type=int, default=1000, help="draws counted for near-empty and fragmented samples (default 1000)"
    )
    p.add_argument("--seeds", type=int, default=5, help="classification seeds (discriminator; default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent and floor draws (default 0)")
    p.add_argument("--checkpoint", metavar="PREFIX", help="checkpoint to ship (default: the run's latest)")
    args = p.parse_args(argv)
    if args.checkpoint and not Path(args.checkpoint + ".index").is_file():
        p.error(f"--checkpoint: no checkpoint {args.checkpoint} (no {args.checkpoint}.index)")
    if not (Path(args.run) / "config.json").is_file():
        p.error(f"not a run directory (no config.json): {args.run}")
    if not Path(args.data).is_file():
        p.error(f"--data not found: {args.data}")
    if args.part == "generator" and not args.category:
        p.error("--category is required to ship a generator (its reference class)")
    try:
        metadata = package(
            args.run,
            args.out,
            args.data,
            args.category or "all",
            args.split,
            args.n,
            args.seed,
            args.checkpoint,
            args.part,
            args.quality_n,
            args.seeds,
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"gan3d_tf.serving.pretrained: error: {e}", file=sys.stderr)
        return 2
    m = metadata["metrics"]
    if args.part == "generator":
        q = m["quality"]
        print(
            f"wrote {args.out}/generator.keras and metadata.json: COV {m['iou']['cov']:.3f}, "
            f"MMD {m['iou']['mmd']:.3f}, 1-NNA {m['iou']['one_nna']:.3f}, {m['n_empty']} empty, "
            f"pairwise IoU {m['mean_pairwise_iou']:.3f}; of {q['n']} draws {q['raw']['n_near_empty']} near-empty, "
            f"{q['raw']['n_fragmented']} fragmented ({q['cleaned']['n_near_empty']} near-empty once cleaned)"
        )
    else:
        print(f"wrote {args.out}/discriminator.keras and metadata.json: accuracy {m['accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
