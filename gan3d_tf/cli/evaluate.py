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

from gan3d_tf.cli import evaluate_args  # noqa: E402
from gan3d_tf.cli import export as export_cli  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """evaluate.py's flags, checked (`gan3d_tf.cli.evaluate_args`)."""
    return evaluate_args.parse_args(argv, __doc__.split("\n\n")[0])


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "export":
        return export_cli.run(args, "evaluate.py")
    command = {
        "sample": sample,
        "classify": classify,
        "generation": generation,
        "reconstruct": reconstruct,
        "interpolate": interpolate,
        "arithmetic": arithmetic,
        "invert": invert,
    }
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

    summary = write_samples(
        load_network(args.model, "generator"),
        args.n,
        args.out,
        args.seed,
        args.threshold,
        clean=args.clean,
        truncation=args.truncation,
        reference_mean_voxels=training_mean_voxels(args.model),
    )
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
        report["heldout_views"] = evaluate_views(
            encoder, generator, args.model, args.views, means=means, scene=args.views_scene
        )
    print_report(report, args.json)


def classify(args) -> None:
    """`evaluate.py classify`: linear SVM on D's features next to the random-D and raw-voxel baselines.

    Prints a short table (trained D, random D, raw voxels, margin, McNemar p); --json writes the full report.
    """
    from pathlib import Path

    from gan3d_tf.evaluation.classify import classify as run_classify
    from gan3d_tf.evaluation.classify import save_confusion_png
    from gan3d_tf.training.run_dir import load_network

    report = run_classify(
        load_network(args.model, "discriminator", args.checkpoint), args.data, seed=args.seed, seeds=args.seeds
    )
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
    lines = [
        f"{report['n_test']} test shapes, {len(report['classes'])} classes; linear SVM on {report['n_train']} "
        f"train shapes" + (f"; seeds {seeds['seeds'][0]}-{seeds['seeds'][-1]}" if seeds else "")
    ]
    lines.append(
        f"{'':12}{'seed ' + str(seeds['seeds'][0]) if seeds else 'accuracy':>10}"
        + (f"{'mean +- sd':>18}" if seeds else "")
    )
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
        line += (
            f"; over {len(seeds['seeds'])} seeds {100 * seeds['margin_mean']:+.1f} +- "
            f"{100 * seeds['margin_std']:.1f} points, p < 0.01 at {below} of {len(seeds['seeds'])}"
        )
    lines.append(line)
    return "\n".join(lines)


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
    report = generator_report(
        load_network(args.model, "generator", args.checkpoint),
        args.data,
        args.category,
        args.split,
        args.n,
        args.seed,
        args.chamfer,
        held_out,
        args.truncation,
    )
    report = {"model": args.model, **({"checkpoint": args.checkpoint} if args.checkpoint else {}), **report}
    floor, notes, resolution = report["floor"], report["floor"]["notes"], report["resolution"]
    report["wall_seconds"] = round(time.perf_counter() - start, 2)
    print(
        f"{args.category}: {args.n} generated shapes (seed {args.seed}) vs {report['n_reference']} {args.split} "
        f"shapes at {resolution}^3 ({report['n_reference_empty_dropped']} empty {args.split} grids dropped); "
        f"floor: {floor['n_floor']} of {floor['n_train']} train shapes"
    )
    for note in notes:
        print(f"note: {note}")
    print(f"{'':16}{'COV':>7}{'MMD':>8}{'1-NNA':>8}")
    for distance in ("iou", "chamfer") if args.chamfer else ("iou",):
        for name, r in (("model", report), ("floor", floor)):
            s = r[distance]
            print(f"{distance:8}{name:8}{s['cov']:7.3f}{s['mmd']:8.3f}{s['one_nna']:8.3f}")
    cleaned = report["cleaned"]["iou"]
    print(
        f"{'iou':8}{'cleaned':8}{cleaned['cov']:7.3f}{cleaned['mmd']:8.3f}{cleaned['one_nna']:8.3f}"
        f"   (each sample reduced to its largest connected component)"
    )
    for name, r in (("model", report), ("floor", floor)):
        pairwise = "n/a" if r["mean_pairwise_iou"] is None else f"{r['mean_pairwise_iou']:.3f}"
        print(
            f"{name}: occupancy {r['occupancy']:.3f}, {r['n_empty']} empty, {r['n_near_empty']} near-empty "
            f"(< {r['near_empty_below_voxels']:.0f} voxels), {r['n_fragmented']} fragmented, "
            f"mean pairwise IoU {pairwise}"
        )
    failures = gate_failures(report)
    print("gate: " + ("passed" if not failures else "failed: " + "; ".join(failures)))
    print(f"wall {report['wall_seconds']:.1f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


def endpoint_title(endpoint) -> str:
    """A short caption: "seed 3", "X_train[12]" (IoU of the fit), "z[4]"."""
    from gan3d_tf.evaluation.latent import split_endpoint

    path, key, index = split_endpoint(endpoint.source)
    if path is None:
        return f"seed {index}"
    name = f"{key or ('z' if endpoint.target is None else 'grid')}[{index}]"
    return name if endpoint.iou is None else f"{name}\nfit IoU {endpoint.iou:.2f}"


def latent_run(
    args, generator, z, titles, name, endpoints: dict, extra: dict | None = None, summary: dict | None = None
):
    """Writes the strip of `z` and summary.json; prints the summary."""
    from gan3d_tf.evaluation.latent import write_strip, write_summary

    targets = {pos: e.target for pos, e in endpoints.items() if e.target is not None}
    written = write_strip(generator, z, titles, args.out, name, args.threshold, extra, targets=targets)
    out = {
        "model": args.model,
        **(summary or {}),
        "endpoints": {label: e.describe() for label, e in zip(endpoint_labels(args), endpoints.values())},
        "n_empty": written["n_empty"],
        "png": written["png"],
        "npz": written["npz"],
        "meshes": len(written["meshes"]),
    }
    write_summary(args.out, out)
    print(json.dumps(out, indent=2))


def endpoint_labels(args) -> list[str]:
    return {"interpolate": ["from", "to"], "arithmetic": ["a", "b", "c"], "invert": ["target"]}[args.command]


def interpolate(args) -> None:
    """`evaluate.py interpolate`: G along the path between two endpoints."""
    from gan3d_tf.evaluation.latent import interpolate_z, parse_endpoint, resolve_method
    from gan3d_tf.training.run_dir import load_network

    generator = load_network(args.model, "generator")
    method = resolve_method(generator, args.method)
    a, b = (parse_endpoint(generator, spec, args.invert_steps) for spec in (args.start, args.end))
    t, z = interpolate_z(a.z, b.z, args.steps, method)
    titles = [endpoint_title(a)] + [f"t = {x:.2f}" for x in t[1:-1]] + [endpoint_title(b)]
    latent_run(
        args,
        generator,
        z,
        titles,
        "interpolation",
        {0: a, len(z) - 1: b},
        extra={"t": t},
        summary={"method": method, "steps": args.steps},
    )


def arithmetic(args) -> None:
    """`evaluate.py arithmetic`: a, b, c and the shape of a - b + c."""
    from gan3d_tf.evaluation.latent import arithmetic_z, parse_endpoint
    from gan3d_tf.training.run_dir import load_network

    generator = load_network(args.model, "generator")
    a, b, c = (parse_endpoint(generator, spec, args.invert_steps) for spec in (args.a, args.b, args.c))
    rescale = generator.z_distribution == "normal"  # see arithmetic_z
    z = np.stack([a.z, b.z, c.z, arithmetic_z(a.z, b.z, c.z, rescale=rescale)])
    titles = [
        f"a: {endpoint_title(a)}",
        f"\u2212 b: {endpoint_title(b)}",
        f"+ c: {endpoint_title(c)}",
        "= a \u2212 b + c",
    ]
    latent_run(
        args,
        generator,
        z,
        titles,
        "arithmetic",
        {0: a, 1: b, 2: c},
        summary={
            "prior": generator.z_distribution,
            "rescaled_to_mean_norm": rescale,
            "z_range_of_result": [float(z[3].min()), float(z[3].max())],
        },
    )


def invert(args) -> None:
    """`evaluate.py invert`: z fitted to a real grid, G(z) beside it, the IoU reached."""
    from gan3d_tf.evaluation.latent import Endpoint, invert as fit, read_grid
    from gan3d_tf.training.run_dir import load_network

    generator = load_network(args.model, "generator")
    target = read_grid(args.target, args.key, args.index, generator.resolution)
    z, iou = fit(generator, target, steps=args.invert_steps)
    spec = f"{args.target}:{args.key + ':' if args.key else ''}{args.index}"
    endpoint = Endpoint(z, spec, target, iou)
    latent_run(
        args,
        generator,
        z[None],
        [endpoint_title(endpoint)],
        "inversion",
        {0: endpoint},
        summary={"iou": round(iou, 4), "invert_steps": args.invert_steps},
    )


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
