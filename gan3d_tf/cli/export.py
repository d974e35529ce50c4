"""Export a trained run for TF Serving and for Keras.

    python export.py RUN_DIR --classifier-data ../shared/data/modelnet10_vox32.npz --out saved_models

writes TF Serving SavedModels (gan3d_generator, gan3d_features and, with
--classifier-data, gan3d_classifier; gan3d_image_to_shape for 3D-VAE-GAN
runs) as saved_models/<name>/<version>/, float32 generator.keras /
discriminator.keras (/ encoder.keras) under saved_models/keras/<version>/, and
saved_models/models.config; see gan3d_tf/serving/export.py and docs/serving.md
for the signatures. `python evaluate.py export` is the same
command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The export flags (shared with `evaluate.py export`)."""
    p.add_argument(
        "model",
        metavar="RUN_DIR",
        help="run directory written by train.py, or a model folder such as "
        "pretrained/chair32 (generator only) or pretrained/mn10-d "
        "(discriminator only)",
    )
    p.add_argument(
        "--classifier-data",
        metavar="FILE.npz",
        help="labelled voxel .npz whose train split fits the gan3d_classifier SVM (omit: no classifier)",
    )
    p.add_argument("--out", default="saved_models", help="TF Serving base directory (default saved_models)")
    p.add_argument("--seed", type=int, default=0, help="seed of the SVM's CV folds and SGD (default 0)")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fails through `p.error` on a bad flag, before any work."""
    from gan3d_tf.training.run_dir import PARTS

    if not os.path.isdir(args.model) or not (
        os.path.isfile(os.path.join(args.model, "config.json"))
        or any(os.path.isfile(os.path.join(args.model, f"{part}.keras")) for part in PARTS)
    ):
        p.error(
            f"not a run directory (no config.json) nor a model folder (no generator.keras, "
            f"discriminator.keras or encoder.keras): {args.model}"
        )
    if args.classifier_data is not None and not os.path.isfile(args.classifier_data):
        p.error(f"--classifier-data not found: {args.classifier_data}")


def run(args: argparse.Namespace, prog: str = "export.py") -> int:
    """Exports the run; prints what was written as JSON. Returns the exit status."""
    from gan3d_tf.serving.export import export_run

    try:
        result = export_run(args.model, args.out, args.classifier_data, args.seed)
    except (FileNotFoundError, ValueError, FileExistsError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(p)
    args = p.parse_args(argv)
    check(p, args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
