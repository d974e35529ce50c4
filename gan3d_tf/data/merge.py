"""Combining prepared voxel `.npz` files into one, by class name.

    python -m gan3d_tf.data.merge A.npz B.npz [...] OUT.npz

Each input is a project `.npz` (`X_train`, `y_train`, optional `X_test`,
`y_test`, `classes`; files without `classes` get the ModelNet names their
labels fit, see `voxel_npz.class_names`). All inputs must have the same grid
resolution. OUT's classes are the inputs' class names in order of first
appearance; classes of the same name are pooled. OUT is written atomically
and the summary (counts per class and split) is printed as JSON. Inputs are
checked as `prepare` checks a voxel `.npz` (`prepare.voxel_splits`): grids
holding NaN or inf are skipped and listed, other bad values, labels or
lengths stop the merge naming the file, key and first bad index.

Example, ModelNet10's five IKEA classes and ModelNet40's bookshelves:

    python -m gan3d_tf.data.prepare ../shared/data/modelnet10_vox32.npz data/mn10_ikea5.npz --resolution 32 \
        --classes bed,chair,desk,sofa,table
    python -m gan3d_tf.data.prepare ../shared/data/modelnet40_pts1024_f16.npz data/mn40_bookshelf.npz --resolution 32 \
        --dilate 1 --classes bookshelf
    python -m gan3d_tf.data.merge data/mn10_ikea5.npz data/mn40_bookshelf.npz data/ikea6_train.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gan3d_tf.data.checks import open_npz
from gan3d_tf.data.prepare import SPLITS, print_summary, report_skipped, voxel_splits, write_atomic
from gan3d_tf.data.voxel_npz import class_names


def merge(sources, out) -> dict:
    """Writes the union of the voxel `.npz` files `sources` to `out`; returns the summary.

    Args:
        sources: two or more project voxel `.npz` paths.
        out: the `.npz` to write.

    Returns:
        dict with classes, n_train, n_test, per_class ({name: {split: count}}),
        n_skipped, skipped ([{"file", "split", "reason"}], grids holding NaN
        or inf) and out.

    Raises:
        FileNotFoundError: an input or OUT's directory is missing.
        ValueError: fewer than two inputs, an unreadable file, a file without
            X_train/y_train, grids or labels refused by `prepare.voxel_splits`,
            different resolutions (naming the files), or an input without grids.
    """
    sources, out = [Path(s) for s in sources], Path(out)
    if len(sources) < 2:
        raise ValueError(f"merge needs at least two input files, got {len(sources)}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output directory not found: {out.parent}")
    classes: list[str] = []
    parts = {s: ([], []) for s in SPLITS}
    resolution, skipped = None, []
    for src in sources:
        if not src.is_file():
            raise FileNotFoundError(f"input not found: {src}")
        with open_npz(src) as data:
            splits = list(voxel_splits(data, src))  # checks keys, grids and labels first
            names = class_names(data, src)
            if not any(len(y) for _, _, y, _ in splits):
                raise ValueError(
                    f"{src}: no grids in {[f'X_{s}' for s, *_ in splits]} "
                    f"({sum(len(bad) for *_, bad in splits)} holding NaN or inf skipped)"
                )
            for c in names:
                if c not in classes:
                    classes.append(c)
            relabel = np.asarray([classes.index(c) for c in names], np.int64)
            for s, x, y, bad in splits:
                report_skipped("merge", bad, skipped)
                if resolution is None:
                    resolution = (x.shape[1], src)
                elif x.shape[1] != resolution[0]:
                    raise ValueError(
                        f"{src}: {x.shape[1]}^3 grids, but {resolution[1]} has {resolution[0]}^3; "
                        f"prepare both at one --resolution"
                    )
                parts[s][0].append(x.astype(np.uint8))
                parts[s][1].append(relabel[y])
    arrays = {}
    for s in SPLITS:
        if parts[s][0]:
            arrays[f"X_{s}"] = np.concatenate(parts[s][0])
            arrays[f"y_{s}"] = np.concatenate(parts[s][1])
    arrays["classes"] = np.asarray(classes, dtype=str)
    write_atomic(out, arrays)
    per_class = {
        c: {s: int(np.sum(arrays[f"y_{s}"] == i)) for s in SPLITS if f"y_{s}" in arrays} for i, c in enumerate(classes)
    }
    return {
        "classes": classes,
        **{f"n_{s}": int(len(arrays.get(f"y_{s}", ()))) for s in SPLITS},
        "per_class": per_class,
        "n_skipped": len(skipped),
        "skipped": skipped,
        "out": str(out),
    }


def main(argv=None) -> dict:
    """Command-line entry point; prints the summary as JSON.

    Args:
        argv: arguments (default sys.argv[1:]).
    """
    ap = argparse.ArgumentParser(prog="merge", description="Combine voxel .npz files by class name.")
    ap.add_argument("files", nargs="+", metavar="FILE", help="two or more input .npz files, then the output .npz")
    args = ap.parse_args(argv)
    if len(args.files) < 3:
        ap.error(f"give at least two inputs and one output, got {len(args.files)} file(s)")
    return print_summary(ap, lambda: merge(args.files[:-1], args.files[-1]))


if __name__ == "__main__":
    main()
