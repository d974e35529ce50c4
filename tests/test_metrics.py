"""mean_pairwise_iou against a hand computation."""

import numpy as np
import pytest

from gan3d_tf.metrics.iou import mean_pairwise_iou


def test_mean_pairwise_iou_by_hand():
    v = np.zeros((3, 4, 4, 4), np.float32)
    v[0, 0, 0, :2] = 1  # 2 voxels
    v[1, 0, 0, :4] = 1  # 4 voxels, contains shape 0
    v[2, 3, 3, 3] = 0.9  # 1 voxel, disjoint
    # pairs: (0,1) 2/4, (0,2) 0, (1,2) 0
    assert mean_pairwise_iou(v) == pytest.approx((0.5 + 0 + 0) / 3)
    assert mean_pairwise_iou(np.repeat(v[:1], 5, axis=0)) == 1.0
    assert mean_pairwise_iou(v, threshold=0.95) == pytest.approx(1 / 6)  # shape 2 now empty: its pairs stay 0
    assert mean_pairwise_iou(np.zeros((2, 4, 4, 4))) == 1.0  # two empty grids are identical


def test_needs_two_grids():
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise_iou(np.zeros((1, 2, 2, 2)))
