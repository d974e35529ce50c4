"""The recipe option min_voxels: a floor on each sample's filled voxels, acting on G's logits."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_config
from gan3d_tf import training
from gan3d_tf.models.losses import occupancy_floor


def test_floor_is_zero_with_enough_filled_voxels_and_pulls_saturated_ones():
    logits = np.full((2, 4, 4, 4), -30.0, np.float32)
    logits[0, 0, 0, :3] = 2.0  # sample 0: three filled voxels
    logits = tf.constant(logits)
    assert float(occupancy_floor(logits, 3)) == pytest.approx(30.0 / 2)  # sample 1's three largest are all -30
    logits0 = logits[:1]
    assert float(occupancy_floor(logits0, 3)) == 0.0
    assert float(occupancy_floor(logits0, 5)) == pytest.approx(2 * 30.0 / 5)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        floor = occupancy_floor(logits, 3)
        through_sigmoid = -tf.reduce_sum(tf.sigmoid(logits))  # what a loss on G's probabilities would see
    g = tape.gradient(floor, logits).numpy()
    assert (g[1] != 0).sum() == 3 and g[1].min() == pytest.approx(-1 / 6)  # 1 / (batch k) on each of the three
    assert not g[0].any()  # the sample with enough filled voxels is not touched
    assert np.abs(tape.gradient(through_sigmoid, logits).numpy()[1]).max() < 1e-12  # saturated: no gradient there


def test_a_run_with_min_voxels_logs_the_floor_and_refuses_a_negative_one(tmp_path):
    config = tiny_config(**{"train.min_voxels": 20, "train.epochs": 1, "model.g_output_bias": -8.0})
    training.train(config, tmp_path / "run", verbose=0)
    logs = tmp_path / "run" / "logs" / "train"
    tags = set()
    for path in logs.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags |= {v.tag for v in event.summary.value}
    assert any("occupancy_floor" in t for t in tags), tags
    with pytest.raises(ValueError, match="min_voxels"):
        tiny_config(**{"train.min_voxels": -1})
