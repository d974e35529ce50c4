"""Voxel .npz loading (real ModelNet10), resampling and the tf.data pipeline."""

import numpy as np
import pytest

from gan3d_tf.data.pipeline import steps_per_epoch, training_dataset
from gan3d_tf.data.voxel_npz import MODELNET10_CLASSES, load_voxel_npz, resample


@pytest.mark.slow
def test_modelnet10_chairs(shared_data):
    s = load_voxel_npz(shared_data / "modelnet10_vox32.npz", "chair")
    assert s.classes == MODELNET10_CLASSES
    assert s.voxels.shape == (889, 32, 32, 32) and s.voxels.dtype == np.uint8
    assert (s.labels == MODELNET10_CLASSES.index("chair")).all()
    assert 0.02 < s.voxels.mean() < 0.05  # the data README: chairs 3.3 %


@pytest.mark.slow
def test_modelnet10_all_skips_and_counts_empty_grids(shared_data):
    s = load_voxel_npz(shared_data / "modelnet10_vox32.npz", "all")
    assert s.n_empty_skipped == 27  # the data README: 27 empty train grids
    assert len(s.voxels) == 3991 - 27
    assert s.voxels.reshape(len(s.voxels), -1).any(axis=1).all()


@pytest.mark.slow
def test_modelnet10_resampled_to_64(shared_data):
    s32 = load_voxel_npz(shared_data / "modelnet10_vox32.npz", "sofa")
    s64 = load_voxel_npz(shared_data / "modelnet10_vox32.npz", "sofa", resolution=64)
    assert s64.voxels.shape == (len(s32.voxels), 64, 64, 64)
    np.testing.assert_array_equal(resample(s64.voxels, 32), s32.voxels)


def test_downsampling_keeps_thin_parts():
    x = np.zeros((1, 8, 8, 8), np.uint8)
    x[0, 3, 3, :] = 1  # a one-voxel-thick leg
    y = resample(x, 4)
    assert y[0, 1, 1].all() and y.sum() == 4


def test_resample_rejects_non_integer_factor():
    with pytest.raises(ValueError, match="24"):
        resample(np.zeros((1, 32, 32, 32), np.uint8), 24)


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"X": np.zeros((2, 8, 8, 8)), "y": np.zeros(2, int)}, r"missing key\(s\) \['X_train', 'y_train'\]"),
        ({"X_train": np.zeros((2, 8, 8)), "y_train": np.zeros(2, int)}, r"shape \[N, R, R, R\], got \(2, 8, 8\)"),
        ({"X_train": np.zeros((2, 8, 8, 4)), "y_train": np.zeros(2, int)}, r"got \(2, 8, 8, 4\)"),
        ({"X_train": np.zeros((2, 8, 8, 8)), "y_train": np.zeros(3, int)}, r"y_train must have shape \[2\]"),
        (
            {"X_train": np.full((2, 8, 8, 8), 3.0), "y_train": np.zeros(2, int)},
            r"X_train\[0, 0, 0, 0\] = 3.0 is not an occupancy 0 or 1",
        ),
        ({"X_train": np.zeros((2, 8, 8, 8)), "y_train": np.zeros(2, int)}, "no non-empty train grids"),
    ],
)
def test_bad_npz_files_name_the_problem(tmp_path, arrays, message):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message) as e:
        load_voxel_npz(path, "all")
    assert "bad.npz" in str(e.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_voxel_npz(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz"):
        load_voxel_npz(tmp_path / "junk.npz")


@pytest.mark.slow
def test_unknown_category_lists_the_classes(shared_data):
    with pytest.raises(ValueError, match="unknown category 'spaceship'.*'chair'"):
        load_voxel_npz(shared_data / "modelnet10_vox32.npz", "spaceship")


def test_classes_key_is_used(tmp_path):
    x = np.zeros((3, 8, 8, 8), np.uint8)
    x[:, 2:4, 2:4, 0:3] = 1
    path = write_npz(tmp_path / "c.npz", X_train=x, y_train=np.array([0, 1, 1]), classes=np.array(["cup", "mug"]))
    s = load_voxel_npz(path, "mug")
    assert s.classes == ("cup", "mug") and len(s.voxels) == 2


def test_several_categories_joined_by_commas(tmp_path):
    x = np.zeros((5, 8, 8, 8), np.uint8)
    x[:, 2:4, 2:4, 0:3] = 1
    path = write_npz(
        tmp_path / "c.npz", X_train=x, y_train=np.array([0, 1, 2, 1, 0]), classes=np.array(["cup", "mug", "jar"])
    )
    s = load_voxel_npz(path, "jar,cup")
    assert s.labels.tolist() == [0, 2, 0]  # file order, original label ids
    with pytest.raises(ValueError, match="unknown category 'lid'.*'jar'"):
        load_voxel_npz(path, "cup,lid")
    with pytest.raises(ValueError, match="empty class name"):
        load_voxel_npz(path, "cup,,jar")
    with pytest.raises(ValueError, match="names a class twice"):
        load_voxel_npz(path, "cup,cup")


def test_pipeline_epochs_are_seeded_permutations():
    n, b = 10, 3
    x = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 2), np.uint8)
    ds = training_dataset(x, b, seed=5)
    batches = [bt.numpy()[:, 0, 0, 0].astype(int) for bt in ds.take(3 * steps_per_epoch(n, b))]
    epochs = [np.concatenate(batches[i * 3 : (i + 1) * 3]) for i in range(3)]
    for e in epochs:
        assert len(set(e)) == 9  # each shape at most once per epoch, partial batch dropped
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled every epoch
    # a pipeline started at epoch 1 replays exactly what the first one gave from epoch 1 on
    resumed = [bt.numpy()[:, 0, 0, 0].astype(int) for bt in training_dataset(x, b, seed=5, initial_epoch=1).take(6)]
    np.testing.assert_array_equal(np.concatenate(resumed), np.concatenate(epochs[1:]))
    other = [bt.numpy()[:, 0, 0, 0].astype(int) for bt in training_dataset(x, b, seed=6).take(3)]
    assert not np.array_equal(np.concatenate(other), epochs[0])


def test_pipeline_rejects_batch_larger_than_data():
    with pytest.raises(ValueError, match="batch_size 8"):
        training_dataset(np.zeros((4, 2, 2, 2), np.uint8), 8, seed=0)


def test_builtin_data_for_several_categories():
    from gan3d_tf.config import get_preset
    from gan3d_tf.training import load_training_data

    config = get_preset("smoke").replace(**{"data.category": "sofa,bed", "data.builtin_size": 2})
    data = load_training_data(config)
    assert data.classes == ("sofa", "bed") and data.labels.tolist() == [0, 0, 1, 1]
    assert data.voxels.shape == (4, 32, 32, 32)
