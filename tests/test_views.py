"""Tests for the TensorFlow voxel ray caster that makes (image, voxels) training pairs."""

import math

import numpy as np
import pytest
import tensorflow as tf

from gan3d_tf.data import raycast, scenes, views
from gan3d_tf.data.procedural import make_dataset

BG = (0.1, 0.2, 0.3)


def _grid(r: int = 32, lo=(8, 8, 8), hi=(24, 24, 24)) -> np.ndarray:
    grid = np.zeros((r, r, r), dtype=np.uint8)
    grid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = 1
    return grid


def _l_shape(r: int = 32) -> np.ndarray:
    """A floor slab along x plus a tall post at its +x end: asymmetric about every vertical plane but x = y."""
    grid = _grid(r, (4, 12, 4), (28, 20, 10))
    grid[20:28, 12:20, 10:28] = 1
    return grid


def _mask(grid, azimuth, elevation=25.0, distance=2.5, size=64) -> np.ndarray:
    return raycast.render_layers(grid, azimuth, elevation, distance, image_size=size)[1].numpy()


# --------------------------------------------------------------------------
# Output and silhouette
# --------------------------------------------------------------------------


@pytest.mark.parametrize("r", [16, 32, 64])
def test_output_dtype_shape_range(r):
    chair = make_dataset("chair", 1, resolution=r, seed=0)[0]
    image, mask = raycast.render_view(chair, 30.0, 20.0, 2.4, image_size=72, background=BG, return_mask=True)
    assert image.dtype == tf.float32 and image.shape == (72, 72, 3)
    assert mask.dtype == tf.float32 and mask.shape == (72, 72)
    image, mask = image.numpy(), mask.numpy()
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert 0.05 < mask.mean() < 0.6
    # A [R, R, R, 1] grid and a float or bool grid render the same.
    for same in (chair[..., None], chair.astype(np.float32), chair.astype(bool)):
        np.testing.assert_array_equal(raycast.render_view(same, 30.0, 20.0, 2.4, image_size=72, background=BG), image)


def test_centred_cube_from_the_front():
    """Centre pixel is lit object, corners are exactly the background, and the square has the pinhole size."""
    cube = _grid()  # half-size 0.25 grid sides, centred
    image, mask = raycast.render_view(
        cube,
        0.0,
        0.0,
        2.5,
        image_size=64,
        background=BG,
        color=(1.0, 1.0, 1.0),
        light=(0.0, -1.0, 0.0),
        return_mask=True,
    )
    image, mask = image.numpy(), mask.numpy()
    centre = image[32, 32]
    assert mask[32, 32] == 1.0
    assert np.all(centre > 0.8) and np.ptp(centre) < 1e-6  # white, facing the light
    for corner in (image[0, 0], image[0, -1], image[-1, 0], image[-1, -1]):
        np.testing.assert_array_equal(corner, np.float32(BG))
    bg_pixels = image[mask == 0]
    np.testing.assert_array_equal(bg_pixels, np.broadcast_to(np.float32(BG), bg_pixels.shape))
    # Front face at distance 2.25, half-size 0.25, fov 40: half-side in pixels.
    half = 0.25 / 2.25 / math.tan(math.radians(raycast.DEFAULT_FOV / 2)) * 32
    rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
    for idx in (rows, cols):
        assert abs(idx.min() - (32 - half)) <= 1 and abs(idx.max() + 1 - (32 + half)) <= 1
    assert mask.sum() == len(rows) * len(cols)  # a filled square


def test_empty_grid_renders_pure_background():
    background = scenes.random_background(3, 64, kind="noise")
    image, mask = raycast.render_view(
        np.zeros((32, 32, 32)), 40.0, 10.0, 2.4, image_size=64, background=background, return_mask=True
    )
    np.testing.assert_array_equal(image.numpy(), background.numpy())
    assert not mask.numpy().any()


def test_single_voxel_is_not_skipped():
    grid = np.zeros((64, 64, 64), dtype=np.uint8)
    grid[40, 21, 33] = 1
    for azimuth in (0.0, 33.0, 200.0):
        assert _mask(grid, azimuth, size=256).sum() >= 4


def test_up_and_right_directions():
    """z (axis 2) is up in the image; from the front (azimuth 0) +x is to the right."""
    top = _grid(32, (8, 8, 20), (24, 24, 30))
    right = _grid(32, (20, 8, 8), (30, 24, 24))
    for azimuth in (0.0, 90.0, 217.0):
        rows = np.where(_mask(top, azimuth, elevation=10.0))[0]
        assert rows.mean() < 28
    cols = np.where(_mask(right, 0.0, elevation=10.0))[1]
    assert cols.mean() > 36


def test_azimuth_changes_asymmetric_shape_but_not_cube():
    shape = _l_shape()
    masks = {az: _mask(shape, az) for az in (0.0, 90.0, 180.0)}
    assert (masks[0.0] != masks[90.0]).mean() > 0.02
    assert (masks[0.0] != masks[180.0]).mean() > 0.02
    # The L-shape's post is at +x: right of centre from the front, left from behind.
    assert np.where(masks[0.0])[1].mean() > np.where(masks[180.0])[1].mean() + 4
    cube = _grid()
    reference = _mask(cube, 0.0)
    for azimuth in (90.0, 180.0, 270.0, -90.0):
        np.testing.assert_array_equal(_mask(cube, azimuth), reference)


def test_faces_towards_the_light_are_brighter():
    """From azimuth 45, elevation 30 the -x face is lower left, the -y face lower right, the top face up."""
    cube = _grid(32, (4, 4, 4), (28, 28, 28))
    probes = {"-x": (40, 24), "-y": (40, 40), "+z": (20, 32)}
    for light, lit in (((-1.0, 0.0, 0.0), "-x"), ((0.0, -1.0, 0.0), "-y"), ((0.0, 0.0, 1.0), "+z")):
        shade = raycast.render_layers(cube, 45.0, 30.0, 2.5, image_size=64, light=light)[0].numpy()
        values = {face: shade[p] for face, p in probes.items()}
        for face, value in values.items():
            if face != lit:
                assert values[lit] > value + 0.4, (light, values)
    # A face turned away from the light keeps the ambient term (times the mild depth cue).
    shade = raycast.render_layers(cube, 45.0, 30.0, 2.5, image_size=64, light=(1.0, 1.0, -1.0), ambient=0.3)[0].numpy()
    for p in probes.values():
        assert 0.3 * (1 - raycast._DEPTH_CUE) - 1e-6 <= shade[p] <= 0.3 + 1e-6


def test_render_size_upsamples_with_soft_edges():
    chair = make_dataset("chair", 1, resolution=32, seed=0)[0]
    full, full_mask = raycast.render_view(chair, 20.0, 20.0, 2.4, image_size=128, background=BG, return_mask=True)
    fast, fast_mask = raycast.render_view(
        chair, 20.0, 20.0, 2.4, image_size=128, background=BG, render_size=64, return_mask=True
    )
    assert fast.shape == (128, 128, 3) and fast_mask.shape == (128, 128)
    fast_mask = fast_mask.numpy()
    assert ((fast_mask > 0) & (fast_mask < 1)).any()  # anti-aliased edges
    assert np.mean(np.abs(fast_mask - full_mask.numpy())) < 0.05
    outside = fast.numpy()[fast_mask == 0]
    np.testing.assert_array_equal(outside, np.broadcast_to(np.float32(BG), outside.shape))


# --------------------------------------------------------------------------
# Ray traversal against a brute-force reference
# --------------------------------------------------------------------------


def _reference_trace(occ: np.ndarray, origin: np.ndarray, dirs: np.ndarray, h: float = 0.004):
    """First occupied sample along each ray, sampled every h voxels (numpy, slow)."""
    r = occ.shape[0]
    inv = 1.0 / dirs
    t_a, t_b = (0.0 - origin) * inv, (r - origin) * inv
    t0 = np.maximum(np.minimum(t_a, t_b).max(1), 0.0)
    t1 = np.maximum(t_a, t_b).min(1)
    hit = np.zeros(len(dirs), bool)
    depth = np.zeros(len(dirs))
    normal = np.zeros((len(dirs), 3))
    for i in np.where(t1 > t0)[0]:
        t = np.arange(t0[i] - 2 * h, t1[i], h)  # start outside: the entered face is known
        cells = np.floor(origin + t[:, None] * dirs[i]).astype(int)
        inside = np.all((cells >= 0) & (cells < r), axis=1)
        occupied = np.zeros(len(t), bool)
        occupied[inside] = occ[tuple(cells[inside].T)]
        if occupied.any():
            k = int(np.argmax(occupied))
            hit[i], depth[i] = True, t[k]
            axis = int(np.argmax(cells[k] != cells[k - 1]))
            normal[i, axis] = -np.sign(dirs[i, axis])
    return hit, depth, normal


@pytest.mark.parametrize("r", [16, 64])
def test_free_radius_matches_max_filter(r):
    from scipy.ndimage import maximum_filter

    rng = np.random.default_rng(r)
    occ = rng.random((r, r, r)) < 0.001
    occ[:3, :3, :3] = True
    expected = np.zeros(occ.shape, dtype=np.int32)
    for radius in (1, 3, 7, 15):
        expected[~maximum_filter(occ, size=2 * radius + 1, mode="constant", cval=False)] = radius
    got = raycast._free_radius(tf.constant(occ)).numpy()
    np.testing.assert_array_equal(got, expected)
    assert set(np.unique(got)) >= {0, 1, 3, 7}


def _scattered(r: int, density: float, rng) -> np.ndarray:
    occ = rng.random((r, r, r)) < density
    occ[r // 5 : r - r // 5, r // 3 : r // 2, r // 8 : r // 4] = True  # a slab
    occ[r - 4 :, :3, r - 5 :] = True  # a far corner block: large empty cubes in between
    return occ


@pytest.mark.parametrize("r, density, origin", [(16, 0.04, (-9.0, -14.0, 21.0)), (48, 0.0005, (70.0, -30.0, 40.0))])
def test_trace_matches_brute_force_sampling(r, density, origin):
    """Exact traversal with empty-space skipping against fine sampling (dense, then sparse grids)."""
    rng = np.random.default_rng(r)
    occ = _scattered(r, density, rng)
    origin = np.array(origin)
    targets = rng.uniform(0.0, r, (1000, 3))
    dirs = targets - origin
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    hit, normal, depth = raycast._trace(
        tf.constant(occ), tf.constant(origin, tf.float32), tf.constant(dirs, tf.float32)
    )
    hit, normal, depth = hit.numpy(), normal.numpy(), depth.numpy()
    ref_hit, ref_depth, ref_normal = _reference_trace(occ, origin, dirs)
    assert 0.1 < ref_hit.mean() < 0.95
    # The exact traversal finds every sampled hit; it may also catch corners thinner than a sample step.
    assert not (ref_hit & ~hit).any()
    assert (hit != ref_hit).mean() < 0.005
    both = hit & ref_hit
    assert np.all(depth[both] <= ref_depth[both] + 1e-3)
    assert np.mean(ref_depth[both] - depth[both] < 0.005) > 0.99
    assert np.mean(np.all(normal[both] == ref_normal[both], axis=1)) > 0.99
    assert not normal[~hit].any() and not depth[~hit].any()


# --------------------------------------------------------------------------
# Random views and the tf.data pipeline
# --------------------------------------------------------------------------


def test_random_camera_ranges_and_determinism():
    values = np.array([[float(x) for x in views.random_camera([7, i])] for i in range(50)])
    for column, (lo, hi) in zip(values.T, (views.AZIMUTH_RANGE, views.ELEVATION_RANGE, views.DISTANCE_RANGE)):
        assert lo <= column.min() and column.max() <= hi and np.ptp(column) > 0.5 * (hi - lo)
    again = [float(x) for x in views.random_camera([7, 3])]
    np.testing.assert_array_equal(again, values[3])
    az, el, dist = views.random_camera(1, azimuth_range=(10, 10), elevation_range=(5, 6), distance_range=(3, 3))
    assert float(az) == 10.0 and 5.0 <= float(el) <= 6.0 and float(dist) == 3.0


@pytest.mark.parametrize("kind", ["solid", "gradient", "noise", None])
def test_random_background(kind):
    bg = scenes.random_background([1, 2], 48, kind=kind).numpy()
    assert bg.shape == (48, 48, 3) and bg.dtype == np.float32
    assert bg.min() >= 0.0 and bg.max() <= 1.0
    np.testing.assert_array_equal(scenes.random_background([1, 2], 48, kind=kind).numpy(), bg)
    if kind == "solid":
        assert np.ptp(bg.reshape(-1, 3), axis=0).max() == 0.0
    elif kind in ("gradient", "noise"):
        assert np.ptp(bg.reshape(-1, 3), axis=0).max() > 0.05
    kinds = set()
    for i in range(40):
        b = scenes.random_background([5, i], 16).numpy().reshape(-1, 3)
        kinds.add(bool(np.ptp(b, axis=0).max() == 0.0))
    assert kinds == {True, False}  # both solid and varying backgrounds are drawn


def test_make_pair_is_deterministic_per_seed():
    chair = make_dataset("chair", 1, resolution=32, seed=0)[0]
    a_img, a_vox = views.make_pair(chair, [3, 4], image_size=64)
    b_img, _ = views.make_pair(chair, [3, 4], image_size=64)
    c_img, _ = views.make_pair(chair, [3, 5], image_size=64)
    np.testing.assert_array_equal(a_img.numpy(), b_img.numpy())
    assert np.abs(a_img.numpy() - c_img.numpy()).mean() > 0.01
    assert a_vox.dtype == tf.float32
    np.testing.assert_array_equal(a_vox.numpy(), chair.astype(np.float32))


@pytest.mark.slow
def test_view_pairs_in_tf_data_graph_mode():
    grids = np.stack([make_dataset(c, 1, resolution=32, seed=0)[0] for c in ("bed", "chair", "table")])
    dataset = tf.data.Dataset.from_tensor_slices(grids)

    def run(epoch):
        pairs = views.view_pairs(dataset, seed=11, epoch=epoch, image_size=64).batch(3)
        assert pairs.element_spec[0].shape.as_list() == [None, 64, 64, 3]
        return [tuple(t.numpy() for t in batch) for batch in pairs]

    ((images, voxels),) = run(0)
    assert images.shape == (3, 64, 64, 3) and images.dtype == np.float32
    np.testing.assert_array_equal(voxels, grids.astype(np.float32))
    ((again, _),) = run(0)
    np.testing.assert_array_equal(again, images)
    ((other, _),) = run(1)
    assert np.abs(other - images).mean() > 0.01
    # Element i of epoch e is make_pair with seed fold_in(fold_in([seed, 0], e), i), all int64.
    fold_in = tf.random.experimental.stateless_fold_in
    seed = fold_in(fold_in(tf.constant([11, 0], tf.int64), tf.constant(0, tf.int64)), tf.constant(2, tf.int64))
    eager, _ = views.make_pair(grids[2], seed, image_size=64)
    np.testing.assert_allclose(images[2], eager.numpy(), atol=1e-5)


def test_epoch_tensor_inside_counter_pipeline():
    grids = make_dataset("sofa", 2, resolution=32, seed=0)
    shapes = tf.data.Dataset.from_tensor_slices(grids)
    dataset = (
        tf.data.Dataset.counter()
        .take(2)
        .flat_map(lambda epoch: views.view_pairs(shapes, seed=1, epoch=epoch, image_size=32))
    )
    images = np.stack([image.numpy() for image, _ in dataset])
    assert images.shape == (4, 32, 32, 3)
    assert np.abs(images[0] - images[2]).mean() > 0.005  # same shape, another epoch, another view


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"voxels": np.zeros((8, 8))}, "voxel grid, got shape"),
        ({"voxels": np.zeros((8, 8, 4))}, "cubic"),
        ({"elevation": 90.0}, "elevation"),
        ({"distance": 0.5}, "distance"),
        ({"image_size": 4}, "image_size"),
        ({"background": np.zeros((10, 10, 3))}, "background"),
        ({"fov": 180.0}, "fov"),
        ({"render_size": 2.5}, "render_size"),
    ],
)
def test_errors(kwargs, message):
    args = {
        "voxels": _grid(8, (2, 2, 2), (6, 6, 6)),
        "azimuth": 0.0,
        "elevation": 10.0,
        "distance": 2.5,
        "image_size": 32,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        raycast.render_view(**args)


def test_errors_random_helpers():
    with pytest.raises(ValueError, match="distance_range"):
        views.random_camera(0, distance_range=(0.5, 2.0))
    with pytest.raises(ValueError, match="elevation_range"):
        views.random_camera(0, elevation_range=(40, 10))
    with pytest.raises(ValueError, match="kind"):
        scenes.random_background(0, 32, kind="photo")
    with pytest.raises(ValueError, match="seed"):
        views.make_pair(_grid(8, (2, 2, 2), (6, 6, 6)), [1, 2, 3])


# --------------------------------------------------------------------------
# Room scenes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("elevation", [15.0, 30.0])
def test_floor_under_the_grid_where_the_centre_ray_meets_it(elevation):
    # Lowest occupied voxel at index 0: the floor is at z = -0.5. The centre ray
    # of a camera at distance d, azimuth 0 (on -y) meets it at y = 0.5 / tan(e),
    # after d + 0.5 / sin(e) grid sides.
    grid, d, size = _grid(16, (4, 4, 0), (12, 12, 8)), 2.5, 65
    mask, xy, depth = (t.numpy() for t in scenes.floor_layer(grid, 0.0, elevation, d, image_size=size))
    e = math.radians(elevation)
    assert mask[32, 32] == 1.0
    np.testing.assert_allclose(xy[32, 32], [0.0, 0.5 / math.tan(e)], atol=1e-4)
    np.testing.assert_allclose(depth[32, 32], d + 0.5 / math.sin(e), rtol=1e-5)
    assert mask[0, 32] == 0.0 and depth[0, 32] == 0.0  # the top row looks above the floor's far edge
    assert mask[-1].all()  # the bottom row looks down at the floor


def test_floor_is_at_the_bottom_of_the_lowest_occupied_voxel():
    lifted = _grid(16, (4, 4, 8), (12, 12, 12))  # bottom at z = 8 / 16 - 0.5 = 0: the centre ray meets the origin
    mask, xy, _ = (t.numpy() for t in scenes.floor_layer(lifted, 0.0, 25.0, 2.5, image_size=65))
    assert mask[32, 32] == 1.0
    np.testing.assert_allclose(xy[32, 32], [0.0, 0.0], atol=1e-4)


def test_room_shows_the_wall_off_the_floor_and_a_floor_on_it():
    grid = _grid(16, (4, 4, 0), (12, 12, 8))
    wall = (0.2, 0.4, 0.6)
    room = scenes.random_room(3, grid, 0.0, 20.0, 2.5, light=(0.0, -1.0, 1.0), image_size=48, wall=wall).numpy()
    mask = scenes.floor_layer(grid, 0.0, 20.0, 2.5, image_size=48)[0].numpy() > 0
    assert mask.any() and (~mask).any()
    np.testing.assert_allclose(room[~mask], np.broadcast_to(wall, room[~mask].shape), atol=1e-6)
    assert np.abs(room[mask] - wall).max(-1).mean() > 0.02
    assert room.min() >= 0.0 and room.max() <= 1.0


def test_uniform_texture_renders_like_its_colour():
    chair = make_dataset("chair", 1, resolution=32, seed=0)[0]
    flat = raycast.render_view(chair, 30.0, 20.0, 2.4, image_size=48, background=BG, color=(0.6, 0.5, 0.4))
    texture = np.broadcast_to(np.float32([0.6, 0.5, 0.4]), (48, 48, 3))
    textured = raycast.render_view(chair, 30.0, 20.0, 2.4, image_size=48, background=BG, color=texture)
    np.testing.assert_allclose(textured.numpy(), flat.numpy(), atol=1e-6)


def test_room_pair_is_deterministic_and_keeps_the_plain_views():
    chair = make_dataset("chair", 1, resolution=32, seed=0)[0]
    plain, _ = views.make_pair(chair, [3, 4], image_size=64)
    np.testing.assert_array_equal(
        views.make_pair(chair, [3, 4], image_size=64, scene="plain")[0].numpy(), plain.numpy()
    )
    room, grid = views.make_pair(chair, [3, 4], image_size=64, scene="room")
    again, _ = views.make_pair(chair, [3, 4], image_size=64, scene="room")
    np.testing.assert_array_equal(room.numpy(), again.numpy())
    assert room.shape == (64, 64, 3) and 0.0 <= room.numpy().min() and room.numpy().max() <= 1.0
    assert np.abs(room.numpy() - plain.numpy()).mean() > 0.02
    np.testing.assert_array_equal(grid.numpy(), chair.astype(np.float32))
    with pytest.raises(ValueError, match="scene must be one of"):
        views.make_pair(chair, [3, 4], image_size=64, scene="beach")


def test_photo_bank_holds_the_shipped_photographs():
    bank = scenes.photo_bank()
    assert bank.shape == (len(scenes.PHOTO_SOURCES), scenes.PHOTO_SIDE, scenes.PHOTO_SIDE, 3) and bank.dtype == np.uint8
    assert not bank.flags.writeable and scenes.photo_bank() is bank  # read once, shared read-only
    # real photographs: every one has detail (not a flat colour) and no two are the same
    assert (bank.reshape(len(bank), -1).std(axis=1) > 20).all()
    assert len({p.tobytes() for p in bank}) == len(bank)
    # the astronaut, centre-cropped (it is square already) and resized from 512 to 256
    import skimage.data

    astronaut = skimage.data.astronaut().astype(np.float32)
    small = astronaut.reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))
    assert np.abs(bank[scenes.PHOTO_SOURCES.index("astronaut")] - small).mean() < 4.0


def test_random_photo_is_a_seeded_crop_of_a_bank_photo():
    a, b, c = (scenes.random_photo(s, 48).numpy() for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (48, 48, 3) and a.min() >= 0.0 and a.max() <= 1.0 and np.abs(a - c).mean() > 0.02
    # each crop keeps a photo's detail: far more pixel-to-pixel variation than the smooth synthetic walls
    photos = np.stack([scenes.random_photo(s, 64).numpy() for s in range(12)])
    walls = np.stack([scenes.random_background(s, 64, kind="noise").numpy() for s in range(12)])
    assert np.abs(np.diff(photos, axis=2)).mean() > 2 * np.abs(np.diff(walls, axis=2)).mean()


def test_random_color_value_range():
    light = np.stack([scenes.random_color(s).numpy() for s in range(40)])
    dark = np.stack([scenes.random_color(s, (0.05, 0.1)).numpy() for s in range(40)])
    assert light.max(-1).min() >= 0.55 - 1e-6 and dark.max(-1).max() <= 0.1 + 1e-6  # HSV value = max channel
    np.testing.assert_allclose(scenes.random_color(3, (0.55, 1.0)).numpy(), scenes.random_color(3).numpy())
    photo = np.stack([scenes.random_color(s, scenes.PHOTO_VALUE_RANGE).numpy() for s in range(200)]).max(-1)
    assert photo.min() < 0.2 and photo.max() > 0.9  # photo scenes have dark and light furniture
    with pytest.raises(ValueError, match="value_range"):
        scenes.random_color(0, (0.5, 1.5))


def test_photo_texture_keeps_the_colour_on_average():
    color = np.float32([0.6, 0.4, 0.3])
    texture = scenes.photo_texture(3, color, 64).numpy()
    assert texture.shape == (64, 64, 3) and texture.min() >= 0.0 and texture.max() <= 1.0
    np.testing.assert_allclose(texture.reshape(-1, 3).mean(0), color, atol=0.05)
    assert texture.std(axis=(0, 1)).min() > 0.01  # modulated, not flat
    np.testing.assert_allclose(texture[..., 0] / color[0], texture[..., 1] / color[1], atol=1e-5)  # one brightness


def test_photo_pair_differs_from_the_room_and_keeps_its_silhouette():
    chair = make_dataset("chair", 1, resolution=32, seed=0)[0]
    room, _ = views.make_pair(chair, [3, 4], image_size=64, scene="room")
    photo, grid = views.make_pair(chair, [3, 4], image_size=64, scene="photo")
    again, _ = views.make_pair(chair, [3, 4], image_size=64, scene="photo")
    np.testing.assert_array_equal(photo.numpy(), again.numpy())
    assert photo.shape == (64, 64, 3) and 0.0 <= photo.numpy().min() and photo.numpy().max() <= 1.0
    np.testing.assert_array_equal(grid.numpy(), chair.astype(np.float32))
    # same camera, crop and jitter as the room view, so the same framing (white padding) and object edges;
    # other wall and object pixels
    differences = []
    for seed in ([3, 4], [5, 6], [1, 2]):
        room, photo = (views.make_pair(chair, seed, image_size=64, scene=s)[0].numpy() for s in ("room", "photo"))
        np.testing.assert_array_equal(room.min(-1) >= 1.0, photo.min(-1) >= 1.0)
        edges = [np.abs(np.diff(x.mean(-1), axis=1)) > 0.1 for x in (room, photo)]
        assert (edges[0] & edges[1]).sum() > 0.5 * edges[0].sum()
        framed = room.min(-1) < 1.0
        differences.append(np.abs(room - photo)[framed].mean())
    assert np.mean(differences) > 0.02


def test_photo_jitter_is_seeded_and_stays_in_range():
    image = scenes.random_background(1, 32, kind="noise")
    a, b, c = (views.photo_jitter(s, image).numpy() for s in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3 and np.abs(a - image.numpy()).mean() > 1e-3
    assert a.shape == (32, 32, 3) and a.min() >= 0.0 and a.max() <= 1.0


def test_tight_crop_frames_the_silhouette_like_a_padded_photo_crop():
    image = np.full((40, 40, 3), 0.3, np.float32)
    image[:10] = 0.9  # outside the box: cropped away
    mask = np.zeros((40, 40), np.float32)
    mask[10:30, 15:25] = 1.0  # 20 rows x 10 columns
    out = views.tight_crop(0, image, mask, max_margin=0.0).numpy()
    # the 20 x 10 crop is padded to 20 x 20 with 5 white columns each side, then scaled x2
    np.testing.assert_allclose(out[:, :9], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, 31:], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, 14:26], 0.3, atol=1e-5)  # (bicubic rings near the edges)
    np.testing.assert_array_equal(views.tight_crop(0, image, np.zeros_like(mask)).numpy(), image)
