"""Random scene content of the training views: light, object colour and texture, backgrounds, rooms, photos.

Every function is stateless: its seed (an integer or a shape-[2] integer
tensor) fixes its result. Backgrounds are a solid colour, a linear gradient or
smooth multi-scale noise standing in for photo clutter. "room" scenes put the
object on a floor (planks, tiles or carpet, with a contact shadow) in front of
a wall and texture it; "photo" scenes take their wall and object texture from
real photographs shipped with scikit-image and scikit-learn (`photo_bank`, no
download). The floor is found by the camera of `gan3d_tf.data.raycast`;
`gan3d_tf.data.views.make_pair` puts the pieces together (and shares the seed
and range checks `_as_seed` and `_check_pair`).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import tensorflow as tf

from gan3d_tf.data.raycast import (
    _AMBIENT,
    DEFAULT_FOV,
    _as_grid,
    _camera_basis,
    _check_size,
    _occupied_extent,
    _pixel_rays,
    direction,
)

_BACKGROUND_KINDS = ("solid", "gradient", "noise")
ROOM_HALF_SIZE = 3.0  # half side of a room scene's square floor, grid sides; the wall shows beyond it
# real photographs shipped inside scikit-image (skimage.data) and scikit-learn (load_sample_images), no download:
# the walls and object textures of "photo" scenes
PHOTO_SOURCES = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "motorcycle",
    "camera",
    "brick",
    "grass",
    "gravel",
    "china",
    "flower",
)
PHOTO_SIDE = 256  # side of each photo in the bank, pixels (centre-cropped square, then resized)
PHOTO_VALUE_RANGE = (0.05, 1.0)  # HSV value of "photo" scene objects: dark furniture too (other scenes: 0.55-1)


# --------------------------------------------------------------------------
# Helpers: stateless seeds and ranges
# --------------------------------------------------------------------------


def _check_pair(name: str, pair, lo: float | None = None, hi: float | None = None) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {pair!r}") from None
    if not a <= b or (lo is not None and a < lo) or (hi is not None and b > hi):
        raise ValueError(f"{name} must be (low, high) with {lo} <= low <= high <= {hi}, got {pair!r}")
    return a, b


def _as_seed(seed) -> tf.Tensor:
    """A stateless-RNG seed: an int64 [2] tensor (a scalar s becomes [s, 0])."""
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    if seed.shape.rank == 0:
        return tf.stack([seed, tf.constant(0, tf.int64)])
    if seed.shape.rank != 1 or seed.shape[0] != 2:
        raise ValueError(f"seed must be an integer or a shape-[2] integer tensor, got shape {seed.shape}")
    return seed


# --------------------------------------------------------------------------
# Light, object colour and background
# --------------------------------------------------------------------------


def random_light(seed, azimuth) -> tf.Tensor:
    """A random light direction on the camera's side, 15-75 degrees above the horizon.

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        azimuth: camera azimuth in degrees; the light's azimuth is within
            +-60 degrees of it, so the visible faces are mostly lit.

    Returns:
        float32 [3] unit world direction towards the light.
    """
    u = tf.random.stateless_uniform([2], seed=_as_seed(seed))
    return direction(tf.cast(azimuth, tf.float32) + 120.0 * (u[0] - 0.5), 15.0 + 60.0 * u[1])


def random_color(seed, value_range=(0.55, 1.0)) -> tf.Tensor:
    """A random object colour: any hue, saturation 0-0.6, value (brightness) uniform in `value_range`.

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        value_range: (min, max) HSV value; the default keeps objects light,
            "photo" scenes use (0.05, 1) so black and dark-wood furniture occurs too.

    Returns:
        float32 [3] RGB in [0, 1].
    """
    lo, hi = _check_pair("value_range", value_range, 0.0, 1.0)
    u = tf.random.stateless_uniform([3], seed=_as_seed(seed))
    return tf.image.hsv_to_rgb(tf.stack([u[0], 0.6 * u[1], lo + (hi - lo) * u[2]]))


def random_background(seed, image_size: int = 256, kind: str | None = None) -> tf.Tensor:
    """A random background: a solid colour, a linear gradient or smooth noise.

    "noise" adds to a random base colour bilinearly upsampled random
    brightness and (weaker) colour fields at 4, 8, 16 and 32 cells per side,
    amplitudes halving with each finer scale: smooth blotches that stand in
    for the clutter behind objects in real photos.

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        image_size: side of the square image in pixels.
        kind: "solid", "gradient" or "noise"; None picks one at random with
            probabilities 1/4, 1/4, 1/2.

    Returns:
        float32 [image_size, image_size, 3] in [0, 1].

    Raises:
        ValueError: for an unknown kind or a bad image size.
    """
    size = _check_size("image_size", image_size)
    if kind is not None and kind not in _BACKGROUND_KINDS:
        raise ValueError(f"kind must be one of {_BACKGROUND_KINDS} or None, got {kind!r}")
    seeds = tf.random.experimental.stateless_split(_as_seed(seed), 8)
    c = tf.random.stateless_uniform([2, 3], seed=seeds[0])
    solid = tf.broadcast_to(c[0], [size, size, 3])

    angle = tf.random.stateless_uniform([], seed=seeds[1], maxval=2.0 * math.pi)
    coords = (tf.range(size, dtype=tf.float32) + 0.5) / size - 0.5
    ys, xs = tf.meshgrid(coords, coords, indexing="ij")
    s = tf.clip_by_value((tf.cos(angle) * xs + tf.sin(angle) * ys) * math.sqrt(2.0) + 0.5, 0.0, 1.0)
    gradient = c[0] * (1.0 - s[..., None]) + c[1] * s[..., None]

    noise = tf.zeros([size, size, 4])  # RGB colour variation and a shared brightness channel
    amplitude = 1.0
    for k, cells in enumerate((4, 8, 16, 32)):
        field = tf.random.stateless_uniform([1, cells, cells, 4], seed=seeds[2 + k], minval=-1.0, maxval=1.0)
        noise += amplitude * tf.image.resize(field, [size, size], method="bilinear")[0]
        amplitude *= 0.5
    noise = tf.clip_by_value(c[0] + 0.2 * noise[..., :3] + 0.3 * noise[..., 3:], 0.0, 1.0)

    if kind is not None:
        return {"solid": solid, "gradient": gradient, "noise": noise}[kind]
    pick = tf.random.stateless_uniform([], seed=seeds[6])
    return tf.where(pick < 0.25, solid, tf.where(pick < 0.5, gradient, noise))


# --------------------------------------------------------------------------
# Room scenes: a floor under the object, a wall behind, texture
# --------------------------------------------------------------------------


def floor_layer(voxels, azimuth, elevation, distance, image_size: int = 256, fov: float = DEFAULT_FOV):
    """Where the camera sees the floor the grid stands on.

    The floor is the horizontal square of half side `ROOM_HALF_SIZE` grid sides
    centred under the grid, at the height of the bottom of its lowest occupied
    voxel (the grid's bottom for an empty grid). World units are grid sides,
    with the grid centred at the origin; the camera is that of
    `gan3d_tf.data.raycast.render_layers`.

    Args:
        voxels: [R, R, R] or [R, R, R, 1] occupancy, z up.
        azimuth: camera azimuth in degrees.
        elevation: camera elevation in degrees.
        distance: camera distance from the grid centre in grid sides.
        image_size: side of the square image in pixels.
        fov: full field of view in degrees.

    Returns:
        (mask float32 [H, W], 1 where the pixel's ray meets the floor;
         xy float32 [H, W, 2], world (x, y) of that floor point, 0 elsewhere;
         depth float32 [H, W], its distance from the camera, 0 elsewhere).
    """
    occ = _as_grid(voxels)
    size = _check_size("image_size", image_size)
    to_cam, right, up = _camera_basis(azimuth, elevation)
    origin = tf.cast(distance, tf.float32) * to_cam
    dirs = _pixel_rays(to_cam, right, up, size, fov)
    r = tf.cast(tf.shape(occ)[0], tf.float32)
    bottom = tf.cast(_occupied_extent(occ, 2)[0], tf.float32) / r - 0.5
    down = dirs[:, 2] < -1e-6
    t = (bottom - origin[2]) / tf.where(down, dirs[:, 2], -1.0)
    xy = origin[None, :2] + t[:, None] * dirs[:, :2]
    on = down & (t > 0.0) & (tf.reduce_max(tf.abs(xy), axis=1) <= ROOM_HALF_SIZE)
    mask = tf.cast(on, tf.float32)
    return (
        tf.reshape(mask, [size, size]),
        tf.reshape(xy * mask[:, None], [size, size, 2]),
        tf.reshape(t * mask, [size, size]),
    )


def _hash(x: tf.Tensor, salt: tf.Tensor) -> tf.Tensor:
    """A deterministic pseudo-random value in [0, 1) for every (integer-valued) element of x."""
    return tf.math.floormod(tf.sin(x * 12.9898 + salt * 78.233) * 43758.5453, 1.0)


def _floor_albedo(seed, xy: tf.Tensor) -> tf.Tensor:
    """RGB floor colour [H, W, 3] at world points xy [H, W, 2]: planks, tiles or carpet, picked at random."""
    u = tf.random.stateless_uniform([7], seed=_as_seed(seed))
    angle = u[0] * math.pi
    a = tf.cos(angle) * xy[..., 0] + tf.sin(angle) * xy[..., 1]
    b = -tf.sin(angle) * xy[..., 0] + tf.cos(angle) * xy[..., 1]
    width = 0.06 + 0.14 * u[1]  # plank / tile width, grid sides
    row = tf.floor(a / width)
    plank = tf.floor(b / (5.0 * width) + _hash(row, u[2]))  # staggered plank ends
    planks = 0.75 + 0.5 * _hash(row * 31.0 + plank, u[2])
    tiles = 1.0 - 0.5 * u[3] * tf.math.floormod(row + tf.floor(b / width), 2.0)
    value = tf.where(u[4] < 0.4, planks, tf.where(u[4] < 0.7, tiles, tf.ones_like(a)))
    base = tf.image.hsv_to_rgb(tf.stack([u[5], 0.5 * u[6], 0.3 + 0.6 * u[6]]))
    return tf.clip_by_value(base * value[..., None], 0.0, 1.0)


def random_room(
    seed,
    voxels,
    azimuth,
    elevation,
    distance,
    light,
    image_size: int = 256,
    fov: float = DEFAULT_FOV,
    ambient: float = _AMBIENT,
    wall=None,
) -> tf.Tensor:
    """A background of a textured floor under the grid and a wall beyond it.

    The floor (`floor_layer`) is planks, tiles or carpet of a random colour,
    lit by `light`, darkened under the object's footprint (a soft contact
    shadow) and with distance; every other pixel shows the wall.

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        voxels: [R, R, R] occupancy grid the room is built around.
        azimuth, elevation, distance: the camera, as in `gan3d_tf.data.raycast.render_layers`.
        light: world direction towards the light [3].
        image_size: side of the square image in pixels.
        fov: full field of view in degrees.
        ambient: brightness of the floor when the light is level.
        wall: RGB [3] or [H, W, 3] wall; None draws one with `random_background`.

    Returns:
        float32 [image_size, image_size, 3] in [0, 1].
    """
    size = _check_size("image_size", image_size)
    seeds = tf.random.experimental.stateless_split(_as_seed(seed), 2)
    wall = (
        random_background(seeds[0], size)
        if wall is None
        else tf.broadcast_to(tf.cast(wall, tf.float32), [size, size, 3])
    )
    mask, xy, depth = floor_layer(voxels, azimuth, elevation, distance, size, fov)
    occ = tf.cast(_as_grid(voxels), tf.float32)
    r = tf.shape(occ)[0]
    footprint = tf.nn.avg_pool2d(tf.reduce_max(occ, axis=2)[None, ..., None], 3, 1, "SAME")[0, ..., 0]
    cell = tf.cast(tf.floor((xy + 0.5) * tf.cast(r, tf.float32)), tf.int32)
    inside = tf.reduce_all((cell >= 0) & (cell < r), axis=-1)
    under = tf.where(inside, tf.gather_nd(footprint, tf.clip_by_value(cell, 0, r - 1)), 0.0)
    to_light = tf.reshape(tf.cast(light, tf.float32), [3])
    lit = ambient + (1.0 - ambient) * tf.nn.relu(to_light[2] / tf.maximum(tf.norm(to_light), 1e-12))
    fade = 1.0 - 0.4 * tf.clip_by_value((depth - tf.cast(distance, tf.float32)) / ROOM_HALF_SIZE, 0.0, 1.0)
    floor = _floor_albedo(seeds[1], xy) * (lit * fade * (1.0 - 0.5 * under))[..., None]
    return mask[..., None] * floor + (1.0 - mask[..., None]) * wall


def random_texture(seed, color, image_size: int = 256) -> tf.Tensor:
    """An object texture in image space: `color` [3] modulated by smooth random brightness blotches.

    Returns:
        float32 [image_size, image_size, 3] in [0, 1] (a `gan3d_tf.data.raycast.render_view` colour).
    """
    gray = tf.reduce_mean(random_background(seed, image_size, kind="noise"), axis=-1)
    strength = 0.8 * tf.random.stateless_uniform([], seed=tf.random.experimental.stateless_fold_in(_as_seed(seed), 7))
    return _modulate(color, gray, strength)


def _modulate(color, gray, gain) -> tf.Tensor:
    """`color` [3] times 1 + gain * (gray - mean gray) per pixel, clipped to [0, 1]: [H, W, 3]."""
    modulation = 1.0 + gain * (gray - tf.reduce_mean(gray))
    return tf.clip_by_value(tf.reshape(tf.cast(color, tf.float32), [1, 1, 3]) * modulation[..., None], 0.0, 1.0)


# --------------------------------------------------------------------------
# Photo scenes: a room whose wall and object texture come from real photographs
# --------------------------------------------------------------------------


def _load_photo(name: str) -> np.ndarray:
    """One of `PHOTO_SOURCES` as uint8 [H, W, 3] (files inside the installed packages)."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    import skimage.data
    import skimage.io

    if name == "motorcycle":  # skimage.data.stereo_motorcycle() would also fetch its disparity map
        image = skimage.io.imread(os.path.join(skimage.data.data_dir, "motorcycle_left.png"))
    else:
        image = getattr(skimage.data, name)()
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image[..., :3]


@functools.lru_cache(maxsize=4)
def photo_bank(side: int = PHOTO_SIDE) -> np.ndarray:
    """The `PHOTO_SOURCES` photographs, centre-cropped to squares and resized to `side`.

    Read once per process and side (cached); the array is read-only.

    Args:
        side: side of each photo in pixels.

    Returns:
        uint8 [len(PHOTO_SOURCES), side, side, 3].
    """
    from PIL import Image

    photos = []
    for name in PHOTO_SOURCES:
        image = _load_photo(name)
        h, w = image.shape[:2]
        side_in = min(h, w)
        top, left = (h - side_in) // 2, (w - side_in) // 2
        square = Image.fromarray(np.ascontiguousarray(image[top : top + side_in, left : left + side_in]))
        photos.append(np.asarray(square.resize((side, side), Image.Resampling.LANCZOS)))
    bank = np.stack(photos)
    bank.setflags(write=False)
    return bank


def random_photo(seed, image_size: int = 256) -> tf.Tensor:
    """A random crop of a real photograph of `photo_bank`, recoloured.

    Picks a photo, a square crop of 25-100 % of its side at a random place,
    flips it left-right half the time, resizes it to `image_size` and turns
    its hue by a random angle (so the few photos give many colourings).

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        image_size: side of the square image in pixels.

    Returns:
        float32 [image_size, image_size, 3] in [0, 1].
    """
    size = _check_size("image_size", image_size)
    bank = tf.constant(photo_bank())
    u = tf.random.stateless_uniform([6], seed=_as_seed(seed))
    index = tf.minimum(tf.cast(u[0] * bank.shape[0], tf.int32), bank.shape[0] - 1)
    side = 0.25 + 0.75 * u[1]
    top, left = u[2] * (1.0 - side), u[3] * (1.0 - side)
    box = tf.stack([top, left, top + side, left + side])[None]
    crop = tf.image.crop_and_resize(tf.cast(bank[index][None], tf.float32) / 255.0, box, [0], [size, size])[0]
    crop = tf.where(u[4] < 0.5, crop, crop[:, ::-1])
    return tf.clip_by_value(tf.image.adjust_hue(tf.clip_by_value(crop, 0.0, 1.0), u[5] - 0.5), 0.0, 1.0)


def photo_texture(seed, color, image_size: int = 256) -> tf.Tensor:
    """An object texture in image space: `color` [3] modulated by the brightness of a `random_photo`.

    The modulation is 1 + s * (gray - mean gray) * 2 with a random strength s
    in [0.2, 0.8], so real-photo detail (grain, weave, clutter) shows on the
    object while its colour stays `color` on average.

    Returns:
        float32 [image_size, image_size, 3] in [0, 1] (a `gan3d_tf.data.raycast.render_view` colour).
    """
    seeds = tf.random.experimental.stateless_split(_as_seed(seed), 2)
    gray = tf.reduce_mean(random_photo(seeds[0], image_size), axis=-1)
    strength = 0.2 + 0.6 * tf.random.stateless_uniform([], seed=seeds[1])
    return _modulate(color, gray, 2.0 * strength)
