"""Evaluate and use a trained 3D-GAN.

    python evaluate.py sample RUN_DIR --n 16 --out samples/   # RUN_DIR or a generator .keras file
    python evaluate.py classify --model RUN_DIR --data ../shared/data/modelnet10_vox32.npz --json mn10.json
    python evaluate.py reconstruct --model RUN_DIR --ikea ../shared/data/ikea --json ikea.json
    python evaluate.py export RUN_DIR --classifier-data ../shared/data/modelnet10_vox32.npz --out saved_models
    python evaluate.py generation --model RUN_DIR --data ../shared/data/modelnet10_vox32.npz --category chair
    python evaluate.py interpolate --model RUN_DIR --from 3 --to 7 --steps 8 --out interp/
    python evaluate.py arithmetic --model RUN_DIR --a 3 --b 5 --c 7 --out arith/
    python evaluate.py invert --model RUN_DIR --target ../shared/data/modelnet10_vox32.npz --index 12 --out inv/

`sample` writes samples.npz (key `voxels`: occupancy probabilities
[n, R, R, R]; key `z`), grid.png (rendered shapes), sample_NNN.obj (marching
cubes at the threshold) and summary.json.

`classify` fits a linear SVM (C by 3-fold CV on the train split only) on the
discriminator's features and reports test accuracy next to two baselines
(random discriminator, raw voxels), per-class accuracy, an exact McNemar test
of the trained D against the random one on the same test shapes
(`gan_vs_random_d`), and a confusion-matrix PNG beside the JSON. `--seeds K`
repeats the comparison over K seeds (new random D, CV folds and SGD order) and
adds the spread of the margin (`over_seeds`).

`reconstruct` predicts a voxel grid from each IKEA photo with a 3D-VAE-GAN
run and prints per-category voxel average precision, the mean AP and IoU (at
0.5), next to a baseline that ignores the image and predicts the mean training
shape for every photo; with --json it also writes OUT.png, photos next to predictions and
ground truth. `--views N` adds the same scores on N rendered views of shapes the
run never trained on (its data's test split), drawn like its training views:
the model's fit to its own kind of image, apart from the gap to photographs
(`--views-scene` draws them in another scene, to compare runs trained on
different ones).

`generation` scores --n generated shapes against all non-empty shapes of one
category in a split of --data (default test) with COV, MMD and 1-NNA under
the IoU distance (and the Chamfer distance with --chamfer; see
gan3d_tf/metrics/generation.py), next to the floor: --n shapes drawn from the
train split of the same category, scored the same way (what real shapes
reach). It prints a summary; --json writes the full report.

`interpolate`, `arithmetic` and `invert` walk the latent space (paper
Figs. 6-7). Each shape is named by an endpoint: a seed (the first z that
seed draws, as `sample --seed` does), FILE.npz:INDEX (row INDEX of key `z` of
a file these commands or `sample` wrote), or FILE.npz:KEY:INDEX (a real voxel
grid, e.g. ../shared/data/modelnet10_vox32.npz:X_train:12, *inverted*: z
fitted by gradient descent until G(z) reproduces it; the IoU reached is
reported). Each writes NAME.png (a strip of rendered shapes, real targets
under inverted ones), NAME.npz (keys `voxels`, `z`), NAME_NN.obj meshes and
summary.json; see gan3d_tf/evaluation/latent.py.

`export` writes TF Serving SavedModels (gan3d_generator, gan3d_features and,
with --classifier-data, gan3d_classifier) as saved_models/<name>/<version>/,
float32 generator.keras / discriminator.keras under saved_models/keras/<version>/,
and saved_models/models.config; see gan3d_tf/serving/export.py and docs/serving.md
for the signatures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from gan3d_tf.cli import export as export_cli  # noqa: E402
from gan3d_tf.config import SCENES  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="write generated shapes as .npz, PNG grid and .obj meshes")
    s.add_argument("model_pos", nargs="?", metavar="RUN_DIR", help="same as --model (the older positional form)")
    s.add_argument("--model", metavar="RUN_DIR", help="run directory, pretrained folder or generator .keras file")
    s.add_argument("--n", type=int, default=16, help="number of samples (default 16)")
    s.add_argument("--clean", action=argparse.BooleanOptionalAction, default=True,
                   help="keep each sample's largest connected component, as the authors' visualiser does "
                        "(default: on; --no-clean writes the raw grids; summary.json counts the raw ones either way)")
    s.add_argument("--truncation", type=float, metavar="PSI",
                   help="draw z from a normal truncated to [-PSI, PSI] (normal priors only; default: no truncation)")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--seed", type=int, default=0, help="seed of the latent draw (default 0)")
    s.add_argument("--threshold", type=float, default=0.5, help="occupancy level for PNG and meshes (default 0.5)")
    c = sub.add_parser("classify", help="linear SVM on discriminator features vs. two baselines")
    c.add_argument("--model", required=True, metavar="RUN_DIR", help="run directory or discriminator .keras file")
    c.add_argument("--data", required=True, metavar="FILE.npz|NAME",
                   help="labelled voxel .npz with train and test splits, or a data set name: modelnet10, "
                        "modelnet40 (downloaded once to ~/.keras/datasets)")
    c.add_argument("--json", metavar="OUT.json", help="also write the report here (and OUT.png, the confusion matrix)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random-D baseline and CV folds (default 0)")
    c.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="repeat the comparison for seeds SEED .. SEED+K-1 (new random D, folds and SGD order each) "
                        "and report the spread of the margin (report key over_seeds; default 1)")
    c.add_argument("--checkpoint", metavar="NAME",
                   help="use the discriminator of this checkpoint of RUN_DIR (a name such as ckpt-4000 in "
                        "RUN_DIR/checkpoints, or a path prefix) instead of its newest one")
    r = sub.add_parser("reconstruct", help="3D-VAE-GAN: IKEA single-image reconstruction, AP per category")
    r.add_argument("--model", required=True, metavar="RUN_DIR", help="3D-VAE-GAN run directory")
    r.add_argument("--ikea", required=True, metavar="DIR", help="IKEA test set (Images/, Voxels/, Lists/)")
    r.add_argument("--json", metavar="OUT.json", help="also write the report here (and OUT.png, a picture sheet)")
    r.add_argument("--views", type=int, default=0, metavar="N",
                   help="also score N rendered views of held-out shapes, drawn like the run's training views "
                        "(report key heldout_views; default 0: off)")
    r.add_argument("--views-scene", choices=SCENES, metavar="SCENE",
                   help=f"look of the --views images, one of {', '.join(SCENES)} (default: the run's training scene; "
                        "a fixed one compares runs trained on different scenes)")
    e = sub.add_parser("export", help="SavedModels for TF Serving and .keras files from a run directory "
                                      "(the same as export.py)")
    export_cli.add_arguments(e)
    g = sub.add_parser("generation", help="COV, MMD, 1-NNA of generated shapes vs. real ones, next to the train floor")
    g.add_argument("--model", required=True, metavar="RUN_DIR", help="run directory or generator .keras file")
    g.add_argument("--data", required=True, metavar="FILE.npz|NAME",
                   help="labelled voxel .npz with train and test splits, or a data set name: modelnet10, "
                        "modelnet40 (downloaded once to ~/.keras/datasets)")
    g.add_argument("--category", required=True, help="class name (or several joined by commas, or 'all')")
    g.add_argument("--split", choices=("train", "test", "heldout"), default="test",
                   help="reference split (default test); heldout: the training shapes a run (RUN_DIR) held out, "
                        "to choose among checkpoints without touching the test split")
    g.add_argument("--checkpoint", metavar="NAME",
                   help="score this checkpoint of RUN_DIR (a name such as ckpt-4000 in RUN_DIR/checkpoints, or a "
                        "path prefix) instead of its newest generator")
    g.add_argument("--n", type=int, default=100, help="number of generated shapes and of floor shapes (default 100)")
    g.add_argument("--seed", type=int, default=0, help="seed of the latent draw and of the floor draw (default 0)")
    g.add_argument("--chamfer", action="store_true", help="also score with the Chamfer distance (slower)")
    g.add_argument("--truncation", type=float, metavar="PSI",
                   help="draw z from a normal truncated to [-PSI, PSI] (normal priors only; default: no truncation)")
    g.add_argument("--json", metavar="OUT.json", help="also write the full report here")
    endpoint_help = "a seed, FILE.npz:INDEX (a row of its key z) or FILE.npz:KEY:INDEX (a real grid, inverted)"
    i = sub.add_parser("interpolate", help="shapes along a line between two latent vectors, as a PNG strip")
    i.add_argument("--from", dest="start", default="0", metavar="ENDPOINT", help=f"{endpoint_help} (default 0)")
    i.add_argument("--to", dest="end", default="1", metavar="ENDPOINT", help=f"{endpoint_help} (default 1)")
    i.add_argument("--steps", type=int, default=8, help="shapes in the strip, both ends included (default 8)")
    i.add_argument("--method", choices=("auto", "linear", "slerp"), default="auto",
                   help="auto: slerp for a normal prior, linear for a uniform one")
    a = sub.add_parser("arithmetic", help="the shape of a - b + c in latent space, as a PNG strip (for a normal "
                                          "prior scaled to the mean norm of a, b, c)")
    for flag in ("a", "b", "c"):
        a.add_argument(f"--{flag}", required=True, metavar="ENDPOINT", help=endpoint_help)
    v = sub.add_parser("invert", help="fit z to a real voxel grid; report the IoU reached")
    v.add_argument("--target", required=True, metavar="FILE.npz", help="voxel .npz (keys voxels, or X_train/X_test)")
    v.add_argument("--key", help="array of --target (default: voxels, else X_train)")
    v.add_argument("--index", type=int, required=True, help="index of the grid in that array")
    for q in (i, a, v):
        q.add_argument("--model", required=True, metavar="RUN_DIR", help="run directory or generator .keras file")
        q.add_argument("--out", required=True, help="output directory")
        q.add_argument("--threshold", type=float, default=0.5, help="occupancy level for PNG and meshes (default 0.5)")
        q.add_argument("--invert-steps", type=int, default=200,
                       help="Adam steps when fitting z to a real grid (default 200)")
    args = p.parse_args(argv)
    if args.command in ("interpolate", "arithmetic", "invert"):
        if not os.path.exists(args.model):
            p.error(f"--model not found: {args.model}")
        if not 0 < args.threshold < 1:
            p.error(f"--threshold must be in (0, 1), got {args.threshold}")
        if args.invert_steps < 1:
            p.error(f"--invert-steps must be >= 1, got {args.invert_steps}")
        if args.command == "interpolate" and args.steps < 2:
            p.error(f"--steps must be >= 2, got {args.steps}")
        if args.command == "invert" and not os.path.isfile(args.target):
            p.error(f"--target not found: {args.target}")
        specs = {"interpolate": ("start", "end"), "arithmetic": ("a", "b", "c"), "invert": ()}[args.command]
        for name in specs:
            problem = check_endpoint(getattr(args, name))
            if problem:
                p.error(f"--{dict(start='from', end='to').get(name, name)}: {problem}")
    if args.command in ("generation", "classify"):  # --data NAME: a data set of gan3d_tf.datasets, fetched once
        args.data = data_set_path(p, args.data, args.model)
    if args.command == "generation":
        if args.n < 1:
            p.error(f"--n must be >= 1, got {args.n}")
        if not os.path.exists(args.model):
            p.error(f"--model not found: {args.model}")
        if not os.path.isfile(args.data):
            p.error(f"--data not found: {args.data}")
        problem = check_category(args.data, args.category, args.split)
        if problem:
            p.error(problem)
        if args.split == "heldout" and not os.path.isfile(os.path.join(args.model, "config.json")):
            p.error(f"--split heldout needs a run directory (with config.json), got {args.model}")
    if args.command in ("generation", "classify") and args.checkpoint:
        if not os.path.isfile(os.path.join(args.model, "config.json")):
            p.error(f"--checkpoint needs a run directory (with config.json), got {args.model}")
        if "/" not in args.checkpoint:
            args.checkpoint = os.path.join(args.model, "checkpoints", args.checkpoint)
        if not os.path.isfile(args.checkpoint + ".index"):
            p.error(f"--checkpoint: no checkpoint {args.checkpoint} (no {args.checkpoint}.index)")
    if args.command == "reconstruct":
        if not os.path.isfile(os.path.join(args.model, "config.json")):
            p.error(f"not a run directory (no config.json): {args.model}")
        if not os.path.isfile(os.path.join(args.ikea, "Lists", "Images.txt")):
            p.error(f"--ikea: {args.ikea} has no Lists/Images.txt; expected the IKEA test set directory")
        if args.views < 0:
            p.error(f"--views must be >= 0, got {args.views}")
        if args.views_scene is not None and not args.views:
            p.error("--views-scene needs --views N")
    if args.command == "export":
        export_cli.check(p, args)
    if args.command == "classify":
        if args.seeds < 1:
            p.error(f"--seeds must be >= 1, got {args.seeds}")
        for flag in ("model", "data"):
            if not os.path.exists(getattr(args, flag)):
                p.error(f"--{flag} not found: {getattr(args, flag)}")
    if args.command == "sample":
        if (args.model is None) == (args.model_pos is None):
            p.error("sample: give the model once, as --model RUN_DIR (or positionally)")
        args.model = args.model or args.model_pos
        if args.n < 1:
            p.error(f"--n must be >= 1, got {args.n}")
        if not 0 < args.threshold < 1:
            p.error(f"--threshold must be in (0, 1), got {args.threshold}")
        if not os.path.exists(args.model):
            p.error(f"model not found: {args.model}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "export":
        return export_cli.run(args, "evaluate.py")
    command = {"sample": sample, "classify": classify, "generation": generation, "reconstruct": reconstruct,
               "interpolate": interpolate, "arithmetic": arithmetic, "invert": invert}
    try:
        command[args.command](args)
    except (FileNotFoundError, FileExistsError, ValueError) as e:  # bad input, named by the library
        print(f"evaluate.py: error: {e}", file=sys.stderr)
        return 2
    return 0


def sample(args) -> None:
    """`evaluate.py sample`: samples.npz, grid.png, meshes and summary.json."""
    from gan3d_tf.evaluation.sampling import write_samples
    from gan3d_tf.training.run_dir import load_network

    from gan3d_tf.evaluation.sampling import training_mean_voxels

    summary = write_samples(load_network(args.model, "generator"), args.n, args.out, args.seed, args.threshold,
                            clean=args.clean, truncation=args.truncation,
                            reference_mean_voxels=training_mean_voxels(args.model))
    summary["meshes"] = len(summary["meshes"])
    print(json.dumps(summary, indent=2))


def reconstruct(args) -> None:
    """`evaluate.py reconstruct`: IKEA AP per category (and held-out rendered views with --views)."""
    from pathlib import Path

    from gan3d_tf.evaluation.reconstruct import evaluate_ikea, evaluate_views, load_image_to_shape, training_means

    encoder, generator = load_image_to_shape(args.model)
    sheet = str(Path(args.json).with_suffix(".png")) if args.json else None
    means = training_means(args.model)  # the training shapes are read once for both evaluations
    report = evaluate_ikea(encoder, generator, args.ikea, sheet, means)
    if args.views:
        report["heldout_views"] = evaluate_views(encoder, generator, args.model, args.views, means=means,
                                                  scene=args.views_scene)
    print_report(report, args.json)


def classify(args) -> None:
    """`evaluate.py classify`: linear SVM on D's features next to the random-D and raw-voxel baselines.

    Prints a short table (trained D, random D, raw voxels, margin, McNemar p); --json writes the full report.
    """
    from pathlib import Path

    from gan3d_tf.evaluation.classify import classify as run_classify
    from gan3d_tf.evaluation.classify import save_confusion_png
    from gan3d_tf.training.run_dir import load_network

    report = run_classify(load_network(args.model, "discriminator", args.checkpoint), args.data, seed=args.seed,
                          seeds=args.seeds)
    report = {"model": args.model, **({"checkpoint": args.checkpoint} if args.checkpoint else {}), **report}
    print(classify_table(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        save_confusion_png(report["confusion"], report["classes"], Path(args.json).with_suffix(".png"))
        print(f"wrote {args.json} and {Path(args.json).with_suffix('.png')}")


def classify_table(report: dict) -> str:
    """The classify report as a few lines: accuracy per feature set (and mean +- sd over seeds), margin, p."""
    seeds = report.get("over_seeds")
    names = {"gan": "trained D", "random_d": "random D", "raw_voxels": "raw voxels"}
    lines = [f"{report['n_test']} test shapes, {len(report['classes'])} classes; linear SVM on {report['n_train']} "
             f"train shapes" + (f"; seeds {seeds['seeds'][0]}-{seeds['seeds'][-1]}" if seeds else "")]
    lines.append(f"{'':12}{'seed ' + str(seeds['seeds'][0]) if seeds else 'accuracy':>10}"
                 + (f"{'mean +- sd':>18}" if seeds else ""))
    for key, name in names.items():
        row = f"{name:12}{100 * report['accuracy'][key]:9.1f}%"
        if seeds:
            row += f"{100 * seeds['mean'][key]:11.1f} +- {100 * seeds['std'][key]:.1f}%"
        lines.append(row)
    test = report["gan_vs_random_d"]
    margin = 100 * (report["accuracy"]["gan"] - report["accuracy"]["random_d"])
    line = f"margin (trained - random D): {margin:+.1f} points, McNemar p = {test['p_value']:.2g}"
    if seeds:
        below = sum(t["p_value"] < 0.01 for t in seeds["gan_vs_random_d"])
        line += (f"; over {len(seeds['seeds'])} seeds {100 * seeds['margin_mean']:+.1f} +- "
                 f"{100 * seeds['margin_std']:.1f} points, p < 0.01 at {below} of {len(seeds['seeds'])}")
    lines.append(line)
    return "\n".join(lines)


def data_set_path(p: argparse.ArgumentParser, value: str, model: str) -> str:
    """`--data`'s file: a data set name (`gan3d_tf.datasets.VOXEL_DATASETS`) fetched at the model's resolution
    (32, or 64 for a 64^3 run or pretrained folder), any other value unchanged; `p.error` (exit 2) on failure.

    Args:
        p: the parser, for errors.
        value: `--data`'s value.
        model: `--model`'s value (a run directory, pretrained folder or `.keras` file).
    """
    from gan3d_tf.datasets import DatasetError, data_set_name, resolve_data_path

    if data_set_name(value) is None:
        return value
    resolution = 32
    for name, key in (("config.json", None), ("metadata.json", "config")):
        path = os.path.join(model, name)
        if os.path.isfile(path):
            with open(path) as f:
                config = json.load(f)
            resolution = int(((config.get(key) if key else config) or {}).get("model", {}).get("resolution", 32))
            break
    try:
        return resolve_data_path(value, resolution)
    except DatasetError as e:
        p.error(f"--data {value}: {e}")


def check_category(data_path: str, category: str, split: str) -> str | None:
    """Why `--category`/`--split` do not fit the .npz at data_path (a message naming the flag), or None."""
    from gan3d_tf.data.checks import open_npz
    from gan3d_tf.data.voxel_npz import class_names, split_categories

    try:
        data = open_npz(data_path)
    except ValueError as e:
        return f"--data: {e}"
    with data:
        for s in sorted({"train", split} - {"heldout"}):  # held-out shapes are part of train
            if f"X_{s}" not in data.files or f"y_{s}" not in data.files:
                return f"--data: {data_path} has no {s} split (keys X_{s}, y_{s}); found {sorted(data.files)}"
        classes = class_names(data, data_path)
    if category == "all":
        return None
    try:
        names = split_categories(category)
    except ValueError as e:
        return f"--category: {e}"
    unknown = [c for c in names if c not in classes]
    if unknown:
        return f"--category: unknown category {unknown[0]!r} in {data_path}; choose one of {list(classes)} or 'all'"
    return None


def generation(args) -> None:
    """`evaluate.py generation`: the generator's and the train floor's generation report."""
    import time
    from pathlib import Path

    from gan3d_tf.evaluation.sampling import generator_report
    from gan3d_tf.metrics.gate import gate_failures
    from gan3d_tf.training.run_dir import load_network

    from gan3d_tf.training.run_dir import RunDir

    start = time.perf_counter()
    run = RunDir(args.model) if Path(args.model, "config.json").is_file() else None
    config = run.config() if run is not None else None
    held_out = (config.data.val_fraction, config.seed) if config is not None else None
    report = generator_report(load_network(args.model, "generator", args.checkpoint), args.data, args.category,
                              args.split, args.n, args.seed, args.chamfer, held_out, args.truncation)
    report = {"model": args.model, **({"checkpoint": args.checkpoint} if args.checkpoint else {}), **report}
    floor, notes, resolution = report["floor"], report["floor"]["notes"], report["resolution"]
    report["wall_seconds"] = round(time.perf_counter() - start, 2)
    print(f"{args.category}: {args.n} generated shapes (seed {args.seed}) vs {report['n_reference']} {args.split} "
          f"shapes at {resolution}^3 ({report['n_reference_empty_dropped']} empty {args.split} grids dropped); "
          f"floor: {floor['n_floor']} of {floor['n_train']} train shapes")
    for note in notes:
        print(f"note: {note}")
    print(f"{'':16}{'COV':>7}{'MMD':>8}{'1-NNA':>8}")
    for distance in ("iou", "chamfer") if args.chamfer else ("iou",):
        for name, r in (("model", report), ("floor", floor)):
            s = r[distance]
            print(f"{distance:8}{name:8}{s['cov']:7.3f}{s['mmd']:8.3f}{s['one_nna']:8.3f}")
    cleaned = report["cleaned"]["iou"]
    print(f"{'iou':8}{'cleaned':8}{cleaned['cov']:7.3f}{cleaned['mmd']:8.3f}{cleaned['one_nna']:8.3f}"
          f"   (each sample reduced to its largest connected component)")
    for name, r in (("model", report), ("floor", floor)):
        pairwise = "n/a" if r["mean_pairwise_iou"] is None else f"{r['mean_pairwise_iou']:.3f}"
        print(f"{name}: occupancy {r['occupancy']:.3f}, {r['n_empty']} empty, {r['n_near_empty']} near-empty "
              f"(< {r['near_empty_below_voxels']:.0f} voxels), {r['n_fragmented']} fragmented, "
              f"mean pairwise IoU {pairwise}")
    failures = gate_failures(report)
    print("gate: " + ("passed" if not failures else "failed: " + "; ".join(failures)))
    print(f"wall {report['wall_seconds']:.1f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


def check_endpoint(spec: str) -> str | None:
    """Why an endpoint string cannot name a latent vector (before any model is loaded), or None."""
    from gan3d_tf.evaluation.latent import split_endpoint

    try:
        path, _, _ = split_endpoint(spec)
    except ValueError as e:
        return str(e)
    if path is not None and not os.path.isfile(path):
        return f"file not found: {path}"
    return None


def endpoint_title(endpoint) -> str:
    """A short caption: "seed 3", "X_train[12]" (IoU of the fit), "z[4]"."""
    from gan3d_tf.evaluation.latent import split_endpoint

    path, key, index = split_endpoint(endpoint.source)
    if path is None:
        return f"seed {index}"
    name = f"{key or ('z' if endpoint.target is None else 'grid')}[{index}]"
    return name if endpoint.iou is None else f"{name}\nfit IoU {endpoint.iou:.2f}"


def latent_run(args, z, titles, name, endpoints: dict, extra: dict | None = None, summary: dict | None = None):
    """Writes the strip of `z` and summary.json; prints the summary."""
    from gan3d_tf.evaluation.latent import write_strip, write_summary

    generator = args.generator
    targets = {pos: e.target for pos, e in endpoints.items() if e.target is not None}
    written = write_strip(generator, z, titles, args.out, name, args.threshold, extra, targets=targets)
    out = {"model": args.model, **(summary or {}),
           "endpoints": {label: e.describe() for label, e in zip(endpoint_labels(args), endpoints.values())},
           "n_empty": written["n_empty"], "png": written["png"], "npz": written["npz"],
           "meshes": len(written["meshes"])}
    write_summary(args.out, out)
    print(json.dumps(out, indent=2))


def endpoint_labels(args) -> list[str]:
    return {"interpolate": ["from", "to"], "arithmetic": ["a", "b", "c"], "invert": ["target"]}[args.command]


def interpolate(args) -> None:
    """`evaluate.py interpolate`: G along the path between two endpoints."""
    from gan3d_tf.evaluation.latent import interpolate_z, parse_endpoint, resolve_method
    from gan3d_tf.training.run_dir import load_network

    args.generator = generator = load_network(args.model, "generator")
    method = resolve_method(generator, args.method)
    a, b = (parse_endpoint(generator, spec, args.invert_steps) for spec in (args.start, args.end))
    t, z = interpolate_z(a.z, b.z, args.steps, method)
    titles = [endpoint_title(a)] + [f"t = {x:.2f}" for x in t[1:-1]] + [endpoint_title(b)]
    latent_run(args, z, titles, "interpolation", {0: a, len(z) - 1: b}, extra={"t": t},
               summary={"method": method, "steps": args.steps})


def arithmetic(args) -> None:
    """`evaluate.py arithmetic`: a, b, c and the shape of a - b + c."""
    from gan3d_tf.evaluation.latent import arithmetic_z, parse_endpoint
    from gan3d_tf.training.run_dir import load_network

    args.generator = generator = load_network(args.model, "generator")
    a, b, c = (parse_endpoint(generator, spec, args.invert_steps) for spec in (args.a, args.b, args.c))
    rescale = generator.z_distribution == "normal"  # see arithmetic_z
    z = np.stack([a.z, b.z, c.z, arithmetic_z(a.z, b.z, c.z, rescale=rescale)])
    titles = [f"a: {endpoint_title(a)}", f"\u2212 b: {endpoint_title(b)}", f"+ c: {endpoint_title(c)}",
              "= a \u2212 b + c"]
    latent_run(args, z, titles, "arithmetic", {0: a, 1: b, 2: c},
               summary={"prior": generator.z_distribution, "rescaled_to_mean_norm": rescale,
                        "z_range_of_result": [float(z[3].min()), float(z[3].max())]})


def invert(args) -> None:
    """`evaluate.py invert`: z fitted to a real grid, G(z) beside it, the IoU reached."""
    from gan3d_tf.evaluation.latent import Endpoint, invert as fit, read_grid
    from gan3d_tf.training.run_dir import load_network

    args.generator = generator = load_network(args.model, "generator")
    target = read_grid(args.target, args.key, args.index, generator.resolution)
    z, iou = fit(generator, target, steps=args.invert_steps)
    spec = f"{args.target}:{args.key + ':' if args.key else ''}{args.index}"
    endpoint = Endpoint(z, spec, target, iou)
    latent_run(args, z[None], [endpoint_title(endpoint)], "inversion", {0: endpoint},
               summary={"iou": round(iou, 4), "invert_steps": args.invert_steps})


def print_report(report: dict, json_path: str | None) -> None:
    """Prints the report as JSON and, when json_path is given, writes it there too."""
    text = json.dumps(report, indent=2)
    print(text)
    if json_path:
        from pathlib import Path

        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
