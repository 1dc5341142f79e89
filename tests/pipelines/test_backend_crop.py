"""Crop / rotation geometry of the pose backends: exact round trips and pixel agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fdpose.errors import ValidationError
from fdpose.pipelines.pose.base import as_pose_boxes, check_image, missing_poses
from fdpose.pipelines.pose.crop import (CropTransform, box_crop, crop_transform, rotation_matrix, upright_angle,
                                        wrap_angle)


@pytest.mark.parametrize("angle", [0.0, 37.5, 90.0, -90.0, 180.0, -163.0])
def test_round_trip_is_exact(rng: np.random.Generator, angle: float) -> None:
    tr = crop_transform((123.4, 87.9), side=211.0, angle_deg=angle, crop_size=256)
    pts = rng.uniform(-50, 500, size=(7, 16, 2))
    np.testing.assert_allclose(tr.to_image(tr.to_crop(pts)), pts, atol=1e-9)
    np.testing.assert_allclose(tr.to_crop(tr.to_image(pts)), pts, atol=1e-9)
    assert tr.scale == pytest.approx(256 / 211.0)


def test_centre_maps_to_crop_centre_and_angle_turns_content() -> None:
    tr = crop_transform((100.0, 50.0), side=100.0, angle_deg=90.0, crop_size=101)
    np.testing.assert_allclose(tr.to_crop(np.array([100.0, 50.0])), [50.0, 50.0], atol=1e-12)
    # 90 deg counter-clockwise on screen: a point to the right of the centre ends up above it.
    np.testing.assert_allclose(tr.to_crop(np.array([110.0, 50.0])), [50.0, 50.0 - 10.1], atol=1e-9)


def test_nan_points_stay_nan() -> None:
    tr = crop_transform((0, 0), 10, 30, 20)
    out = tr.to_image(np.array([[np.nan, np.nan], [1.0, 2.0]]))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


@pytest.mark.parametrize("angle", [0.0, 30.0, 180.0, -75.0])
def test_warp_agrees_with_point_map(angle: float) -> None:
    """A bright pixel lands in the crop exactly where to_crop says (pixel centres at integers)."""
    img = np.zeros((120, 160, 3), np.uint8)
    src = np.array([97.0, 41.0])
    img[int(src[1]), int(src[0])] = 255
    tr = crop_transform((80.0, 60.0), side=100.0, angle_deg=angle, crop_size=200)  # 2x zoom
    crop = tr.warp(img)
    assert crop.shape == (200, 200, 3)
    ys, xs = np.nonzero(crop[..., 0])
    weights = crop[ys, xs, 0].astype(float)
    centroid = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)])
    np.testing.assert_allclose(centroid, tr.to_crop(src), atol=0.35)


def test_warp_outside_is_border_value() -> None:
    img = np.full((10, 10, 3), 200, np.uint8)
    crop = crop_transform((5, 5), side=40, crop_size=40).warp(img, border_value=7)
    assert crop[0, 0].tolist() == [7, 7, 7] and crop[20, 20].tolist() == [200, 200, 200]


@pytest.mark.parametrize("axis, expected", [((0, -1), 0.0), ((0, 1), 180.0), ((1, 0), 90.0), ((-1, 0), -90.0),
                                            ((1, -1), 45.0)])
def test_upright_angle(axis: tuple[float, float], expected: float) -> None:
    a = upright_angle(axis)
    assert a == pytest.approx(expected)
    turned = rotation_matrix(a) @ np.asarray(axis, float)
    np.testing.assert_allclose(turned / np.linalg.norm(turned), [0.0, -1.0], atol=1e-12)


def test_upright_crop_makes_body_axis_vertical(rng: np.random.Generator) -> None:
    pelvis, thorax = np.array([60.0, 40.0]), np.array([30.0, 70.0])  # inverted, tilted diver
    tr = crop_transform(pelvis, 80, upright_angle(thorax - pelvis), 128)
    p, t = tr.to_crop(np.stack([pelvis, thorax]))
    assert p[0] == pytest.approx(t[0]) and t[1] < p[1]


def test_box_crop_side_and_min_side() -> None:
    tr = box_crop([10, 20, 50, 120], context=2.5, crop_size=250)  # longer side 100 -> 250 px square
    assert tr.scale == pytest.approx(1.0)
    np.testing.assert_allclose(tr.to_crop(np.array([30.0, 70.0])), [124.5, 124.5])
    tiny = box_crop([5, 5, 5, 5], context=2.5, crop_size=64, min_side=16)
    assert tiny.scale == pytest.approx(4.0)


def test_wrap_angle() -> None:
    assert [wrap_angle(a) for a in (0, 180, -180, 190, -190, 540, 359)] == [0, 180, 180, -170, 170, 180, -1]


def test_geometry_errors() -> None:
    with pytest.raises(ValidationError, match="positive"):
        crop_transform((0, 0), 0.0)
    with pytest.raises(ValidationError, match="non-zero"):
        upright_angle((0, 0))
    with pytest.raises(ValidationError, match="singular"):
        CropTransform(np.zeros((2, 3)), (4, 4))
    with pytest.raises(ValidationError, match=r"\(\.\.\., 2\)"):
        crop_transform((0, 0), 10).to_crop(np.zeros((3, 3)))
    assert math.isfinite(crop_transform((0, 0), 10).scale)


def test_pose_contract_helpers() -> None:
    boxes = as_pose_boxes([[30, 40, 10, 20, 0.9]])
    np.testing.assert_array_equal(boxes, [[10, 20, 30, 40]])
    assert as_pose_boxes([]).shape == (0, 4)
    with pytest.raises(ValidationError, match=r"boxes: expected \(N, 4\).*\(2, 3\)"):
        as_pose_boxes(np.zeros((2, 3)))
    with pytest.raises(ValidationError, match="non-finite"):
        as_pose_boxes([[0, 0, np.inf, 1]])
    miss = missing_poses(2)
    assert miss.shape == (2, 16, 3) and np.isnan(miss[..., :2]).all() and (miss[..., 2] == 0).all()
    with pytest.raises(ValidationError, match=r"image: expected an \(H, W, 3\) uint8 BGR image, got shape \(4, 4\)"):
        check_image(np.zeros((4, 4), np.uint8))
