"""A short real training run on the built-in chairs learns the data's occupancy.

An untrained generator outputs sigmoid(~0): about half of all voxels are
occupied, far outside the chairs' range. After ~2 minutes of training on 2
CPU cores the samples must be neither empty nor solid: every sample's
occupancy lies inside the 1st-99th percentile range of the training chairs,
and the mean is within a factor of 2 of theirs.
"""

import numpy as np

from gan3d_tf.config import get_preset
from gan3d_tf.evaluation.sampling import generate
from gan3d_tf import training


def occupancy_check(voxels, data):
    data_occ = data.reshape(len(data), -1).mean(axis=1)
    lo, hi = np.percentile(data_occ, [1, 99])
    occ = (voxels > 0.5).reshape(len(voxels), -1).mean(axis=1)
    inside = bool(((occ >= lo) & (occ <= hi)).all())
    mean_ok = 0.5 * data_occ.mean() <= occ.mean() <= 2 * data_occ.mean()
    return inside and mean_ok, occ, (lo, hi, data_occ.mean())


def test_training_learns_occupancy_of_builtin_chairs(tmp_path):
    config = get_preset("smoke").replace(**{
        "data.category": "chair", "data.builtin_size": 256, "train.epochs": 12, "train.sample_every_epochs": 12,
    }).validate()
    data = training.load_training_data(config)

    untrained = training.open_run(config, tmp_path / "untrained").gan.generator
    ok, occ, ref = occupancy_check(generate(untrained, 32, seed=1)[1], data.voxels)
    assert not ok, f"the check must reject an untrained generator (occupancy {occ.mean():.3f}, data {ref})"

    run = training.train(config, tmp_path / "run", data=data, verbose=0)
    ok, occ, ref = occupancy_check(generate(run.gan.generator, 32, seed=1)[1], data.voxels)
    assert ok, f"sample occupancies {np.round(occ, 3)} vs data (p1, p99, mean) {ref}"
