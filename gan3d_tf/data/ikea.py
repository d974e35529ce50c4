"""The IKEA single-image 3D reconstruction test set (Lim et al., ICCV 2013).

Evaluation only: never train or tune on it. Layout of the directory (as used
by TL-embedding / 3D-VAE-GAN, see ../shared/data/README.md):

    Images/<name>.jpg          cropped RGB photographs, varying sizes
    Voxels/<i>.mat             MATLAB file, key `grid`, (20, 20, 20) uint8
    Lists/Images.txt           one image name a line ...
    Lists/ModelID.txt          ... paired line by line with a 1-based model id
    Lists/all_obj_class.txt    class of model i on line i
    Lists/all_obj_clean.txt    name of model i on line i

Orientation. A raw grid has the vertical on axis 0, the floor at index 0
(tables have their top at high indices, legs below), and, like our grids,
objects are centred and fill the grid along their largest extent.
`align_ikea_grid` turns it into our convention (axes x, y, z; z = axis 2 up,
floor at index 0) with the proper rotation raw (a0, a1, a2) -> ours
(x, y, z) = (a1, a2, a0), i.e. `np.transpose(grid, (1, 2, 0))`. Measured
against ModelNet10 train grids brought to 20^3 with
reconstruction_metrics.to_grid: correlation over all voxels of the
image-weighted IKEA class-mean grid with the ModelNet class-mean grid,
chair / table / sofa / bed = 0.49 / 0.46 / 0.73 / 0.84 after the rotation,
against 0.40 / -0.09 / 0.36 / 0.07 for the raw grids and 0.48 / -0.25 /
0.65 / 0.35 for the rotation upside down (tables and beds decide the sign:
tabletops and mattresses are high, legs thin below). Renders agree
(docs/ikea_alignment.png).

Facing. Unlike ModelNet, the IKEA models do not share a horizontal facing:
among the 10 chair models used by the test images the backrest is at -x, -y
or +y, and the sofas are split between long axis along x and along y.
`canonical_facing` therefore turns each model about the vertical by a
multiple of 90 degrees into ModelNet's convention, measured on ModelNet10:
chairs face -y (backrest at +y), sofas face -x (backrest at +x, long side
along y), beds have their headboard at +y (length along y), tables and desks
have their long side along y; bookcases (procedural convention) their width
along x. The backrest/headboard is found as the horizontal offset of the top
quarter of the object from the whole; objects without one are only turned so
their long side lies on the right axis (their front/back sign stays as
stored, as it cannot be read off a near-symmetric grid). `load_ikea` applies
both steps and records the quarter turns per model. With it the class-mean
correlation with ModelNet rises to chair 0.71, sofa 0.94, bed 0.87, desk
0.46 (from 0.49, 0.73, 0.84, 0.27), and the renders show every chair,
sofa and bed of the set facing like ModelNet's. The BILLY bookcases end
with their back panel at +y (front -y, the procedural convention).

Example:
    >>> from gan3d_tf.data.ikea import load_ikea, load_image
    >>> ikea = load_ikea("../shared/data/ikea")
    >>> ikea.voxels.shape, ikea.n_skipped
    ((937, 20, 20, 20), 0)
    >>> photo = load_image(ikea.image_paths[0])  # (256, 256, 3) float32 in [0, 1]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gan3d_tf.data.checks import check_occupancy

IKEA_CATEGORIES: tuple[str, ...] = ("bed", "bookcase", "chair", "desk", "sofa", "table")
IKEA_GRID_SHAPE: tuple[int, int, int] = (20, 20, 20)
# Spellings of the class names in all_obj_class.txt (and common variants).
_CLASS_ALIASES = {"bookshelf": "bookcase", "bookshelves": "bookcase", "couch": "sofa"}
# Horizontal unit vector (x, y) at which the backrest / headboard should lie.
_BACK_DIRECTION = {"chair": (0.0, 1.0), "sofa": (1.0, 0.0), "bed": (0.0, 1.0)}
# Axis (0 = x, 1 = y) along which the longest horizontal side should lie.
_LONG_AXIS = {"bed": 1, "bookcase": 0, "desk": 1, "sofa": 1, "table": 1}
_MIN_BACK_OFFSET = 0.5  # voxels; smaller top-quarter offsets count as "no backrest"


@dataclass(frozen=True)
class IkeaSet:
    """The IKEA test images with their ground-truth grids, as loaded.

    Attributes:
        image_paths: path of each kept image.
        labels: int64 [N], index into `categories`.
        model_ids: int64 [N], the 1-based model id of each image (Voxels/<id>.mat).
        voxels: uint8 [N, 20, 20, 20] in {0, 1}, the ground truth of each
            image in our orientation (z = axis 2 up, ModelNet facing).
        n_skipped: how many listed images were dropped (see `problems`).
        problems: one message per missing/unreadable/invalid file or entry.
        categories: class names in label order (IKEA_CATEGORIES).
        model_names: model id -> name from all_obj_clean.txt, for the used models.
        facing_turns: model id -> quarter turns about z applied by
            `canonical_facing` (0 when facing was not canonicalized).
        root: the directory that was read.
    """

    image_paths: list[str]
    labels: np.ndarray
    model_ids: np.ndarray
    voxels: np.ndarray
    n_skipped: int
    problems: list[str]
    categories: tuple[str, ...] = IKEA_CATEGORIES
    model_names: dict[int, str] = field(default_factory=dict)
    facing_turns: dict[int, int] = field(default_factory=dict)
    root: str = ""

    def counts(self) -> dict[str, int]:
        """Number of kept images per category name."""
        c = Counter(int(i) for i in self.labels)
        return {name: c.get(i, 0) for i, name in enumerate(self.categories)}


def align_ikea_grid(grid: np.ndarray) -> np.ndarray:
    """Rotates a raw IKEA grid (vertical = axis 0) into our axes (up = axis 2).

    A proper rotation (no mirroring): raw axes (a0, a1, a2) become
    (x, y, z) = (a1, a2, a0), so the raw floor (a0 = 0) is at z = 0. See the
    module docstring for the evidence; the horizontal facing is left as
    stored (see `canonical_facing`).

    Args:
        grid: (R, R, R) raw grid, or (N, R, R, R) batch of them.

    Raises:
        ValueError: not a cubic 3-D grid or a batch of them.
    """
    g = np.asarray(grid)
    if g.ndim == 3 and g.shape[0] == g.shape[1] == g.shape[2]:
        return np.ascontiguousarray(np.transpose(g, (1, 2, 0)))
    if g.ndim == 4 and g.shape[1] == g.shape[2] == g.shape[3]:
        return np.ascontiguousarray(np.transpose(g, (0, 2, 3, 1)))
    raise ValueError(f"expected an (R, R, R) grid or (N, R, R, R) batch, got shape {g.shape}")


def back_offset(grid: np.ndarray) -> np.ndarray:
    """Horizontal (x, y) offset of the top quarter of an object from its centroid.

    Large for chairs, sofas and beds (the backrest or headboard is the
    tallest part), near zero for tables and bookcases.

    Args:
        grid: (R, R, R) occupancy grid in our axes (z = axis 2 up).
    """
    idx = np.argwhere(np.asarray(grid) > 0)
    if len(idx) == 0:
        return np.zeros(2)
    z_lo, z_hi = idx[:, 2].min(), idx[:, 2].max()
    top = idx[idx[:, 2] >= z_lo + 0.75 * (z_hi - z_lo + 1)]
    if len(top) == 0:
        return np.zeros(2)
    return top[:, :2].mean(0) - idx[:, :2].mean(0)


def canonical_facing(grid: np.ndarray, category: str) -> tuple[np.ndarray, int]:
    """Turns an aligned grid about z (by k * 90 deg) into ModelNet's facing.

    Chairs, sofas and beds with a detectable backrest/headboard (top-quarter
    offset >= 0.5 voxel) are turned so it lies towards the category's back
    direction; otherwise the grid is turned (k = 1) only when its longest
    horizontal side is on the wrong axis. Categories without a rule keep k = 0.

    Args:
        grid: (R, R, R) grid already in our axes (see `align_ikea_grid`).
        category: one of IKEA_CATEGORIES.

    Returns:
        (turned grid, k) with turned = np.rot90(grid, k, axes=(0, 1)).

    Raises:
        ValueError: unknown category.
    """
    if category not in IKEA_CATEGORIES:
        raise ValueError(f"unknown IKEA category {category!r}; expected one of {list(IKEA_CATEGORIES)}")
    g = np.asarray(grid)
    k = 0
    offset = back_offset(g)
    if category in _BACK_DIRECTION and np.abs(offset).max() >= _MIN_BACK_OFFSET:
        target = np.asarray(_BACK_DIRECTION[category])
        k = int(np.argmax([back_offset(np.rot90(g, j, axes=(0, 1))) @ target for j in range(4)]))
    elif category in _LONG_AXIS:
        idx = np.argwhere(g > 0)
        if len(idx):
            ext = idx[:, :2].max(0) - idx[:, :2].min(0) + 1
            want = _LONG_AXIS[category]
            if ext[1 - want] > ext[want]:
                k = 1
    return np.ascontiguousarray(np.rot90(g, k, axes=(0, 1))), k


def category_of(name: str) -> str | None:
    """The IKEA_CATEGORIES name for a class name of all_obj_class.txt, or None.

    Args:
        name: the class name as written in the file (case and spaces ignored).
    """
    n = name.strip().lower()
    n = _CLASS_ALIASES.get(n, n)
    return n if n in IKEA_CATEGORIES else None


def _read_list(path: Path) -> list[str]:
    """Non-empty lines of a list file; trailing blank lines are allowed, inner ones are not."""
    if not path.is_file():
        raise FileNotFoundError(f"IKEA list file not found: {path}")
    lines = [line.strip() for line in path.read_text().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    for i, line in enumerate(lines, 1):
        if not line:
            raise ValueError(f"{path}: line {i} is empty (the lists pair line by line)")
    return lines


def read_mat_grid(path: Path) -> np.ndarray:
    """Reads the `grid` array of a MATLAB file (v4-v7 with scipy, v7.3/HDF5 with h5py).

    Args:
        path: the `.mat` file.

    Raises:
        ValueError: unreadable file, no `grid` key, or a grid that is not
            (20, 20, 20) with values in {0, 1} (NaN, inf, 0.5 or 255 are
            refused, see `checks.check_occupancy`); the message names the file
            and the first bad index and value.
    """
    import scipy.io

    try:
        try:
            grid = scipy.io.loadmat(path).get("grid")
        except NotImplementedError:  # MATLAB v7.3 = HDF5, stored column-major
            import h5py

            with h5py.File(path, "r") as f:
                grid = np.asarray(f["grid"]).T if "grid" in f else None
    except Exception as e:  # scipy/h5py raise many types for a corrupt file
        raise ValueError(f"{path}: not a readable .mat file ({type(e).__name__}: {e})") from e
    if grid is None:
        raise ValueError(f"{path}: no 'grid' variable")
    grid = np.asarray(grid)
    if grid.shape != IKEA_GRID_SHAPE:
        raise ValueError(f"{path}: 'grid' must have shape {IKEA_GRID_SHAPE}, got {grid.shape}")
    check_occupancy(grid, path, "grid")
    if not grid.any():
        raise ValueError(f"{path}: 'grid' is empty (all zeros)")
    return grid.astype(np.uint8)


def _image_problem(path: Path) -> str | None:
    """None if the image exists and its header can be read, else a message."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        return f"{path}: image file missing"
    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 (reads the header)
    except (OSError, UnidentifiedImageError) as e:
        return f"{path}: not a readable image ({type(e).__name__}: {e})"
    return None


def load_ikea(root, facing: bool = True) -> IkeaSet:
    """Loads the IKEA test set: image paths, labels and aligned ground truth.

    Images whose photo is missing/unreadable, whose model file is missing,
    unreadable or invalid, or whose model class is not in IKEA_CATEGORIES
    are skipped: each cause is reported once in `problems` (by file name)
    and the skipped images are counted in `n_skipped`.

    Args:
        root: the IKEA directory (holding Images/, Voxels/, Lists/).
        facing: also turn each model into ModelNet's horizontal facing
            (`canonical_facing`); False keeps only the up-axis alignment.

    Raises:
        FileNotFoundError: root or a list file does not exist.
        ValueError: structurally broken lists (unequal lengths, an empty
            inner line, a model id that is not an integer or out of range);
            the message names the file and line.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"IKEA directory not found: {root}")
    lists = root / "Lists"
    images_txt, ids_txt = lists / "Images.txt", lists / "ModelID.txt"
    class_txt, names_txt = lists / "all_obj_class.txt", lists / "all_obj_clean.txt"
    names, ids_raw = _read_list(images_txt), _read_list(ids_txt)
    if len(names) != len(ids_raw):
        raise ValueError(
            f"{images_txt} has {len(names)} lines but {ids_txt} has {len(ids_raw)}; they must pair line by line"
        )
    classes = _read_list(class_txt)
    model_names = _read_list(names_txt)
    if len(classes) != len(model_names):
        raise ValueError(
            f"{class_txt} has {len(classes)} lines but {names_txt} has {len(model_names)}; they must pair line by line"
        )
    model_ids = []
    for line_no, text in enumerate(ids_raw, 1):
        try:
            mid = int(text)
        except ValueError:
            raise ValueError(f"{ids_txt}: line {line_no}: model id {text!r} is not an integer") from None
        if not 1 <= mid <= len(classes):
            raise ValueError(
                f"{ids_txt}: line {line_no}: model id {mid} is out of range 1..{len(classes)} "
                f"(the number of lines of {class_txt.name})"
            )
        model_ids.append(mid)

    problems: list[str] = []
    grids: dict[int, np.ndarray | None] = {}
    turns: dict[int, int] = {}
    uses = Counter(model_ids)
    for mid in sorted(uses):
        category = category_of(classes[mid - 1])
        if category is None:
            problems.append(
                f"{class_txt}: line {mid}: class {classes[mid - 1]!r} of model {mid} is not one of "
                f"{list(IKEA_CATEGORIES)}; skipped its {uses[mid]} image(s)"
            )
            grids[mid] = None
            continue
        mat = root / "Voxels" / f"{mid}.mat"
        if not mat.is_file():
            problems.append(f"{mat}: model file missing; skipped its {uses[mid]} image(s)")
            grids[mid] = None
            continue
        try:
            grid = align_ikea_grid(read_mat_grid(mat))
        except ValueError as e:
            problems.append(f"{e}; skipped its {uses[mid]} image(s)")
            grids[mid] = None
            continue
        if facing:
            grid, turns[mid] = canonical_facing(grid, category)
        else:
            turns[mid] = 0
        grids[mid] = grid

    paths, labels, kept_ids, voxels = [], [], [], []
    n_skipped = 0
    for name, mid in zip(names, model_ids):
        image = root / "Images" / name
        problem = _image_problem(image)
        if problem is not None:
            problems.append(problem)
            n_skipped += 1
            continue
        if grids[mid] is None:
            n_skipped += 1
            continue
        paths.append(str(image))
        labels.append(IKEA_CATEGORIES.index(category_of(classes[mid - 1])))
        kept_ids.append(mid)
        voxels.append(grids[mid])
    if not voxels:
        raise ValueError(f"{root}: no usable images ({n_skipped} skipped): " + "; ".join(problems[:5]))
    used = sorted(set(kept_ids))
    return IkeaSet(
        image_paths=paths,
        labels=np.asarray(labels, dtype=np.int64),
        model_ids=np.asarray(kept_ids, dtype=np.int64),
        voxels=np.stack(voxels).astype(np.uint8),
        n_skipped=n_skipped,
        problems=problems,
        model_names={m: model_names[m - 1] for m in used},
        facing_turns={m: turns[m] for m in used},
        root=str(root),
    )


def load_image(path, size: int = 256, pad: str = "white") -> np.ndarray:
    """Loads a photo as a square float32 RGB image in [0, 1].

    The (cropped, non-square) photo is first padded to a square, centred, so
    the object keeps its aspect ratio, then resized with bicubic filtering
    (anti-aliased when shrinking). White padding is the default: the crops
    are tight around the object, and a plain light margin resembles the white
    background of rendered training views better than smeared edge pixels.

    Args:
        path: an image file PIL can read (JPEG, PNG, ...); grey or RGBA are
            converted to RGB.
        size: output side in pixels.
        pad: "white" (value 1.0) or "edge" (replicate the border pixels).

    Returns:
        float32 [size, size, 3] in [0, 1].

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unreadable image, bad size or pad; the message names the file.
    """
    from PIL import Image, UnidentifiedImageError

    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if pad not in ("white", "edge"):
        raise ValueError(f"pad must be 'white' or 'edge', got {pad!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise ValueError(f"{path}: not a readable image ({type(e).__name__}: {e})") from e
    h, w = rgb.shape[:2]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    spec = ((top, side - h - top), (left, side - w - left), (0, 0))
    if pad == "white":
        square = np.pad(rgb, spec, constant_values=255)
    else:
        square = np.pad(rgb, spec, mode="edge")
    resized = Image.fromarray(square).resize((size, size), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(resized, dtype=np.float32) / 255.0, 0.0, 1.0)
