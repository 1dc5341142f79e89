import numpy as np
import pytest

from fdpose.errors import FdposeError, ValidationError
from fdpose.records import JointSource, PersonBox, Pose


def test_box_normalises_corners_and_geometry():
    b = PersonBox([30, 40, 10, 20], 0.7)
    assert b.xyxy.tolist() == [10, 20, 30, 40]
    assert b.width == 20 and b.height == 20 and b.area == 400
    assert b.center.tolist() == [20, 30]
    e = b.enlarged(2.0)
    assert e.xyxy.tolist() == [0, 10, 40, 50] and e.score == pytest.approx(0.7)
    assert PersonBox.from_list(b.to_list()).xyxy.tolist() == b.xyxy.tolist()


@pytest.mark.parametrize("bad", [[1, 2, 3], [0, 0, np.nan, 1], [[1, 2], [3]]])
def test_box_rejects_bad_input(bad):
    with pytest.raises((ValidationError, ValueError)):
        PersonBox(bad)


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
