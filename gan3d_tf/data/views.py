"""On-the-fly (image, voxels) training pairs for the 3D-VAE-GAN.

Every training voxel grid is rendered by the ray caster of
`gan3d_tf.data.raycast` from a random viewpoint with Lambertian shading, a
random object colour and a random background (solid colour, linear gradient or
smooth multi-scale noise standing in for photo clutter; `gan3d_tf.data.scenes`).
`make_pair`'s "room" and "photo" scenes add a floor, a wall, object texture and
camera-like jitter; "photo" takes its wall and texture from real photographs
shipped with scikit-image and scikit-learn. Camera angles and distances follow
the conventions of `gan3d_tf.data.raycast`.

The example sheet docs/views_example.png is written by
`python -m gan3d_tf.data.views docs/views_example.png` (docs/views_room.png and
docs/views_photo.png with a second argument, the scene).

Example:
    >>> from gan3d_tf.data.views import view_pairs
    >>> shapes = tf.data.Dataset.from_tensor_slices(voxels)  # uint8 [N, R, R, R]
    >>> pairs = view_pairs(shapes, seed=0, epoch=0).batch(32)  # ([32, 256, 256, 3], [32, R, R, R])
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from gan3d_tf.config import SCENES  # training-view looks; see make_pair
from gan3d_tf.data.procedural import CATEGORIES, make_dataset
from gan3d_tf.data.raycast import _MIN_DISTANCE, _as_grid, render_view
from gan3d_tf.data.scenes import (
    PHOTO_VALUE_RANGE,
    _as_seed,
    _check_pair,
    photo_texture,
    random_background,
    random_color,
    random_light,
    random_photo,
    random_room,
    random_texture,
)

AZIMUTH_RANGE = (0.0, 360.0)  # degrees
ELEVATION_RANGE = (0.0, 40.0)  # degrees
DISTANCE_RANGE = (2.2, 2.8)  # grid side lengths, camera to grid centre; objects stay inside the frame


# --------------------------------------------------------------------------
# Random cameras
# --------------------------------------------------------------------------


def random_camera(
    seed,
    azimuth_range=AZIMUTH_RANGE,
    elevation_range=ELEVATION_RANGE,
    distance_range=DISTANCE_RANGE,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Samples a viewpoint uniformly from the given ranges (stateless).

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        azimuth_range: (low, high) azimuth in degrees.
        elevation_range: (low, high) elevation in degrees, inside (-90, 90).
        distance_range: (low, high) camera distance from the grid centre in
            grid side lengths, low > sqrt(3)/2.

    Returns:
        (azimuth, elevation, distance) float32 scalar tensors.

    Raises:
        ValueError: for malformed or out-of-range ranges.
    """
    az = _check_pair("azimuth_range", azimuth_range)
    el = _check_pair("elevation_range", elevation_range, -89.9, 89.9)
    dist = _check_pair("distance_range", distance_range, _MIN_DISTANCE + 1e-6)
    u = tf.random.stateless_uniform([3], seed=_as_seed(seed))
    lo = tf.constant([az[0], el[0], dist[0]])
    hi = tf.constant([az[1], el[1], dist[1]])
    values = lo + u * (hi - lo)
    return values[0], values[1], values[2]


# --------------------------------------------------------------------------
# Camera-like jitter and photo framing
# --------------------------------------------------------------------------


def photo_jitter(seed, image: tf.Tensor) -> tf.Tensor:
    """Camera-like perturbations of an RGB image [H, W, 3] in [0, 1].

    Random brightness (+-0.1), contrast (x0.7-1.3), saturation (x0.5-1.5), a
    Gaussian blur of 0.3-1.5 px and pixel noise of standard deviation 0-0.03.
    """
    u = tf.random.stateless_uniform([5], seed=_as_seed(seed))
    x = tf.image.adjust_brightness(image, 0.2 * u[0] - 0.1)
    x = tf.image.adjust_contrast(x, 0.7 + 0.6 * u[1])
    x = tf.image.adjust_saturation(tf.clip_by_value(x, 0.0, 1.0), 0.5 + u[2])
    sigma = 0.3 + 1.2 * u[3]
    taps = tf.exp(-tf.square(tf.range(-3.0, 4.0)) / (2.0 * sigma * sigma))
    taps /= tf.reduce_sum(taps)
    kernel = tf.tile(tf.reshape(taps, [7, 1, 1, 1]), [1, 1, 3, 1])
    x = tf.nn.depthwise_conv2d(x[None], kernel, [1, 1, 1, 1], "SAME")
    x = tf.nn.depthwise_conv2d(x, tf.transpose(kernel, [1, 0, 2, 3]), [1, 1, 1, 1], "SAME")[0]
    noise = tf.random.stateless_normal(tf.shape(x), seed=tf.random.experimental.stateless_fold_in(_as_seed(seed), 1))
    return tf.clip_by_value(x + 0.03 * u[4] * noise, 0.0, 1.0)


def tight_crop(seed, image: tf.Tensor, mask: tf.Tensor, max_margin: float = 0.08) -> tf.Tensor:
    """Frames a view like a photo cropped to its object, then padded to a square.

    The image is cut to the bounding box of the silhouette, grown on each side
    by a random 0-`max_margin` of the box's size (within the image), padded
    with white to a centred square and resized back to its side: the framing
    `gan3d_tf.data.ikea.load_image` gives tightly cropped photos. An empty
    silhouette leaves the image as it is.

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        image: float32 [S, S, 3] in [0, 1].
        mask: float32 [S, S] silhouette, 1 on the object.
        max_margin: largest margin per side, as a fraction of the box size.

    Returns:
        float32 [S, S, 3] in [0, 1].
    """
    size = tf.shape(image)[0]
    rows = tf.cast(tf.where(tf.reduce_any(mask > 0.5, axis=1))[:, 0], tf.int32)
    cols = tf.cast(tf.where(tf.reduce_any(mask > 0.5, axis=0))[:, 0], tf.int32)

    def crop():
        u = tf.random.stateless_uniform([4], seed=_as_seed(seed), maxval=max_margin)
        top, bottom = tf.reduce_min(rows), tf.reduce_max(rows) + 1
        left, right = tf.reduce_min(cols), tf.reduce_max(cols) + 1
        grow_h = tf.cast(tf.cast(bottom - top, tf.float32) * u[:2], tf.int32)
        grow_w = tf.cast(tf.cast(right - left, tf.float32) * u[2:], tf.int32)
        top, bottom = tf.maximum(top - grow_h[0], 0), tf.minimum(bottom + grow_h[1], size)
        left, right = tf.maximum(left - grow_w[0], 0), tf.minimum(right + grow_w[1], size)
        h, w = bottom - top, right - left
        side = tf.maximum(h, w)
        pad = [[(side - h) // 2, side - h - (side - h) // 2], [(side - w) // 2, side - w - (side - w) // 2], [0, 0]]
        square = tf.pad(image[top:bottom, left:right] - 1.0, pad) + 1.0  # white margins
        resized = tf.image.resize(square[None], [size, size], method="bicubic", antialias=True)[0]
        return tf.clip_by_value(resized, 0.0, 1.0)

    return tf.cond(tf.size(rows) > 0, crop, lambda: tf.identity(image))


# --------------------------------------------------------------------------
# Training pairs
# --------------------------------------------------------------------------


def make_pair(
    voxels, seed, image_size: int = 256, render_size: int | None = None, scene: str = "plain", **camera_ranges
):
    """One (image, voxels) training pair: a random view of the grid (stateless).

    The same (voxels, seed, scene) always gives the same image.

    Args:
        voxels: [R, R, R] or [R, R, R, 1] occupancy grid.
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        image_size: side of the square image in pixels.
        render_size: side at which rays are cast (see `render_view`).
        scene: "plain": a flat-coloured object over a random background;
            "room": the object textured (`random_texture`), standing on a
            floor in front of a wall (`random_room`), with `photo_jitter`,
            framed by `tight_crop`: closer to cropped photographs of
            furniture (the camera distance then only sets the perspective);
            "photo": a room whose wall is a `random_photo` and whose object
            is textured by `photo_texture` (real-photograph statistics) in
            a colour of any brightness (`PHOTO_VALUE_RANGE`).
        **camera_ranges: azimuth_range, elevation_range and/or
            distance_range passed to `random_camera`.

    Returns:
        (image float32 [image_size, image_size, 3] in [0, 1],
         voxels float32 [R, R, R] in {0, 1}).
    """
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
    grid = tf.cast(_as_grid(voxels), tf.float32)
    seeds = tf.random.experimental.stateless_split(_as_seed(seed), 4)
    # extra seeds from fold-ins, so "plain" and "room" views stay as they were
    extra = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(_as_seed(seed), 1), 4)
    photo = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(_as_seed(seed), 2), 2)
    azimuth, elevation, distance = random_camera(seeds[0], **camera_ranges)
    if scene == "photo":
        background, color = random_photo(photo[0], image_size), random_color(seeds[3], PHOTO_VALUE_RANGE)
    else:
        background, color = random_background(seeds[1], image_size), random_color(seeds[3])
    light = random_light(seeds[2], azimuth)
    if scene in ("room", "photo"):
        background = random_room(extra[0], grid, azimuth, elevation, distance, light, image_size, wall=background)
        color = (
            photo_texture(photo[1], color, image_size)
            if scene == "photo"
            else random_texture(extra[1], color, image_size)
        )
    image, mask = render_view(
        grid,
        azimuth,
        elevation,
        distance,
        image_size=image_size,
        background=background,
        light=light,
        color=color,
        render_size=render_size,
        return_mask=True,
    )
    if scene in ("room", "photo"):
        image = tight_crop(extra[3], photo_jitter(extra[2], image), mask)
    return image, grid


def view_pairs(
    dataset: tf.data.Dataset,
    seed: int,
    epoch=0,
    image_size: int = 256,
    render_size: int | None = None,
    scene: str = "plain",
    num_parallel_calls=tf.data.AUTOTUNE,
    **camera_ranges,
) -> tf.data.Dataset:
    """Maps a dataset of voxel grids to (image, voxels) pairs.

    Element i of epoch e gets the seed fold_in(fold_in([seed, 0], e), i)
    (`tf.random.experimental.stateless_fold_in` with int64 seed, e and i), so
    the pairs depend only on (seed, epoch, index) and the output order is
    deterministic even with parallel calls.

    Args:
        dataset: elements are [R, R, R] (or [R, R, R, 1]) occupancy grids.
        seed: integer seed.
        epoch: epoch number (Python int or scalar integer tensor, e.g. the
            epoch of a `Dataset.counter().flat_map` pipeline).
        image_size: side of the square images in pixels.
        render_size: side at which rays are cast (see `render_view`).
        scene: "plain", "room" or "photo" (see `make_pair`).
        num_parallel_calls: parallelism of the map.
        **camera_ranges: azimuth_range, elevation_range and/or
            distance_range passed to `random_camera`.

    Returns:
        Dataset of (image float32 [H, W, 3], voxels float32 [R, R, R]).
    """
    base = tf.random.experimental.stateless_fold_in(_as_seed(seed), tf.cast(epoch, tf.int64))

    def pair(index, voxels):
        return make_pair(
            voxels,
            tf.random.experimental.stateless_fold_in(base, index),
            image_size=image_size,
            render_size=render_size,
            scene=scene,
            **camera_ranges,
        )

    return dataset.enumerate().map(pair, num_parallel_calls=num_parallel_calls, deterministic=True)


# --------------------------------------------------------------------------
# Example sheet
# --------------------------------------------------------------------------


def example_sheet(
    shapes_per_category: int = 1,
    views: int = 3,
    resolution: int = 32,
    image_size: int = 256,
    seed: int = 0,
    scene: str = "plain",
):
    """A uint8 sheet of random training views of the procedural shapes.

    One row per category of `gan3d_tf.data.procedural.CATEGORIES`: shapes
    0..shapes_per_category-1 of make_dataset(category, n, resolution, seed=0),
    each rendered by `make_pair` from `views` random viewpoints.

    Args:
        shapes_per_category: shapes per row.
        views: random views per shape.
        resolution: voxels per side.
        image_size: side of each view in pixels.
        seed: seed of the views.
        scene: "plain", "room" or "photo" (see `make_pair`).

    Returns:
        uint8 [rows * image_size, shapes_per_category * views * image_size, 3].
    """
    rows = []
    for c, category in enumerate(CATEGORIES):
        tiles = []
        for s, grid in enumerate(make_dataset(category, shapes_per_category, resolution=resolution, seed=0)):
            for v in range(views):
                image, _ = make_pair(
                    grid, [seed, (c * shapes_per_category + s) * views + v], image_size=image_size, scene=scene
                )
                tiles.append(np.round(255.0 * image.numpy()).astype(np.uint8))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


if __name__ == "__main__":
    # python -m gan3d_tf.data.views [OUT.png [SCENE]]: writes the example sheet
    # (docs/views_example.png; docs/views_room.png with SCENE "room").
    import sys

    from PIL import Image

    out = sys.argv[1] if len(sys.argv) > 1 else "docs/views_example.png"
    Image.fromarray(example_sheet(scene=sys.argv[2] if len(sys.argv) > 2 else "plain")).save(
        out, format="PNG", optimize=True
    )
    print(f"wrote {out}")
