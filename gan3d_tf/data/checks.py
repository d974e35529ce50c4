"""Checks shared by every data reader (`voxel_npz`, `prepare`, `merge`, `ikea`).

Each problem is reported as a one-line ValueError that starts with the file
and names the array key, the first bad index and its value, e.g.

    data/set.npz: X_train[3, 0, 1, 2] = 0.5 is not an occupancy 0 or 1 (grids must hold 0/1 or bool values)

Grids must hold exactly 0 or 1 (any integer or float dtype, or bool): other
values are refused, never thresholded. Grids holding NaN or inf can instead
be reported to the caller, which skips and counts them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")  # a zip (.npz; an empty one) or a .npy


def open_npz(path) -> np.lib.npyio.NpzFile:
    """Opens a `.npz` file (without pickles).

    Args:
        path: the file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a `.npz` (not a zip, truncated, empty, a single `.npy` array); names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    with open(path, "rb") as f:
        head = f.read(6)
    if not head.startswith(ARCHIVE_MAGIC):  # np.load would try it as a pickle and suggest allow_pickle=True
        raise ValueError(f"{path}: not a readable .npz file (not a zip archive: it starts with {head!r})")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:  # np.load raises several types for a bad file
        raise ValueError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from e
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a .npz file but a single {data.dtype} array of shape {data.shape}")
    return data


def read_array(data: np.lib.npyio.NpzFile, key: str, path) -> np.ndarray:
    """`data[key]`, or a ValueError naming the file and key when the member cannot be read.

    Args:
        data: an opened `.npz` (`open_npz`).
        key: the array's name.
        path: the file, for messages.

    Raises:
        ValueError: a corrupt or truncated member, or an object (pickled) array.
    """
    try:
        return data[key]
    except Exception as e:  # zipfile, zlib and numpy raise several types for a corrupt member
        raise ValueError(f"{path}: {key} cannot be read ({type(e).__name__}: {e})") from e


def check_kind(x: np.ndarray, path, key: str, kinds: str, what: str) -> None:
    """Raises a ValueError naming file, key and dtype unless `x.dtype.kind` is one of `kinds`.

    Args:
        x: the array.
        path, key: named in the message.
        kinds: accepted `numpy.dtype.kind` letters ("b" bool, "i"/"u" integers, "f" floats).
        what: what the array must hold, for the message ("integer labels").
    """
    if x.dtype.kind not in kinds:
        raise ValueError(f"{path}: {key} must hold {what}, got dtype {x.dtype}")


def _where(key: str, x: np.ndarray, bad: np.ndarray) -> str:
    """The first True of `bad` (same shape as x) as 'key[i, j, ...] = value'."""
    index = np.unravel_index(int(np.argmax(bad)), bad.shape)
    return f"{key}[{', '.join(str(int(i)) for i in index)}] = {x[index]!s}"


def check_occupancy(x: np.ndarray, path, key: str, skip_nonfinite: bool = False) -> np.ndarray:
    """Checks that x holds occupancies 0 or 1 (bool, integer or float dtype).

    Args:
        x: one grid or a batch of grids (at least 1-D).
        path, key: named in messages.
        skip_nonfinite: return which items of x (along axis 0) hold NaN or
            inf, for the caller to skip and count, instead of raising.

    Returns:
        bool [len(x)]: True for the items holding NaN or inf (all False
        unless skip_nonfinite).

    Raises:
        ValueError: another dtype (strings, complex, objects), a value other
            than 0 or 1 (such as 0.5 or 255), or NaN/inf unless skip_nonfinite;
            names the first bad index and value.
    """
    check_kind(x, path, key, "biuf", "0/1 occupancies (bool, integer or float)")
    if x.dtype.kind == "b" or (x.size and x.dtype.kind in "iu" and x.min() >= 0 and x.max() <= 1):
        return np.zeros(len(x), bool)
    binary = (x == 0) | (x == 1)
    if binary.all():
        return np.zeros(len(x), bool)
    finite = np.isfinite(x)
    if (~binary & finite).any():
        raise ValueError(
            f"{path}: {_where(key, x, ~binary & finite)} is not an occupancy 0 or 1 "
            f"(grids must hold 0/1 or bool values)"
        )
    if not skip_nonfinite:
        raise ValueError(f"{path}: {_where(key, x, ~finite)}: grids must not hold NaN or inf")
    return ~finite.reshape(len(x), -1).all(axis=1)


def check_grids(x: np.ndarray, path, key: str, skip_nonfinite: bool = True) -> np.ndarray:
    """Checks a batch of cubic occupancy grids [N, R, R, R] (`check_occupancy`).

    Args:
        x: the grids.
        path, key: named in messages.
        skip_nonfinite: see `check_occupancy`.

    Returns:
        bool [N]: True for the grids holding NaN or inf (to skip and count).

    Raises:
        ValueError: not [N, R, R, R] with R >= 1, or see `check_occupancy`.
    """
    if x.ndim != 4 or not x.shape[1] == x.shape[2] == x.shape[3] or not x.shape[1]:
        raise ValueError(f"{path}: {key} must have shape [N, R, R, R], got {x.shape}")
    return check_occupancy(x, path, key, skip_nonfinite)


def check_labels(y: np.ndarray, path, key: str, classes, grids_key: str, n: int) -> np.ndarray:
    """Checks integer labels, one per grid, within the class list; returns them as int64.

    Args:
        y: the labels.
        path, key: named in messages.
        classes: the class names, indexed by the labels.
        grids_key: the key of the grids they label (for the length message).
        n: the number of grids.

    Raises:
        ValueError: not [n] (mismatched lengths), not an integer dtype, or a
            label outside 0..len(classes) - 1 (first bad index and value).
    """
    if y.shape != (n,):
        raise ValueError(f"{path}: {key} must have shape [{n}] to match {grids_key}, got {y.shape}")
    check_kind(y, path, key, "iu", "integer labels")
    outside = (y < 0) | (y >= len(classes))
    if outside.any():
        raise ValueError(
            f"{path}: {_where(key, y, outside)} is outside the class list 0..{len(classes) - 1} "
            f"({classes[0]} ... {classes[-1]})"
        )
    return y.astype(np.int64)
