import numpy as np
import pytest

from fdpose.metrics.boxes import diags
from fdpose.metrics.pose import head_size, pck_bbox, pckh


def _poses(rng, n=10):
    gt = rng.uniform(50, 200, (n, 16, 2))
    gt[:, 9] = gt[:, 8] + np.array([0.0, -20.0])  # head size exactly 20 px
    return gt


def test_head_size_proxy(rng):
    gt = _poses(rng)
    assert np.allclose(head_size(gt), 20.0)


def test_pckh_counts_within_half_head(rng):
    gt = _poses(rng)
    pred = gt.copy()
    pred[:, 0, 0] += 9.9  # within 10 px -> correct
    pred[:, 1, 0] += 10.1  # beyond -> wrong
    pred[:5, 2] = np.nan  # missing prediction -> wrong
    vis = np.ones((10, 16), bool)
    vis[:, 15] = False  # not evaluated
    r = pckh(pred, gt, vis, 0.5)
    assert r.per_joint[0] == 1.0 and r.per_joint[1] == 0.0 and r.per_joint[2] == 0.5
    assert np.isnan(r.per_joint[15]) and r.count[15] == 0
    assert r.mean == pytest.approx((150 - 10 - 5) / 150)  # 15 evaluated joints x 10 poses
    assert pckh(pred, gt, vis, 0.1).mean < r.mean
    d = r.to_dict()
    assert d["per_joint"]["l_wrist"] is None and d["count"]["r_ankle"] == 10


def test_pck_bbox_uses_diagonal(rng):
    gt = _poses(rng, 2)
    boxes = np.array([[0, 0, 30, 40], [0, 0, 60, 80]], float)
    assert diags(boxes, floor=0.0).tolist() == [50.0, 100.0]
    pred = gt + np.array([15.0, 0.0])  # 15 px: beyond 0.2*50=10, within 0.2*100=20
    r = pck_bbox(pred, gt, np.ones((2, 16), bool), boxes, 0.2)
    assert r.mean == pytest.approx(0.5)


def test_pck_bbox_skips_a_degenerate_box(rng):
    # the tracker's diagonals are floored at 1 px; PCK's are not, so a point box is not scored
    gt = _poses(rng, 2)
    boxes = np.array([[5, 5, 5, 5], [0, 0, 60, 80]], float)
    assert diags(boxes).tolist() == [1.0, 100.0]
    r = pck_bbox(gt + 0.5, gt, np.ones((2, 16), bool), boxes, 0.2)
    assert r.count.tolist() == [1] * 16 and r.mean == 1.0


def test_pck_shape_mismatch():
    with pytest.raises(ValueError, match="16, 2"):
        pckh(np.zeros((2, 15, 2)), np.zeros((2, 15, 2)), np.ones((2, 15), bool))
