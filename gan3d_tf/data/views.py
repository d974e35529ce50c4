"""On-the-fly (image, voxels) training pairs for the 3D-VAE-GAN: a TensorFlow voxel ray caster.

Every training voxel grid is rendered from a random viewpoint with Lambertian
shading, a random object colour and a random background (solid colour, linear
gradient or smooth multi-scale noise standing in for photo clutter). Only
TensorFlow ops are used, so rendering runs inside `tf.data.Dataset.map` on the
CPU, headless, in graph mode. (Maintained GL renderers -- pyrender and VTK over
Mesa EGL -- render headless here but crash in any process that has loaded
TensorFlow, hence this renderer.) `make_pair`'s "room" and "photo" scenes add
a floor, a wall, object texture and camera-like jitter; "photo" takes its wall
and texture from real photographs shipped with scikit-image and scikit-learn.

Geometry and units:
    * the grid uses the project convention: axes (x, y, z), z (axis 2) up;
      it occupies the cube [-0.5, 0.5]^3 in world units (one unit = the grid's
      side length), centred at the origin; a voxel is occupied if its value is
      > 0.5;
    * the perspective camera sits at `distance` world units from the grid
      centre and looks at it, with world z up in the image. Azimuth and
      elevation are in degrees, with the convention of `gan3d_tf.visual.render`:
      azimuth 0 looks at the front from -y (camera on the -y axis), azimuth
      90 from -x, elevation 0 is level and positive is above;
    * `fov` is the full (vertical = horizontal) field of view in degrees.

Rays are traversed voxel by voxel (Amanatides-Woo DDA), so no voxel is ever
skipped (not even a corner clipped by a ray) and the face each ray enters its
first occupied voxel through gives an exact face normal. Only rays that hit the
bounding box of the occupied voxels are traced, each step jumps across the
largest empty cube around the current voxel (empty-space skipping), and the
set of traced rays is compacted after every step. One 256x256 view takes
about 25 ms on one (shared, loaded) CPU core for 32^3 and 64^3 grids alike,
about 13-15 ms with render_size=128.

The example sheet docs/views_example.png is written by
`python -m gan3d_tf.data.views docs/views_example.png` (docs/views_room.png and
docs/views_photo.png with a second argument, the scene).

Example:
    >>> from gan3d_tf.data.views import view_pairs
    >>> shapes = tf.data.Dataset.from_tensor_slices(voxels)  # uint8 [N, R, R, R]
    >>> pairs = view_pairs(shapes, seed=0, epoch=0).batch(32)  # ([32, 256, 256, 3], [32, R, R, R])
"""

from __future__ import annotations

import functools
import math
import numbers
import os

import numpy as np
import tensorflow as tf

from gan3d_tf.config import SCENES  # training-view looks; see make_pair

DEFAULT_FOV = 40.0  # degrees
AZIMUTH_RANGE = (0.0, 360.0)  # degrees
ELEVATION_RANGE = (0.0, 40.0)  # degrees
DISTANCE_RANGE = (2.2, 2.8)  # grid side lengths, camera to grid centre; objects stay inside the frame
_AMBIENT = 0.3
_DEPTH_CUE = 0.25  # brightness lost from the nearest to the farthest point of the grid
_MIN_DISTANCE = math.sqrt(3.0) / 2.0  # the camera must be outside the grid's bounding sphere
_BACKGROUND_KINDS = ("solid", "gradient", "noise")
ROOM_HALF_SIZE = 3.0  # half side of a room scene's square floor, grid sides; the wall shows beyond it
# real photographs shipped inside scikit-image (skimage.data) and scikit-learn (load_sample_images), no download:
# the walls and object textures of "photo" scenes
PHOTO_SOURCES = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "camera", "brick", "grass", "gravel",
                 "china", "flower")
PHOTO_SIDE = 256  # side of each photo in the bank, pixels (centre-cropped square, then resized)
PHOTO_VALUE_RANGE = (0.05, 1.0)  # HSV value of "photo" scene objects: dark furniture too (other scenes: 0.55-1)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _is_static_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_range(name: str, value, lo: float, hi: float) -> None:
    """Checks a Python number strictly inside (lo, hi); tensors are not checked."""
    if _is_static_number(value) and not lo < value < hi:
        raise ValueError(f"{name} must be strictly between {lo} and {hi}, got {value}")


def _check_pair(name: str, pair, lo: float | None = None, hi: float | None = None) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in pair)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {pair!r}") from None
    if not a <= b or (lo is not None and a < lo) or (hi is not None and b > hi):
        raise ValueError(f"{name} must be (low, high) with {lo} <= low <= high <= {hi}, got {pair!r}")
    return a, b


def _check_size(name: str, size) -> int:
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 8:
        raise ValueError(f"{name} must be an integer >= 8, got {size!r}")
    return int(size)


def _as_seed(seed) -> tf.Tensor:
    """A stateless-RNG seed: an int64 [2] tensor (a scalar s becomes [s, 0])."""
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    if seed.shape.rank == 0:
        return tf.stack([seed, tf.constant(0, tf.int64)])
    if seed.shape.rank != 1 or seed.shape[0] != 2:
        raise ValueError(f"seed must be an integer or a shape-[2] integer tensor, got shape {seed.shape}")
    return seed


def _as_grid(voxels) -> tf.Tensor:
    """Validates a [R, R, R] or [R, R, R, 1] grid and returns it as bool occupancy."""
    v = tf.convert_to_tensor(voxels)
    if v.shape.rank == 4 and v.shape[-1] == 1:
        v = v[..., 0]
    if v.shape.rank != 3:
        raise ValueError(f"expected a [R, R, R] or [R, R, R, 1] voxel grid, got shape {v.shape}")
    dims = v.shape.as_list()
    if all(d is not None for d in dims) and len(set(dims)) != 1:
        raise ValueError(f"expected a cubic [R, R, R] voxel grid, got shape {v.shape}")
    if v.dtype.is_bool:
        return v
    return tf.cast(v, tf.float32) > 0.5


def direction(azimuth, elevation) -> tf.Tensor:
    """Unit world vector from the origin towards (azimuth, elevation).

    Args:
        azimuth: degrees; 0 points to -y (the front), 90 to -x.
        elevation: degrees above the horizontal plane.

    Returns:
        float32 [3] unit vector (x, y, z).
    """
    az = tf.cast(azimuth, tf.float32) * (math.pi / 180.0)
    el = tf.cast(elevation, tf.float32) * (math.pi / 180.0)
    return tf.stack([-tf.sin(az) * tf.cos(el), -tf.cos(az) * tf.cos(el), tf.sin(el)])


def _camera_basis(azimuth, elevation):
    """(to_camera, right, up) world unit vectors of a camera looking at the origin."""
    to_cam = direction(azimuth, elevation)
    view = -to_cam
    right = tf.linalg.cross(view, tf.constant([0.0, 0.0, 1.0]))
    right = right / tf.norm(right)
    up = tf.linalg.cross(right, view)
    return to_cam, right, up


def _pixel_rays(to_cam, right, up, size: int, fov) -> tf.Tensor:
    """Unit world directions [size * size, 3] of the rays through the pixel centres, row-major, row 0 at the top."""
    half = tf.tan(tf.cast(fov, tf.float32) * (math.pi / 360.0))  # half-width of the image plane at distance 1
    coords = (tf.range(size, dtype=tf.float32) + 0.5) / size * 2.0 - 1.0
    ys, xs = tf.meshgrid(-coords, coords, indexing="ij")
    dirs = -to_cam + half * (xs[..., None] * right + ys[..., None] * up)
    return tf.reshape(dirs / tf.norm(dirs, axis=-1, keepdims=True), [-1, 3])


def _occupied_extent(occ: tf.Tensor, axis: int):
    """(first, one past last) occupied index along axis; (0, 0) for an empty grid."""
    others = [a for a in range(3) if a != axis]
    line = tf.reduce_any(occ, axis=others)
    idx = tf.cast(tf.where(line)[:, 0], tf.int32)
    n = tf.size(idx)
    lo = tf.cond(n > 0, lambda: tf.reduce_min(idx), lambda: tf.constant(0))
    hi = tf.cond(n > 0, lambda: tf.reduce_max(idx) + 1, lambda: tf.constant(0))
    return lo, hi


# --------------------------------------------------------------------------
# Ray casting
# --------------------------------------------------------------------------


def _dilate(mask: tf.Tensor, shift: int) -> tf.Tensor:
    """OR of a bool [R, R, R] mask with its copies shifted by +-shift along each axis in turn."""
    for axis in range(3):
        padding = [[0, 0]] * 3
        padding[axis] = [shift, shift]
        padded = tf.pad(mask, padding)
        begin = [0, 0, 0]
        begin[axis] = 2 * shift
        mask = mask | tf.slice(padded, [0, 0, 0], tf.shape(mask)) | tf.slice(padded, begin, tf.shape(mask))
    return mask


def _free_radius(occ: tf.Tensor) -> tf.Tensor:
    """Half-size of the empty cube around every voxel, for empty-space skipping.

    Returns, for each voxel v, the largest D in {0, 1, 3, 7, 15} such that the
    cube of voxels [v - D, v + D]^3 holds no occupied voxel (0 for occupied
    voxels and their neighbours), from dilations by shifts of 1, 2, 4 and 8.

    Args:
        occ: bool [R, R, R] occupancy.

    Returns:
        int32 [R, R, R].
    """
    covered = occ
    free = tf.zeros(tf.shape(occ), tf.int32)
    previous = 0
    for radius, shift in ((1, 1), (3, 2), (7, 4), (15, 8)):  # covered = occupied within radius (Chebyshev)
        covered = _dilate(covered, shift)
        free += tf.cast(~covered, tf.int32) * (radius - previous)
        previous = radius
    return free


def _trace(occ: tf.Tensor, origin: tf.Tensor, dirs: tf.Tensor):
    """First occupied voxel along each ray (voxel traversal with empty-space skipping).

    A voxel-exact DDA (Amanatides-Woo) that, from an empty voxel v with free
    half-size D (see `_free_radius`), jumps straight to the voxel where the ray
    leaves the empty cube [v - D, v + D]^3 (D = 0 is a plain DDA step). Only
    rays that hit the bounding box of the occupied voxels are traced.

    Args:
        occ: bool [R, R, R] occupancy.
        origin: float32 [3] ray origin in grid units (the grid spans [0, R]^3),
            outside the grid.
        dirs: float32 [P, 3] unit ray directions.

    Returns:
        (hit bool [P], normal float32 [P, 3] (outward normal of the face
        through which the ray entered the hit voxel, zero where nothing was
        hit), depth float32 [P] (distance from the origin to the hit, in grid
        units; 0 where nothing was hit)).
    """
    r = tf.shape(occ)[0]
    flat = tf.reshape(occ, [-1])
    free = tf.reshape(_free_radius(occ), [-1])
    extents = [_occupied_extent(occ, a) for a in range(3)]
    lo = tf.stack([e[0] for e in extents])
    hi = tf.stack([e[1] for e in extents])
    lo_f, hi_f = tf.cast(lo, tf.float32), tf.cast(hi, tf.float32)

    # Slab test against the bounding box of the occupied voxels.
    safe = tf.where(tf.abs(dirs) < 1e-9, tf.fill(tf.shape(dirs), 1e-9), dirs)
    t_a, t_b = (lo_f - origin) / safe, (hi_f - origin) / safe
    t_min = tf.minimum(t_a, t_b)
    t_near = tf.reduce_max(t_min, axis=1)
    t_far = tf.reduce_min(tf.maximum(t_a, t_b), axis=1)
    in_box = (t_far > tf.maximum(t_near, 0.0)) & tf.reduce_all(hi > lo)

    # Trace only these rays; the set is compacted to the still-active rays
    # after every step (most hit or leave the box within a few steps).
    ids = tf.where(in_box)[:, 0]
    d = tf.gather(safe, ids)
    t0 = tf.maximum(tf.gather(t_near, ids), 0.0)
    axis0 = tf.argmax(tf.gather(t_min, ids), axis=1, output_type=tf.int32)
    voxel = tf.clip_by_value(tf.cast(tf.floor(origin + (t0[:, None] + 1e-4) * d), tf.int32), lo, hi - 1)
    strides = tf.stack([r * r, r, 1])
    n_rays = tf.shape(dirs, out_type=tf.int64)[0]

    def body(i, ids, d, voxel, t_cur, axis, hit_t, hit_face):
        index = tf.reduce_sum(voxel * strides, axis=1)
        occupied = tf.gather(flat, index)
        step = tf.where(d > 0, 1, -1)
        # Record hits: depth and entered face (2 * axis + 1 if the ray runs towards +axis).
        found = tf.where(occupied)
        slots = tf.gather_nd(ids, found)[:, None]
        hit_t = tf.tensor_scatter_nd_update(hit_t, slots, tf.gather_nd(t_cur, found))
        face = 2 * axis + tf.cast(tf.gather(d, axis, batch_dims=1) > 0, tf.int32)
        hit_face = tf.tensor_scatter_nd_update(hit_face, slots, tf.gather_nd(face, found))
        # Leave the empty cube [v - D, v + D]^3 through its nearest exit face.
        half = tf.gather(free, index)[:, None]
        t_exit = (tf.cast(voxel + step * half + tf.cast(d > 0, tf.int32), tf.float32) - origin) / d
        a = tf.argmin(t_exit, axis=1, output_type=tf.int32)
        t_new = tf.reduce_min(t_exit, axis=1)
        inside = tf.clip_by_value(
            tf.cast(tf.floor(origin + t_new[:, None] * d), tf.int32), voxel - half, voxel + half
        )
        moved = tf.where(tf.one_hot(a, 3, on_value=True, off_value=False), voxel + step * (half + 1), inside)
        # Keep the rays that neither hit nor left the box.
        keep = tf.where(~occupied & tf.reduce_all((moved >= lo) & (moved < hi), axis=1))[:, 0]
        return (
            i + 1, tf.gather(ids, keep), tf.gather(d, keep), tf.gather(moved, keep),
            tf.gather(t_new, keep), tf.gather(a, keep), hit_t, hit_face,
        )

    # Every step crosses >= 1 voxel boundary, at most (sum of box sides) in all.
    max_steps = tf.reduce_sum(hi - lo) + 1
    state = (
        tf.constant(0), ids, d, voxel, t0, axis0,
        tf.fill([n_rays], tf.constant(-1.0)), tf.zeros([n_rays], tf.int32),
    )
    invariants = (
        tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape([None, 3]), tf.TensorShape([None, 3]),
        tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None]),
    )
    *_, hit_t, hit_face = tf.while_loop(
        lambda i, ids, *s: (i < max_steps) & (tf.size(ids) > 0), body, state, shape_invariants=invariants
    )
    hit = hit_t >= 0.0
    # The entered face points against the ray: -axis for a ray towards +axis.
    normals = tf.constant([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    normal = tf.gather(normals, hit_face) * tf.cast(hit, tf.float32)[:, None]
    return hit, normal, tf.maximum(hit_t, 0.0)


def render_layers(
    voxels,
    azimuth,
    elevation,
    distance,
    image_size: int = 256,
    fov: float = DEFAULT_FOV,
    light=None,
    ambient: float = _AMBIENT,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Shading and silhouette of one voxel grid, without colour or background.

    Args:
        voxels: [R, R, R] or [R, R, R, 1] occupancy (any numeric dtype or
            bool; occupied if > 0.5), axes (x, y, z), z up.
        azimuth: camera azimuth in degrees (0 = front, from -y; 90 = from -x).
        elevation: camera elevation in degrees, strictly between -90 and 90.
        distance: camera distance from the grid centre in grid side lengths,
            > sqrt(3)/2 (outside the grid).
        image_size: side of the square image in pixels.
        fov: full field of view in degrees, in (0, 180).
        light: world direction towards a distant light, float [3] (need not
            be unit length); None lights from above and to the left of the
            camera.
        ambient: brightness of faces turned away from the light, in [0, 1].

    Returns:
        (shade float32 [H, W] in [0, 1], 0 on the background;
         mask float32 [H, W], 1 where a ray hits an occupied voxel, else 0).

    Raises:
        ValueError: for a grid that is not [R, R, R] / [R, R, R, 1], a bad
            image size, or Python-number angles, distance, fov or ambient out
            of range (tensor arguments are not checked).
    """
    occ = _as_grid(voxels)
    size = _check_size("image_size", image_size)
    _check_range("elevation", elevation, -90.0, 90.0)
    if _is_static_number(distance) and not distance > _MIN_DISTANCE:
        raise ValueError(f"distance must be > sqrt(3)/2 = {_MIN_DISTANCE:.4f} grid sides, got {distance}")
    _check_range("fov", fov, 0.0, 180.0)
    if _is_static_number(ambient) and not 0.0 <= ambient <= 1.0:
        raise ValueError(f"ambient must be in [0, 1], got {ambient}")

    to_cam, right, up = _camera_basis(azimuth, elevation)
    if light is None:
        to_light = to_cam + 0.8 * up - 0.6 * right
    else:
        to_light = tf.reshape(tf.cast(light, tf.float32), [3])
    to_light = to_light / tf.maximum(tf.norm(to_light), 1e-12)

    r = tf.cast(tf.shape(occ)[0], tf.float32)
    dist = tf.cast(distance, tf.float32)
    origin = (dist * to_cam + 0.5) * r  # grid units
    dirs = _pixel_rays(to_cam, right, up, size, fov)

    hit, normal, depth = _trace(occ, origin, dirs)
    lambert = tf.nn.relu(tf.linalg.matvec(normal, to_light))
    shade = ambient + (1.0 - ambient) * lambert
    # Mild depth cue (nearest point of the grid's bounding sphere -> 1) so that
    # parallel faces one behind the other stay distinguishable.
    radius = _MIN_DISTANCE * r
    near = dist * r - radius
    shade *= 1.0 - _DEPTH_CUE * tf.clip_by_value((depth - near) / (2.0 * radius), 0.0, 1.0)
    mask = tf.cast(hit, tf.float32)
    return tf.reshape(shade * mask, [size, size]), tf.reshape(mask, [size, size])


def render_view(
    voxels,
    azimuth,
    elevation,
    distance,
    image_size: int = 256,
    background=(1.0, 1.0, 1.0),
    light=None,
    color=(0.7, 0.7, 0.7),
    fov: float = DEFAULT_FOV,
    ambient: float = _AMBIENT,
    render_size: int | None = None,
    return_mask: bool = False,
):
    """Renders one voxel grid as a shaded RGB image over a background.

    Args:
        voxels: [R, R, R] or [R, R, R, 1] occupancy (occupied if > 0.5),
            axes (x, y, z), z up.
        azimuth: camera azimuth in degrees (0 = front, from -y; 90 = from -x).
        elevation: camera elevation in degrees, strictly between -90 and 90.
        distance: camera distance from the grid centre in grid side lengths.
        image_size: side of the square output image in pixels.
        background: RGB colour [3] or image [H, W, 3] in [0, 1] (see
            `random_background`).
        light: world direction towards the light, [3]; None lights from above
            and to the left of the camera.
        color: RGB object colour [3] in [0, 1], or a texture [H, W, 3] in
            image space (see `random_texture`).
        fov: full field of view in degrees.
        ambient: brightness of faces turned away from the light, in [0, 1].
        render_size: side at which rays are cast (default image_size); a
            smaller value is faster and its shading and mask are bilinearly
            upsampled (soft, anti-aliased silhouette edges).
        return_mask: also return the silhouette mask.

    Returns:
        float32 [H, W, 3] image in [0, 1]; with return_mask, (image, mask
        float32 [H, W] in [0, 1], 1 on the object).

    Raises:
        ValueError: for a bad grid shape, image/render size or background
            shape, or out-of-range Python-number arguments.
    """
    size = _check_size("image_size", image_size)
    inner = size if render_size is None else _check_size("render_size", render_size)
    bg = tf.cast(tf.convert_to_tensor(background), tf.float32)
    if bg.shape.rank == 1 and bg.shape[0] == 3:
        bg = tf.broadcast_to(bg, [size, size, 3])
    elif bg.shape.rank != 3 or bg.shape[-1] != 3 or bg.shape[0] not in (None, size) or bg.shape[1] not in (None, size):
        raise ValueError(f"background must be an RGB [3] colour or a [{size}, {size}, 3] image, got shape {bg.shape}")
    col = tf.cast(tf.convert_to_tensor(color), tf.float32)
    col = col if col.shape.rank == 3 else tf.reshape(col, [1, 1, 3])

    shade, mask = render_layers(voxels, azimuth, elevation, distance, inner, fov=fov, light=light, ambient=ambient)
    if inner != size:
        both = tf.image.resize(tf.stack([shade, mask], axis=-1), [size, size], method="bilinear")
        mask = tf.clip_by_value(both[..., 1], 0.0, 1.0)
        shade = tf.math.divide_no_nan(both[..., 0], mask)  # un-premultiply the soft edges
    obj = tf.clip_by_value(col * shade[..., None], 0.0, 1.0)
    image = mask[..., None] * obj + (1.0 - mask[..., None]) * bg
    image = tf.clip_by_value(image, 0.0, 1.0)
    return (image, mask) if return_mask else image


# --------------------------------------------------------------------------
# Random views
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
# Room scenes: a floor under the object, a wall behind, texture, photo jitter
# --------------------------------------------------------------------------


def floor_layer(voxels, azimuth, elevation, distance, image_size: int = 256, fov: float = DEFAULT_FOV):
    """Where the camera sees the floor the grid stands on.

    The floor is the horizontal square of half side `ROOM_HALF_SIZE` grid sides
    centred under the grid, at the height of the bottom of its lowest occupied
    voxel (the grid's bottom for an empty grid). World units are grid sides,
    with the grid centred at the origin; the camera is that of `render_layers`.

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
    return (tf.reshape(mask, [size, size]), tf.reshape(xy * mask[:, None], [size, size, 2]),
            tf.reshape(t * mask, [size, size]))


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


def random_room(seed, voxels, azimuth, elevation, distance, light, image_size: int = 256, fov: float = DEFAULT_FOV,
                ambient: float = _AMBIENT, wall=None) -> tf.Tensor:
    """A background of a textured floor under the grid and a wall beyond it.

    The floor (`floor_layer`) is planks, tiles or carpet of a random colour,
    lit by `light`, darkened under the object's footprint (a soft contact
    shadow) and with distance; every other pixel shows the wall.

    Args:
        seed: integer or shape-[2] integer tensor (stateless RNG seed).
        voxels: [R, R, R] occupancy grid the room is built around.
        azimuth, elevation, distance: the camera, as in `render_layers`.
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
    wall = random_background(seeds[0], size) if wall is None else tf.broadcast_to(
        tf.cast(wall, tf.float32), [size, size, 3])
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
        float32 [image_size, image_size, 3] in [0, 1] (a `render_view` colour).
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
        square = Image.fromarray(np.ascontiguousarray(image[top:top + side_in, left:left + side_in]))
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
        float32 [image_size, image_size, 3] in [0, 1] (a `render_view` colour).
    """
    seeds = tf.random.experimental.stateless_split(_as_seed(seed), 2)
    gray = tf.reduce_mean(random_photo(seeds[0], image_size), axis=-1)
    strength = 0.2 + 0.6 * tf.random.stateless_uniform([], seed=seeds[1])
    return _modulate(color, gray, 2.0 * strength)


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


def make_pair(voxels, seed, image_size: int = 256, render_size: int | None = None, scene: str = "plain",
              **camera_ranges):
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
        color = (photo_texture(photo[1], color, image_size) if scene == "photo"
                 else random_texture(extra[1], color, image_size))
    image, mask = render_view(grid, azimuth, elevation, distance, image_size=image_size, background=background,
                              light=light, color=color, render_size=render_size, return_mask=True)
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
    shapes_per_category: int = 1, views: int = 3, resolution: int = 32, image_size: int = 256, seed: int = 0,
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
    import numpy as np

    from gan3d_tf.data.procedural import CATEGORIES, make_dataset

    rows = []
    for c, category in enumerate(CATEGORIES):
        tiles = []
        for s, grid in enumerate(make_dataset(category, shapes_per_category, resolution=resolution, seed=0)):
            for v in range(views):
                image, _ = make_pair(grid, [seed, (c * shapes_per_category + s) * views + v], image_size=image_size,
                                     scene=scene)
                tiles.append(np.round(255.0 * image.numpy()).astype(np.uint8))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


if __name__ == "__main__":
    # python -m gan3d_tf.data.views [OUT.png [SCENE]]: writes the example sheet
    # (docs/views_example.png; docs/views_room.png with SCENE "room").
    import sys

    from PIL import Image

    out = sys.argv[1] if len(sys.argv) > 1 else "docs/views_example.png"
    Image.fromarray(example_sheet(scene=sys.argv[2] if len(sys.argv) > 2 else "plain")).save(out, format="PNG",
                                                                                            optimize=True)
    print(f"wrote {out}")
