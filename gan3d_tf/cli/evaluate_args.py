"""evaluate.py's command line: one small parser and one check function per subcommand.

`parse_args` parses, then runs the subcommand's check, which refuses bad
input before any model is loaded (`p.error`, exit 2) and returns the values
it resolved (a data set name's file, a checkpoint's path, `sample`'s model);
the namespace it returns is a new one with those values, never changed after.
"""

from __future__ import annotations

import argparse
import json
import os

from gan3d_tf.cli import export as export_cli
from gan3d_tf.config import SCENES

ENDPOINT_HELP = "a seed, FILE.npz:INDEX (a row of its key z) or FILE.npz:KEY:INDEX (a real grid, inverted)"
DATA_HELP = (
    "labelled voxel .npz with train and test splits, or a data set name: modelnet10, modelnet40 "
    "(downloaded once to ~/.keras/datasets)"
)
TRUNCATION_HELP = "draw z from a normal truncated to [-PSI, PSI] (normal priors only; default: no truncation)"
CHECKPOINT_HELP = (
    "this checkpoint of RUN_DIR (a name such as ckpt-4000 in RUN_DIR/checkpoints, or a path prefix) "
    "instead of its newest one"
)


def add_sample(s) -> None:
    s.add_argument("model_pos", nargs="?", metavar="RUN_DIR", help="same as --model (the older positional form)")
    s.add_argument("--model", metavar="RUN_DIR", help="run directory, pretrained folder or generator .keras file")
    s.add_argument("--n", type=int, default=16, help="number of samples (default 16)")
    s.add_argument(
        "--clean",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep each sample's largest connected component, as the authors' visualiser does "
        "(default: on; --no-clean writes the raw grids; summary.json counts the raw ones either way)",
    )
    s.add_argument("--truncation", type=float, metavar="PSI", help=TRUNCATION_HELP)
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--seed", type=int, default=0, help="seed of the latent draw (default 0)")
    s.add_argument("--threshold", type=float, default=0.5, help="occupancy level for PNG and meshes (default 0.5)")


def check_sample(p, args) -> dict:
    if (args.model is None) == (args.model_pos is None):
        p.error("sample: give the model once, as --model RUN_DIR (or positionally)")
    model = args.model or args.model_pos
    if args.n < 1:
        p.error(f"--n must be >= 1, got {args.n}")
    if not 0 < args.threshold < 1:
        p.error(f"--threshold must be in (0, 1), got {args.threshold}")
    if not os.path.exists(model):
        p.error(f"model not found: {model}")
    return {"model": model}


def add_classify(c) -> None:
    c.add_argument("--model", required=True, metavar="RUN_DIR", help="run directory or discriminator .keras file")
    c.add_argument("--data", required=True, metavar="FILE.npz|NAME", help=DATA_HELP)
    c.add_argument("--json", metavar="OUT.json", help="also write the report here (and OUT.png, the confusion matrix)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random-D baseline and CV folds (default 0)")
    c.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="K",
        help="repeat the comparison for seeds SEED .. SEED+K-1 (new random D, folds and SGD order each) "
        "and report the spread of the margin (report key over_seeds; default 1)",
    )
    c.add_argument("--checkpoint", metavar="NAME", help=f"use the discriminator of {CHECKPOINT_HELP}")


def check_classify(p, args) -> dict:
    data = data_set_path(p, args.data, args.model)  # --data NAME: a data set of gan3d_tf.datasets, fetched once
    checkpoint = checkpoint_path(p, args.model, args.checkpoint)
    if args.seeds < 1:
        p.error(f"--seeds must be >= 1, got {args.seeds}")
    for flag, value in (("model", args.model), ("data", data)):
        if not os.path.exists(value):
            p.error(f"--{flag} not found: {value}")
    return {"data": data, "checkpoint": checkpoint}


def add_reconstruct(r) -> None:
    r.add_argument("--model", required=True, metavar="RUN_DIR", help="3D-VAE-GAN run directory")
    r.add_argument("--ikea", required=True, metavar="DIR", help="IKEA test set (Images/, Voxels/, Lists/)")
    r.add_argument("--json", metavar="OUT.json", help="also write the report here (and OUT.png, a picture sheet)")
    r.add_argument(
        "--views",
        type=int,
        default=0,
        metavar="N",
        help="also score N rendered views of held-out shapes, drawn like the run's training views "
        "(report key heldout_views; default 0: off)",
    )
    r.add_argument(
        "--views-scene",
        choices=SCENES,
        metavar="SCENE",
        help=f"look of the --views images, one of {', '.join(SCENES)} (default: the run's training scene; "
        "a fixed one compares runs trained on different scenes)",
    )


def check_reconstruct(p, args) -> dict:
    if not os.path.isfile(os.path.join(args.model, "config.json")):
        p.error(f"not a run directory (no config.json): {args.model}")
    if not os.path.isfile(os.path.join(args.ikea, "Lists", "Images.txt")):
        p.error(f"--ikea: {args.ikea} has no Lists/Images.txt; expected the IKEA test set directory")
    if args.views < 0:
        p.error(f"--views must be >= 0, got {args.views}")
    if args.views_scene is not None and not args.views:
        p.error("--views-scene needs --views N")
    return {}


def check_export(p, args) -> dict:
    export_cli.check(p, args)
    return {}


def add_generation(g) -> None:
    g.add_argument("--model", required=True, metavar="RUN_DIR", help="run directory or generator .keras file")
    g.add_argument("--data", required=True, metavar="FILE.npz|NAME", help=DATA_HELP)
    g.add_argument("--category", required=True, help="class name (or several joined by commas, or 'all')")
    g.add_argument(
        "--split",
        choices=("train", "test", "heldout"),
        default="test",
        help="reference split (default test); heldout: the training shapes a run (RUN_DIR) held out, "
        "to choose among checkpoints without touching the test split",
    )
    g.add_argument("--checkpoint", metavar="NAME", help=f"score the generator of {CHECKPOINT_HELP}")
    g.add_argument("--n", type=int, default=100, help="number of generated shapes and of floor shapes (default 100)")
    g.add_argument("--seed", type=int, default=0, help="seed of the latent draw and of the floor draw (default 0)")
    g.add_argument("--chamfer", action="store_true", help="also score with the Chamfer distance (slower)")
    g.add_argument("--truncation", type=float, metavar="PSI", help=TRUNCATION_HELP)
    g.add_argument("--json", metavar="OUT.json", help="also write the full report here")


def check_generation(p, args) -> dict:
    data = data_set_path(p, args.data, args.model)
    if args.n < 1:
        p.error(f"--n must be >= 1, got {args.n}")
    if not os.path.exists(args.model):
        p.error(f"--model not found: {args.model}")
    if not os.path.isfile(data):
        p.error(f"--data not found: {data}")
    problem = check_category(data, args.category, args.split)
    if problem:
        p.error(problem)
    if args.split == "heldout" and not os.path.isfile(os.path.join(args.model, "config.json")):
        p.error(f"--split heldout needs a run directory (with config.json), got {args.model}")
    return {"data": data, "checkpoint": checkpoint_path(p, args.model, args.checkpoint)}


def add_latent(q) -> None:
    """The flags `interpolate`, `arithmetic` and `invert` share."""
    q.add_argument("--model", required=True, metavar="RUN_DIR", help="run directory or generator .keras file")
    q.add_argument("--out", required=True, help="output directory")
    q.add_argument("--threshold", type=float, default=0.5, help="occupancy level for PNG and meshes (default 0.5)")
    q.add_argument(
        "--invert-steps", type=int, default=200, help="Adam steps when fitting z to a real grid (default 200)"
    )


def add_interpolate(i) -> None:
    i.add_argument("--from", dest="start", default="0", metavar="ENDPOINT", help=f"{ENDPOINT_HELP} (default 0)")
    i.add_argument("--to", dest="end", default="1", metavar="ENDPOINT", help=f"{ENDPOINT_HELP} (default 1)")
    i.add_argument("--steps", type=int, default=8, help="shapes in the strip, both ends included (default 8)")
    i.add_argument(
        "--method",
        choices=("auto", "linear", "slerp"),
        default="auto",
        help="auto: slerp for a normal prior, linear for a uniform one",
    )
    add_latent(i)


def add_arithmetic(a) -> None:
    for flag in ("a", "b", "c"):
        a.add_argument(f"--{flag}", required=True, metavar="ENDPOINT", help=ENDPOINT_HELP)
    add_latent(a)


def add_invert(v) -> None:
    v.add_argument("--target", required=True, metavar="FILE.npz", help="voxel .npz (keys voxels, or X_train/X_test)")
    v.add_argument("--key", help="array of --target (default: voxels, else X_train)")
    v.add_argument("--index", type=int, required=True, help="index of the grid in that array")
    add_latent(v)


def check_latent(p, args, endpoints: dict) -> dict:
    """The checks `interpolate`, `arithmetic` and `invert` share; `endpoints` maps a flag to its value."""
    if not os.path.exists(args.model):
        p.error(f"--model not found: {args.model}")
    if not 0 < args.threshold < 1:
        p.error(f"--threshold must be in (0, 1), got {args.threshold}")
    if args.invert_steps < 1:
        p.error(f"--invert-steps must be >= 1, got {args.invert_steps}")
    for flag, spec in endpoints.items():
        problem = check_endpoint(spec)
        if problem:
            p.error(f"--{flag}: {problem}")
    return {}


def check_interpolate(p, args) -> dict:
    check_latent(p, args, {"from": args.start, "to": args.end})
    if args.steps < 2:
        p.error(f"--steps must be >= 2, got {args.steps}")
    return {}


def check_arithmetic(p, args) -> dict:
    return check_latent(p, args, {"a": args.a, "b": args.b, "c": args.c})


def check_invert(p, args) -> dict:
    check_latent(p, args, {})
    if not os.path.isfile(args.target):
        p.error(f"--target not found: {args.target}")
    return {}


# subcommand -> (help, add its flags, check them)
SUBCOMMANDS = {
    "sample": ("write generated shapes as .npz, PNG grid and .obj meshes", add_sample, check_sample),
    "classify": ("linear SVM on discriminator features vs. two baselines", add_classify, check_classify),
    "reconstruct": (
        "3D-VAE-GAN: IKEA single-image reconstruction, AP per category",
        add_reconstruct,
        check_reconstruct,
    ),
    "export": (
        "SavedModels for TF Serving and .keras files from a run directory (the same as export.py)",
        export_cli.add_arguments,
        check_export,
    ),
    "generation": (
        "COV, MMD, 1-NNA of generated shapes vs. real ones, next to the train floor",
        add_generation,
        check_generation,
    ),
    "interpolate": (
        "shapes along a line between two latent vectors, as a PNG strip",
        add_interpolate,
        check_interpolate,
    ),
    "arithmetic": (
        "the shape of a - b + c in latent space, as a PNG strip (for a normal prior scaled to the mean "
        "norm of a, b, c)",
        add_arithmetic,
        check_arithmetic,
    ),
    "invert": ("fit z to a real voxel grid; report the IoU reached", add_invert, check_invert),
}


def build_parser(description: str = "") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, (help, add, _) in SUBCOMMANDS.items():
        add(sub.add_parser(name, help=help))
    return p


def parse_args(argv=None, description: str = "") -> argparse.Namespace:
    """evaluate.py's flags, checked, with the values the subcommand's check resolved (a new namespace)."""
    p = build_parser(description)
    args = p.parse_args(argv)
    return argparse.Namespace(**{**vars(args), **SUBCOMMANDS[args.command][2](p, args)})


def checkpoint_path(p, model: str, checkpoint: str | None) -> str | None:
    """`--checkpoint NAME`'s path (RUN_DIR/checkpoints/NAME for a bare name), or None; `p.error` when missing."""
    if not checkpoint:
        return None
    if not os.path.isfile(os.path.join(model, "config.json")):
        p.error(f"--checkpoint needs a run directory (with config.json), got {model}")
    path = checkpoint if "/" in checkpoint else os.path.join(model, "checkpoints", checkpoint)
    if not os.path.isfile(path + ".index"):
        p.error(f"--checkpoint: no checkpoint {path} (no {path}.index)")
    return path


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
