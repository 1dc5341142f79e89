import numpy as np
import pytest

from fdpose.errors import FdposeError, ValidationError
from fdpose.records import Boxes, JointSource, Pose


def test_pose_shapes_sources_and_roundtrip(rng):
    kp = rng.uniform(0, 100, (16, 3))
    kp[3, :2] = np.nan
    src = [JointSource.ESTIMATED.value] * 16
    src[3] = JointSource.MISSING.value
    src[4] = "interpolated"
    p = Pose(kp, src)
    assert p.xy.shape == (16, 2) and p.confidence.shape == (16,)
    assert p.present().sum() == 15 and not p.present()[3]
    q = Pose.from_dict(p.to_dict())
    assert np.allclose(q.keypoints, p.keypoints, equal_nan=True)
    assert list(q.source) == list(p.source)


def test_pose_accepts_xy_only_and_rejects_wrong_shape():
    assert Pose(np.zeros((16, 2))).confidence.tolist() == [1.0] * 16
    with pytest.raises(ValidationError, match=r"\(16, 3\)"):
        Pose(np.zeros((17, 3)))
    with pytest.raises(ValueError):
        Pose(np.zeros((16, 3)), ["nonsense"] * 16)


def test_error_message_is_one_line_with_path_and_location():
    err = ValidationError("bad\nthing   here", "a/b.json", "shape[3] r_knee")
    assert str(err) == "a/b.json: shape[3] r_knee: bad thing here"
    assert isinstance(err, FdposeError) and err.exit_code == 2


def test_boxes_validates_shapes_values_and_corner_order():
    b = Boxes(np.array([[0, 0, 10, 20], [5, 5, 6, 8]]), np.array([0.9, 0.4]))
    assert len(b) == 2 and b.xyxy.dtype == np.float64 and not b.xyxy.flags.writeable
    with pytest.raises(ValidationError, match=r"\(K, 4\)"):
        Boxes(np.zeros((2, 5)), np.zeros(2))
    with pytest.raises(ValidationError, match="one score per box"):
        Boxes(np.zeros((2, 4)), np.zeros(3))
    with pytest.raises(ValidationError, match="box 1 has non-finite"):
        Boxes(np.array([[0, 0, 1, 1], [0, 0, np.inf, 1]]), np.ones(2))
    with pytest.raises(ValidationError, match=r"box 0 has x1 > x2"):
        Boxes(np.array([[5, 0, 1, 1]]), np.ones(1))
    with pytest.raises(ValidationError, match="non-finite"):
        Boxes(np.zeros((1, 4)), np.array([np.nan]))


def test_boxes_empty_and_constructors():
    e = Boxes.empty()
    assert len(e) == 0 and e.xyxy.shape == (0, 4) and e.score.shape == (0,) and e.rows().shape == (0, 5)
    assert Boxes([], []) == e and Boxes.from_rows([]) == e and Boxes.concat([]) == e
    x = Boxes.from_xywh([[10, 20, 30, 40]], [0.5])
    assert x.xyxy.tolist() == [[10, 20, 40, 60]] and x.score.tolist() == [0.5]
    assert x.xywh().tolist() == [[10, 20, 30, 40]]
    assert Boxes.from_xywh([[1, 2, 3, 4]]).score.tolist() == [1.0]
    with pytest.raises(ValidationError, match="w, h >= 0"):
        Boxes.from_xywh([[0, 0, -1, 4]])
    r = Boxes.from_rows([[5, 6, 1, 2, 0.3]])  # corners from any order are sorted
    assert r.rows().tolist() == [[1, 2, 5, 6, 0.3]]
    assert Boxes.from_rows([[1, 2, 5, 6]]).score.tolist() == [1.0]
    assert Boxes.from_rows(r) is r
    with pytest.raises(ValidationError, match=r"frame 3: expected \(K, 5\).*\(1, 3\)"):
        Boxes.from_rows([[1, 2, 3]], "frame 3")
    with pytest.raises(ValidationError, match="frame 3: non-finite"):
        Boxes.from_rows([[0, 0, np.inf, 1, 1]], "frame 3")
    both = Boxes.concat([x, r])
    assert both.rows().tolist() == [[10, 20, 40, 60, 0.5], [1, 2, 5, 6, 0.3]]


def test_boxes_geometry_iou_and_indexing():
    b = Boxes(np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 104, 110]]), np.array([0.9, 0.2, 0.6]))
    assert b.areas.tolist() == [100, 100, 40]
    assert b.centers.tolist() == [[5, 5], [10, 5], [102, 105]]
    assert b.widths.tolist() == [10, 10, 4] and b.heights.tolist() == [10, 10, 10]
    m = b.iou(b[[0, 2]])
    assert m.shape == (3, 2)
    np.testing.assert_allclose(m, [[1, 0], [50 / 150, 0], [0, 1]])
    assert b.iou(Boxes.empty()).shape == (3, 0) and Boxes.empty().iou(b).shape == (0, 3)
    assert b[1].rows().tolist() == [[5, 0, 15, 10, 0.2]]
    assert b[1:].score.tolist() == [0.2, 0.6]
    assert b.filter(np.array([True, False, True])).score.tolist() == [0.9, 0.6]
    assert b.above(0.5).score.tolist() == [0.9, 0.6]
    np.testing.assert_array_equal(np.asarray(b), b.rows())
    assert b == Boxes(b.xyxy.copy(), b.score.copy()) and b != b[:2]
