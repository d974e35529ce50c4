"""Converting users' 3D data into the project's voxel `.npz`.

    python -m gan3d_tf.data.prepare SRC OUT.npz --resolution R [--fill solid|surface] [--dilate N] [--workers N] \
        [--format FMT]

OUT holds `X_train`, `X_test` (uint8 [N, R, R, R] in {0, 1}, up axis = array
axis 2), `y_train`, `y_test` (int64) and `classes` (when known), and is
written atomically (a temporary file in OUT's directory, then `os.replace`).

SRC formats (detected automatically, `--format` forces one):

- `voxel_npz`: a ModelNet-style voxel `.npz` (`X_train`, ...); grids are
  resampled by an integer factor with `voxel_npz.resample`.
- `points`: a point-cloud `.npz` (`train_points` [N, P, 3], `train_labels`,
  `test_points`, `test_labels`, optional `train_names`/`test_names`,
  `classes`), z up. Each object is scaled so its largest bounding-box extent
  spans the grid and centred. `--fill surface` (the default for points) marks
  the voxels that contain a point, then `--dilate N` binary dilations;
  `--fill solid` then closes gaps (`CLOSE_ITERATIONS` binary closings) and
  fills interiors with `scipy.ndimage.binary_fill_holes`.
- `binvox`, `mesh` (`.off`/`.obj`/`.stl`), `mat` (3D ShapeNets, key
  `instance`): folders in the ModelNet layout `<class>/{train,test}/<file>`;
  class names are the sorted class folder names. Binvox files store voxels in
  x, z, y order (y fastest); they are read with `trimesh.exchange.binvox`
  (`axis_order="xzy"`), which transposes them to x, y, z, so the file's z
  (ModelNet's up axis) becomes array axis 2. Meshes (z up) are voxelized with
  `trimesh` (`mesh.voxelized(pitch)`, `.fill()` for `--fill solid`, the
  default for meshes). Binvox, `.mat` and mesh grids are then cropped to their
  occupied bounding box and rescaled so the largest extent spans R, centred
  (`fit_grid`: a coarse voxel is occupied when any fine voxel in its
  footprint is; upsampling repeats voxels). So the 3-voxel padding of the
  30^3 ShapeNets grids is removed, and `.mat` axes are kept as stored.

`--classes a,b` keeps only those classes (labels renumbered in the given
order) and converts nothing else, e.g. ModelNet40's bookshelves alone.

A file (or point-cloud object) that cannot be read is reported on stderr and
skipped, and so is a grid holding NaN or inf in a voxel `.npz`; the summary
(printed as JSON) lists each with the reason. Whole-file problems stop the
conversion with a one-line error naming the file, the key and the first bad
index and value (`gan3d_tf.data.checks`): grid values other than 0/1 (never
thresholded), labels outside the class list (the `classes` key, else the
ModelNet10 or ModelNet40 names the labels fit) and mismatched lengths. OUT
records `classes` when SRC has them or `--classes` selects by name.
Several prepared files are combined with `python -m gan3d_tf.data.merge`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from gan3d_tf.data.checks import check_grids, check_kind, check_labels, open_npz, read_array
from gan3d_tf.data.voxel_npz import class_names, resample
from gan3d_tf.data.voxelize import (  # noqa: F401  (prepare.fit_grid etc., as before)
    CLOSE_ITERATIONS,
    MAX_RESOLUTION,
    fit_grid,
    read_binvox,
    read_mat,
    voxelize_mesh,
    voxelize_points,
)

FORMATS = ("voxel_npz", "points", "binvox", "mesh", "mat")
FOLDER_EXTENSIONS = {"binvox": (".binvox",), "mesh": (".off", ".obj", ".stl"), "mat": (".mat",)}
SPLITS = ("train", "test")
POINT_LABELS = tuple(f"{s}_labels" for s in SPLITS)


def _convert_one(job):
    """Worker: (kind, payload, name, resolution, fill, dilate) -> (grid | None, error | None)."""
    kind, payload, name, resolution, fill, dilate = job
    try:
        if kind == "points":
            grid = voxelize_points(payload, resolution, fill, dilate)
        elif kind == "mesh":
            grid = voxelize_mesh(payload, resolution, fill, dilate)
        else:
            grid = fit_grid(read_binvox(payload) if kind == "binvox" else read_mat(payload), resolution)
        if not grid.any():
            raise ValueError("empty grid")
    except Exception as e:  # per-file: reported by name with the exception type, then skipped
        return None, f"{type(e).__name__}: {e}"
    return grid, None


def detect_format(src) -> str:
    """The format of SRC (one of FORMATS).

    Args:
        src: a `.npz` file or a ModelNet-layout folder.

    Raises:
        FileNotFoundError: SRC is missing, or a folder without data files.
        ValueError: an unreadable `.npz`, unknown keys, or mixed file kinds.
    """
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"source not found: {src}")
    if src.is_file():
        if src.suffix.lower() != ".npz":
            raise ValueError(f"{src}: unknown format; expected a .npz file or a <class>/{{train,test}}/ folder")
        with open_npz(src) as data:
            keys = set(data.files)
        if "X_train" in keys:
            return "voxel_npz"
        if "train_points" in keys:
            return "points"
        raise ValueError(f"{src}: unknown .npz keys {sorted(keys)}; expected X_train... or train_points...")
    found = {
        k
        for k, exts in FOLDER_EXTENSIONS.items()
        for f in src.glob("*/*/*")
        if f.parent.name in SPLITS and f.suffix.lower() in exts
    }
    if not found:
        raise FileNotFoundError(f"{src}: no .binvox/.off/.obj/.stl/.mat files in <class>/{{train,test}}/")
    if len(found) > 1:
        raise ValueError(f"{src}: mixed file kinds {sorted(found)}; choose one with --format")
    return found.pop()


def _folder_jobs(src: Path, fmt: str):
    """(classes, {split: [(path, label)]}) of a ModelNet-layout folder."""
    classes = sorted(d.name for d in src.iterdir() if d.is_dir() and any((d / s).is_dir() for s in SPLITS))
    files = {
        s: [
            (f, label)
            for label, c in enumerate(classes)
            for f in sorted((src / c / s).glob("*"))
            if f.is_file() and f.suffix.lower() in FOLDER_EXTENSIONS[fmt]
        ]
        for s in SPLITS
    }
    if not any(files.values()):
        raise FileNotFoundError(f"{src}: no {'/'.join(FOLDER_EXTENSIONS[fmt])} files in <class>/{{train,test}}/")
    return classes, files


def _points_jobs(src: Path, keep):
    """(classes, {split: [(points, label, name)]}) of a point-cloud `.npz`; classes as `_recorded_classes`.

    Raises:
        ValueError: missing keys, points that are not [N, P, 3] numbers, labels
            or names that do not match the points (`checks.check_labels`), or no points.
    """
    with open_npz(src) as data:
        missing = [f"{s}_{k}" for s in SPLITS for k in ("points", "labels") if f"{s}_{k}" not in data.files]
        if missing:
            raise ValueError(f"{src}: missing key(s) {missing}")
        classes = class_names(data, src, POINT_LABELS)
        out = {}
        for s in SPLITS:
            pk, lk, nk = f"{s}_points", f"{s}_labels", f"{s}_names"
            pts = read_array(data, pk, src)
            if pts.ndim != 3 or pts.shape[2] != 3:
                raise ValueError(f"{src}: {pk} must be [N, P, 3], got {pts.shape}")
            check_kind(pts, src, pk, "iuf", "point coordinates (integer or float)")
            labels = check_labels(read_array(data, lk, src), src, lk, classes, pk, len(pts))
            names = read_array(data, nk, src) if nk in data.files else [f"{pk}[{i}]" for i in range(len(pts))]
            if len(names) != len(pts):
                raise ValueError(f"{src}: {nk} must have {len(pts)} names to match {pk}, got {len(names)}")
            out[s] = [(pts[i], labels[i], str(names[i])) for i in range(len(pts))]
        classes = _recorded_classes(data, classes, keep)
    if not any(out.values()):
        raise ValueError(f"{src}: no point clouds")
    return classes, out


def _recorded_classes(data, classes, keep) -> list[str] | None:
    """The class names OUT records: a source's own `classes`, or, only to select `--classes` by name, the
    ModelNet names its labels fit (`voxel_npz.class_names`); None otherwise."""
    return list(classes) if "classes" in data.files or keep is not None else None


def report_skipped(prog: str, records: list[dict], skipped: list[dict]) -> None:
    """Prints each skipped item on stderr ("PROG: skipped FILE: REASON") and appends it to `skipped`.

    Args:
        prog: the command's name.
        records: [{"file", "split", "reason"}] of the items skipped.
        skipped: the summary's list of skipped items.
    """
    for r in records:
        print(f"{prog}: skipped {r['file']}: {r['reason']}", file=sys.stderr)
    skipped.extend(records)


def select_classes(classes, keep, src) -> tuple[list[str], dict[int, int]]:
    """(kept class names, {old label: new label}) for `--classes`.

    Args:
        classes: the source's class names in label order (None when unknown).
        keep: names to keep, in their new label order (None keeps everything).
        src: the source, for messages.

    Raises:
        ValueError: the source has no class names, or a name is not among them.
    """
    if keep is None:
        return (None if classes is None else list(classes)), None
    if classes is None:
        raise ValueError(f"{src}: --classes needs class names, but the source has none")
    unknown = [c for c in keep if c not in classes]
    if unknown:
        raise ValueError(f"{src}: unknown class(es) {unknown}; the source has {list(classes)}")
    return list(keep), {list(classes).index(c): i for i, c in enumerate(keep)}


def voxel_splits(data, src):
    """Yields (split, X [N, R, R, R], y int64 [N], skipped) for each split an opened voxel `.npz` holds.

    Grids holding NaN or inf are left out of X and y and listed in skipped
    ([{"file", "split", "reason"}], see `report_skipped`).

    Args:
        data: the opened `.npz` (`checks.open_npz`).
        src: its path, for messages.

    Raises:
        ValueError: no X_train/y_train, an X without its y, or grids or labels
            refused by `checks.check_grids` / `checks.check_labels` (values
            other than 0/1, labels outside the class list, mismatched lengths).
    """
    if "X_train" not in data.files or "y_train" not in data.files:
        raise ValueError(f"{src}: a voxel .npz needs X_train and y_train; found {sorted(data.files)}")
    classes = class_names(data, src)
    for s in SPLITS:
        xk, yk = f"X_{s}", f"y_{s}"
        if xk not in data.files:
            continue
        if yk not in data.files:
            raise ValueError(f"{src}: {xk} without {yk}")
        x = read_array(data, xk, src)
        nonfinite = check_grids(x, src, xk)
        y = check_labels(read_array(data, yk, src), src, yk, classes, xk, len(x))
        if nonfinite.any():
            x, y = x[~nonfinite], y[~nonfinite]
        yield (
            s,
            x,
            y,
            [
                {"file": str(src), "split": s, "reason": f"{xk}[{i}] holds NaN or inf"}
                for i in np.flatnonzero(nonfinite)
            ],
        )


def print_summary(ap: argparse.ArgumentParser, run) -> dict:
    """Calls `run()`; prints its summary as JSON, or exits through `ap.error` (code 2) naming the problem."""
    try:
        summary = run()
    except (ValueError, FileNotFoundError, OSError) as e:
        ap.error(str(e))
    print(json.dumps(summary, indent=2))
    return summary


def _run(jobs, workers: int, desc: str, progress: bool):
    """Runs `_convert_one` over jobs in order, on `workers` processes (1 = in this process)."""
    bar = dict(total=len(jobs), desc=desc, file=sys.stderr, disable=not progress)
    if workers == 1 or len(jobs) < 2:
        return list(tqdm(map(_convert_one, jobs), **bar))
    chunk = max(1, min(64, len(jobs) // (4 * workers)))
    with ProcessPoolExecutor(max_workers=workers) as ex:
        return list(tqdm(ex.map(_convert_one, jobs, chunksize=chunk), **bar))


def write_atomic(out: Path, arrays: dict) -> None:
    """Writes arrays to a temporary `.npz` beside OUT, then renames it to OUT."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, out)
    finally:  # on failure the temporary file goes and OUT is left as it was
        if os.path.exists(tmp):
            os.unlink(tmp)


def prepare(
    src,
    out,
    resolution: int,
    fill: str | None = None,
    dilate: int = 0,
    workers: int | None = None,
    fmt: str | None = None,
    progress: bool = True,
    classes: list[str] | None = None,
) -> dict:
    """Converts SRC into the project's voxel `.npz` at OUT; returns the summary.

    Args:
        src: a voxel `.npz`, a point-cloud `.npz`, or a ModelNet-layout folder
            of `.binvox`, `.off`/`.obj`/`.stl` or `.mat` files.
        out: the `.npz` to write (atomically).
        resolution: side length R of the output grids.
        fill: "surface" or "solid" for points and meshes (defaults: points
            "surface", meshes "solid"); not allowed for grid formats.
        dilate: binary dilations for points and meshes.
        workers: processes for per-object formats (default os.cpu_count()).
        fmt: force a format (one of FORMATS) instead of detecting it.
        progress: show a tqdm progress bar on stderr.
        classes: keep only these class names, labelled 0.. in this order
            (default: every class, labels as in SRC).

    Returns:
        dict with format, resolution, fill, dilate, classes, n_train, n_test,
        n_skipped, skipped ([{"file", "split", "reason"}]) and out.

    Raises:
        FileNotFoundError: SRC, OUT's directory, or any data files missing.
        ValueError: bad resolution/options, unknown format, unreadable
            source, or nothing converted (OUT is then not written).
    """
    src, out = Path(src), Path(out)
    if not isinstance(resolution, (int, np.integer)) or not 2 <= resolution <= MAX_RESOLUTION:
        raise ValueError(f"resolution must be an integer in 2..{MAX_RESOLUTION}, got {resolution!r}")
    if fill not in (None, "surface", "solid"):
        raise ValueError(f"fill must be 'surface' or 'solid', got {fill!r}")
    if dilate < 0:
        raise ValueError(f"dilate must be >= 0, got {dilate}")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {list(FORMATS)}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output directory not found: {out.parent}")
    if not src.exists():
        raise FileNotFoundError(f"source not found: {src}")
    fmt = fmt or detect_format(src)
    if fmt in ("voxel_npz", "binvox", "mat") and (fill is not None or dilate):
        raise ValueError(f"--fill/--dilate apply to points and meshes only, not to format {fmt!r}")
    fill = fill or {"points": "surface", "mesh": "solid"}.get(fmt)
    if classes is not None and (not classes or len(set(classes)) != len(classes)):
        raise ValueError(f"classes must be distinct names, got {classes}")
    keep = classes

    arrays, skipped = {}, []
    if fmt == "voxel_npz":
        with open_npz(src) as data:
            splits = list(voxel_splits(data, src))  # checks keys, grids and labels before anything else reads them
            classes, relabel = select_classes(_recorded_classes(data, class_names(data, src), keep), keep, src)
            for s, x, y, bad in splits:
                report_skipped("prepare", bad, skipped)
                r = x.shape[1]
                if resolution % r and r % resolution:
                    raise ValueError(f"{src}: cannot resample {r}^3 to {resolution}^3 (needs an integer factor)")
                if relabel is not None:
                    mask = np.isin(y, list(relabel))
                    x, y = x[mask], np.asarray([relabel[int(v)] for v in y[mask]], np.int64)
                arrays[f"X_{s}"] = resample(x.astype(np.uint8), resolution)
                arrays[f"y_{s}"] = y
    else:
        if fmt == "points":
            classes, items = _points_jobs(src, keep)
        else:
            classes, files = _folder_jobs(src, fmt)
            items = {s: [(str(f), label, str(f)) for f, label in v] for s, v in files.items()}
        classes, relabel = select_classes(classes, keep, src)
        if relabel is not None:
            items = {
                s: [(p, relabel[int(label)], n) for p, label, n in v if int(label) in relabel] for s, v in items.items()
            }
        jobs = {s: [(fmt, p, n, resolution, fill, dilate) for p, _, n in items[s]] for s in SPLITS}
        labels = {s: [label for _, label, _ in items[s]] for s in SPLITS}
        for s in SPLITS:
            grids, ys = [], []
            for job, y, (grid, err) in zip(jobs[s], labels[s], _run(jobs[s], workers, s, progress)):
                if err is not None:
                    report_skipped("prepare", [{"file": job[2], "split": s, "reason": err}], skipped)
                else:
                    grids.append(grid)
                    ys.append(y)
            arrays[f"X_{s}"] = np.stack(grids) if grids else np.zeros((0,) + (resolution,) * 3, np.uint8)
            arrays[f"y_{s}"] = np.asarray(ys, np.int64)
    counts = {f"n_{s}": int(len(arrays[f"y_{s}"])) if f"y_{s}" in arrays else 0 for s in SPLITS}
    if not sum(counts.values()):
        raise ValueError(f"{src}: nothing converted ({len(skipped)} skipped); {out} not written")
    if classes is not None:
        arrays["classes"] = np.asarray(classes, dtype=str)
    write_atomic(out, arrays)
    summary = {
        "format": fmt,
        "resolution": int(resolution),
        "fill": fill,
        "dilate": int(dilate),
        "classes": classes,
        **counts,
        "n_skipped": len(skipped),
        "skipped": skipped,
        "out": str(out),
    }
    return summary


def main(argv=None) -> dict:
    """Command-line entry point; prints the summary as JSON.

    Args:
        argv: arguments (default sys.argv[1:]).
    """
    ap = argparse.ArgumentParser(prog="prepare", description="Convert 3D data into the project's voxel .npz.")
    ap.add_argument("src", help="voxel .npz, point-cloud .npz, or <class>/{train,test}/ folder")
    ap.add_argument("out", help="output .npz")
    ap.add_argument("--resolution", type=int, required=True)
    ap.add_argument(
        "--fill",
        choices=("surface", "solid"),
        default=None,
        help="points/meshes only (default: points surface, meshes solid)",
    )
    ap.add_argument("--dilate", type=int, default=0, help="binary dilations (points/meshes)")
    ap.add_argument("--workers", type=int, default=None, help="processes (default os.cpu_count())")
    ap.add_argument("--format", choices=FORMATS, default=None, help="force the source format")
    ap.add_argument(
        "--classes",
        default=None,
        help="keep only these classes, joined by commas (bed,chair); labels follow this order",
    )
    args = ap.parse_args(argv)
    keep = None if args.classes is None else [c.strip() for c in args.classes.split(",")]
    return print_summary(
        ap,
        lambda: prepare(
            args.src, args.out, args.resolution, args.fill, args.dilate, args.workers, args.format, classes=keep
        ),
    )


if __name__ == "__main__":
    main()
