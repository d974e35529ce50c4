"""Real data sets the Keras way: downloaded once, cached under `~/.keras/datasets`, loaded as arrays.

    from gan3d_tf.datasets import MODELNET10_CLASSES, load_modelnet10
    (x_train, y_train), (x_test, y_test) = load_modelnet10(resolution=32)
    # x_train: uint8 [N, 32, 32, 32] in {0, 1}, N = ModelNet10's 3,991 train meshes less any unreadable one;
    # MODELNET10_CLASSES[y_train[0]] == "bathtub"

    python -m gan3d_tf.datasets modelnet10 [--resolution 32|64]   # fetch and convert, print the .npz path
    python train.py --data modelnet10 --category chair             # the same, by name

Sources (official archives; see the README's Data section for licences and citations):

- `modelnet10`, `modelnet40`: the ModelNet archives of Wu et al. (CVPR 2015),
  meshes (`.off`) in `<class>/{train,test}/`. Each is downloaded with
  `keras.utils.get_file`, extracted to a temporary folder and voxelized
  solid by `gan3d_tf.data.prepare` (trimesh's voxelizer, interiors filled,
  each object scaled to span the grid, centred, z up) at 32^3 or 64^3; the
  result is cached as `<name>_solid<R>.npz` (`X_train`, `y_train`, `X_test`,
  `y_test`, `classes`, labels in the standard alphabetical class order),
  beside a `.json` with the URL, the archive's SHA-256 and the conversion
  summary. The meshes are then deleted; the archive stays, so another
  resolution needs no second download. The publishers give no checksum for
  these archives, so none is checked (`file_hash=None`); the SHA-256 of the
  archive actually used is recorded in the `.json`.
- `ikea`: the IKEA test set of Lim et al. (ICCV 2013) as processed by
  Girdhar et al. (ECCV 2016): 937 photos, 225 20^3 grids, lists
  (`gan3d_tf.data.ikea`), from the authors' GitHub repository at a fixed
  commit. GitHub's archives are not byte-stable, so the archive is not
  hashed; instead the extracted `Images/`, `Voxels/` and `Lists/` are checked
  against `IKEA_CONTENT_SHA256` (`content_digest`).

Downloads go to `keras.utils.get_file`'s cache (`$KERAS_HOME` or
`~/.keras`, subfolder `datasets`; `cache_dir` overrides it). Every archive
can come from a mirror instead: `base_url` (or the environment variable
`GAN3D_DATASETS_URL`) replaces the source's URL by `<base_url>/<archive
name>`. Failures raise `DatasetError`, naming the URL or the file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan3d_tf.data.voxel_npz import MODELNET10_CLASSES, MODELNET40_CLASSES

MIRROR_ENV = "GAN3D_DATASETS_URL"  # a base URL that replaces every source's, e.g. a local mirror
RESOLUTIONS = (32, 64)  # grid sides load_modelnet10/40 voxelize at
CACHE_SUBDIR = "datasets"  # under keras.utils.get_file's cache dir, as keras.datasets
IKEA_COMMIT = "b2a6df108ad2bf42aa1538cd5a32a545438d9a1d"  # rohitgirdhar/GenerativePredictableVoxels, master
# content_digest of Images/, Voxels/ and Lists/ (1168 files) at IKEA_COMMIT; equal to ../shared/data/ikea's
IKEA_CONTENT_SHA256 = "a444cb04c49dc489abba7438d7855bd74c2ccb3062a8db37d1a74bd7d764bbaa"
IKEA_PARTS = ("Images", "Voxels", "Lists")


class DatasetError(ValueError):
    """A data set could not be downloaded, extracted, checked or converted; the message names the URL or file."""


@dataclass(frozen=True)
class Source:
    """Where one data set comes from.

    Attributes:
        name: the name `--data` and `fetch` take ("modelnet10").
        title: its published name ("ModelNet10").
        url: the official download URL.
        archive: the archive's file name in the cache (and on a mirror).
        sha256: the archive's SHA-256 (`keras.utils.get_file`'s `file_hash`), None when the publisher gives none.
        root: the folder inside the archive that holds the data.
        classes: the class folders a complete archive has, in label order (None: not a ModelNet set).
    """

    name: str
    title: str
    url: str
    archive: str
    sha256: str | None
    root: str
    classes: tuple[str, ...] | None


SOURCES = {
    "modelnet10": Source(
        "modelnet10",
        "ModelNet10",
        "http://3dvision.princeton.edu/projects/2014/3DShapeNets/ModelNet10.zip",
        "ModelNet10.zip",
        None,
        "ModelNet10",
        MODELNET10_CLASSES,
    ),
    "modelnet40": Source(
        "modelnet40",
        "ModelNet40",
        "http://modelnet.cs.princeton.edu/ModelNet40.zip",
        "ModelNet40.zip",
        None,
        "ModelNet40",
        MODELNET40_CLASSES,
    ),
    "ikea": Source(
        "ikea",
        "IKEA (Girdhar et al.'s processed test set)",
        f"https://github.com/rohitgirdhar/GenerativePredictableVoxels/archive/{IKEA_COMMIT}.zip",
        f"GenerativePredictableVoxels-{IKEA_COMMIT}.zip",
        None,
        f"GenerativePredictableVoxels-{IKEA_COMMIT}/dataset/IKEA",
        None,
    ),
}
VOXEL_DATASETS = ("modelnet10", "modelnet40")  # the names `--data` takes


def archive_url(source: Source, base_url: str | None = None) -> str:
    """The URL `source` is downloaded from: `<base_url>/<archive>` with a mirror, else the official one.

    Args:
        source: one of `SOURCES`.
        base_url: a mirror's base URL (default: the environment variable `GAN3D_DATASETS_URL`, if set).
    """
    base = base_url or os.environ.get(MIRROR_ENV)
    return f"{base.rstrip('/')}/{source.archive}" if base else source.url


def cache_root(cache_dir=None) -> Path:
    """The folder the data sets are cached in: `<cache_dir>/datasets`, by default `$KERAS_HOME/datasets` or
    `~/.keras/datasets` (`keras.utils.get_file`'s).

    Args:
        cache_dir: the cache directory (default: Keras's).
    """
    if cache_dir is None:  # Keras's rule, read at each call
        cache_dir = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return Path(os.path.expanduser(str(cache_dir))) / CACHE_SUBDIR


def npz_path(name: str, resolution: int = 32, cache_dir=None) -> Path:
    """Where `fetch(name, resolution)` caches a voxel data set (whether or not it is there yet).

    Args:
        name: "modelnet10" or "modelnet40".
        resolution: 32 or 64.
        cache_dir: the cache directory (default: Keras's).

    Raises:
        DatasetError: an unknown name or resolution.
    """
    if name not in VOXEL_DATASETS:
        raise DatasetError(f"unknown voxel data set {name!r}; choose one of {list(VOXEL_DATASETS)}")
    if resolution not in RESOLUTIONS:
        raise DatasetError(f"{name}: resolution must be one of {list(RESOLUTIONS)}, got {resolution!r}")
    return cache_root(cache_dir) / f"{name}_solid{resolution}.npz"


def download(source: Source, cache_dir=None, base_url: str | None = None) -> Path:
    """The archive of `source` in the cache, downloaded with `keras.utils.get_file` unless it is there.

    Args:
        source: one of `SOURCES`.
        cache_dir: the cache directory (default: Keras's).
        base_url: a mirror (see `archive_url`).

    Raises:
        DatasetError: the download failed or the archive's checksum does not match; names the URL.
    """
    import keras

    url = archive_url(source, base_url)
    target = cache_root(cache_dir) / source.archive
    target.parent.mkdir(parents=True, exist_ok=True)  # else get_file falls back to /tmp/.keras
    try:
        path = keras.utils.get_file(
            source.archive,
            origin=url,
            file_hash=source.sha256,
            cache_dir=str(cache_root(cache_dir).parent),
            cache_subdir=CACHE_SUBDIR,
        )
    except Exception as e:  # get_file raises a bare Exception for URL errors, ValueError for a bad hash
        raise DatasetError(
            f"{source.title}: could not download {url} ({type(e).__name__}: {e}); check the "
            f"connection, set {MIRROR_ENV} to a mirror that holds {source.archive}, or put the "
            f"archive at {target} by hand"
        ) from e
    return Path(path)


def extract(source: Source, archive: Path, into: Path, base_url: str | None = None) -> Path:
    """Extracts `archive` into the folder `into` (macOS `__MACOSX` entries left out); returns the data folder.

    Args:
        source: the archive's source (its `root` is the data folder inside the archive).
        archive: the downloaded zip.
        into: an empty folder to extract into.
        base_url: the mirror it came from, for messages.

    Raises:
        DatasetError: the archive is not a readable zip (truncated, corrupt: it is then deleted, so the next
            call downloads it again) or lacks the data folder; names the archive and its URL.
    """
    url = archive_url(source, base_url)
    try:
        with zipfile.ZipFile(archive) as z:
            members = [
                m
                for m in z.infolist()
                if not m.filename.startswith("__MACOSX/") and not Path(m.filename).name.startswith("._")
            ]
            for m in members:
                z.extract(m, into)  # checks every member's CRC
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:  # truncated or corrupt; not a full disk
        archive.unlink(missing_ok=True)
        raise DatasetError(
            f"{archive} (from {url}) is not a readable zip archive ({type(e).__name__}: {e}); "
            f"it was deleted, so the next call downloads it again"
        ) from e
    root = into / source.root
    if not root.is_dir():
        found = sorted(p.name for p in into.iterdir())
        raise DatasetError(f"{archive} (from {url}) has no folder {source.root}/; it holds {found}")
    return root


def fetch(
    name: str,
    resolution: int = 32,
    cache_dir=None,
    base_url: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """The cached voxel `.npz` of a ModelNet set, downloaded and voxelized first when it is not cached.

    Args:
        name: "modelnet10" or "modelnet40".
        resolution: grid side, 32 or 64.
        cache_dir: the cache directory (default: Keras's, `~/.keras`).
        base_url: a mirror (default: `$GAN3D_DATASETS_URL`, else the official URL).
        workers: processes voxelizing meshes (default: every CPU).
        progress: show progress bars on stderr.

    Returns:
        The `.npz` (`X_train`, `y_train`, `X_test`, `y_test` uint8/int64, `classes`).

    Raises:
        DatasetError: an unknown name or resolution, a failed download, a corrupt archive, or an archive
            whose class folders are not the data set's; names the URL or file.
    """
    from gan3d_tf.data.prepare import prepare

    out = npz_path(name, resolution, cache_dir)
    if out.is_file():
        return out
    source = SOURCES[name]
    archive = download(source, cache_dir, base_url)
    print(f"{source.title}: voxelizing the meshes of {archive} at {resolution}^3 (solid) -> {out}", flush=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{name}-meshes-") as tmp:
        root = extract(source, archive, Path(tmp), base_url)
        folders = tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
        if folders != source.classes:
            raise DatasetError(
                f"{archive} (from {archive_url(source, base_url)}): {source.root}/ has the class "
                f"folders {list(folders)}, expected {source.title}'s {list(source.classes)}"
            )
        try:
            summary = prepare(root, out, resolution, fill="solid", workers=workers, fmt="mesh", progress=progress)
        except (ValueError, FileNotFoundError) as e:
            raise DatasetError(f"{archive}: converting {source.title} failed: {e}") from e
    if tuple(summary["classes"]) != source.classes:  # prepare labels the sorted class folders
        out.unlink()
        raise DatasetError(f"{out}: classes {summary['classes']} are not {source.title}'s {list(source.classes)}")
    record = {
        "name": name,
        "url": archive_url(source, base_url),
        "archive": str(archive),
        "archive_sha256": sha256_of(archive),
        **{k: summary[k] for k in ("resolution", "fill", "n_train", "n_test", "n_skipped", "skipped")},
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"{source.title}: {summary['n_train']} train and {summary['n_test']} test grids, "
        f"{summary['n_skipped']} meshes skipped -> {out}",
        flush=True,
    )
    return out


def _load(name: str, resolution: int, cache_dir, base_url, workers):
    """`(x_train, y_train), (x_test, y_test)` of `fetch(name, ...)`'s file.

    Args:
        name, resolution, cache_dir, base_url, workers: as `fetch`'s.
    """
    path = fetch(name, resolution, cache_dir, base_url, workers)
    with np.load(path, allow_pickle=False) as data:
        return (data["X_train"], data["y_train"]), (data["X_test"], data["y_test"])


def load_modelnet10(resolution: int = 32, cache_dir=None, base_url: str | None = None, workers: int | None = None):
    """ModelNet10 as solid voxel grids, like `keras.datasets.*.load_data()`; downloads and converts once.

    Args:
        resolution: grid side, 32 or 64.
        cache_dir: the cache directory (default: Keras's, `~/.keras`; files go to its `datasets/`).
        base_url: a mirror's base URL (default: `$GAN3D_DATASETS_URL`, else Princeton's URL).
        workers: processes voxelizing the meshes the first time (default: every CPU).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 grids [N, R, R, R] in {0, 1} (z up = axis 2) and int64
        labels indexing `MODELNET10_CLASSES` (the standard, alphabetical order).

    Raises:
        DatasetError: see `fetch`.
    """
    return _load("modelnet10", resolution, cache_dir, base_url, workers)


def load_modelnet40(resolution: int = 32, cache_dir=None, base_url: str | None = None, workers: int | None = None):
    """ModelNet40 as solid voxel grids (voxelized from its meshes), like `load_modelnet10`.

    Args:
        resolution: grid side, 32 or 64.
        cache_dir: the cache directory (default: Keras's, `~/.keras`).
        base_url: a mirror's base URL (default: `$GAN3D_DATASETS_URL`, else Princeton's URL).
        workers: processes voxelizing the meshes the first time (default: every CPU).

    Returns:
        `(x_train, y_train), (x_test, y_test)`, labels indexing `MODELNET40_CLASSES`.

    Raises:
        DatasetError: see `fetch`.
    """
    return _load("modelnet40", resolution, cache_dir, base_url, workers)


def content_digest(folder) -> tuple[int, str]:
    """(files, SHA-256) of the IKEA parts of `folder` (`Images/`, `Voxels/`, `Lists/`): a hash over each
    file's relative path and SHA-256, in sorted order.

    Args:
        folder: an IKEA folder.
    """
    folder, h, n = Path(folder), hashlib.sha256(), 0
    for p in sorted(p for part in IKEA_PARTS for p in (folder / part).rglob("*") if p.is_file()):
        h.update(f"{p.relative_to(folder).as_posix()}\0{sha256_of(p)}\n".encode())
        n += 1
    return n, h.hexdigest()


def ikea_dir(cache_dir=None, base_url: str | None = None, expected_sha256: str = IKEA_CONTENT_SHA256) -> Path:
    """The IKEA test set's folder (`Images/`, `Voxels/`, `Lists/`) in the cache, downloaded when missing.

    Args:
        cache_dir: the cache directory (default: Keras's, `~/.keras`).
        base_url: a mirror's base URL (default: `$GAN3D_DATASETS_URL`, else GitHub's).
        expected_sha256: the `content_digest` the extracted files must have.

    Raises:
        DatasetError: a failed download, a corrupt archive or content that does not match.
    """
    out = cache_root(cache_dir) / "ikea"
    if (out / "Lists" / "Images.txt").is_file():
        return out
    source = SOURCES["ikea"]
    archive = download(source, cache_dir, base_url)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".ikea-") as tmp:
        root = extract(source, archive, Path(tmp), base_url)
        n, digest = content_digest(root)
        if digest != expected_sha256:
            raise DatasetError(
                f"{archive} (from {archive_url(source, base_url)}): its {n} IKEA files have the "
                f"content SHA-256 {digest}, expected {expected_sha256}; delete the archive and "
                f"download it again"
            )
        staged = Path(tmp) / "ikea"
        staged.mkdir()
        for part in IKEA_PARTS:
            shutil.move(str(root / part), str(staged / part))
        os.replace(staged, out)
    return out


def load_ikea(cache_dir=None, base_url: str | None = None, facing: bool = True):
    """The IKEA test set (evaluation only: never train or tune on it), downloaded once.

    Args:
        cache_dir: the cache directory (default: Keras's, `~/.keras`).
        base_url: a mirror's base URL (default: `$GAN3D_DATASETS_URL`, else GitHub's).
        facing: turn each model to ModelNet's facing (see `gan3d_tf.data.ikea.load_ikea`).

    Returns:
        A `gan3d_tf.data.ikea.IkeaSet` (image paths, grids in our axes, categories).

    Raises:
        DatasetError: see `ikea_dir`.
    """
    from gan3d_tf.data.ikea import load_ikea as read_ikea

    return read_ikea(ikea_dir(cache_dir, base_url), facing=facing)


def data_set_name(value: str | None) -> str | None:
    """The voxel data set `--data VALUE` names ("modelnet10", any case), or None: a path (an existing file or
    folder of that name wins) or nothing.

    Args:
        value: `--data`'s value.
    """
    if value is None or os.path.exists(value) or value.lower() not in VOXEL_DATASETS:
        return None
    return value.lower()


def cache_resolution(model_resolution: int) -> int:
    """The grid side a data set is fetched at for a model: 64 for models of 64^3 or more, else 32 (the readers
    resample by an integer factor).

    Args:
        model_resolution: the model's grid side.
    """
    return 64 if model_resolution >= 64 else 32


def resolve_data_path(value: str | None, resolution: int = 32) -> str | None:
    """`--data`'s value as a file: a data set name (`data_set_name`) as its cached `.npz`, fetched first when
    needed; anything else unchanged (the reader then names a missing file).

    Args:
        value: a path or a data set name (None: none given).
        resolution: the model's grid side (see `cache_resolution`).

    Raises:
        DatasetError: see `fetch`.
    """
    name = data_set_name(value)
    return value if name is None else str(fetch(name, cache_resolution(resolution)))


def sha256_of(path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks.

    Args:
        path: the file.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv=None) -> int:
    """`python -m gan3d_tf.datasets NAME`: fetches a data set, prints its cached path; exit 2 on failure.

    Args:
        argv: arguments (default: sys.argv[1:]).
    """
    p = argparse.ArgumentParser(prog="python -m gan3d_tf.datasets", description=__doc__.split("\n\n")[0])
    p.add_argument("name", choices=(*VOXEL_DATASETS, "ikea"), help="the data set")
    p.add_argument(
        "--resolution", type=int, choices=RESOLUTIONS, default=32, help="grid side of the ModelNet sets (default: 32)"
    )
    p.add_argument("--workers", type=int, help="processes voxelizing meshes (default: every CPU)")
    p.add_argument("--cache-dir", help="cache directory (default: $KERAS_HOME or ~/.keras; files go to datasets/)")
    args = p.parse_args(argv)
    try:
        path = (
            ikea_dir(args.cache_dir)
            if args.name == "ikea"
            else fetch(args.name, args.resolution, args.cache_dir, workers=args.workers)
        )
    except DatasetError as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
