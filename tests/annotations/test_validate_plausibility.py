"""Plausibility warnings: left/right swaps across frames, shoulders crossing hips, joints on one spot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.skeleton import FLIP_PAIRS, JOINT_INDEX, JOINT_NAMES, flip_permutation
from fdpose.annotations.plausibility import near_duplicates, shoulder_hip_angle, side_swaps
from fdpose.annotations.problems import Severity
from fdpose.annotations.validate import ValidateConfig, validate_file, validate_paths

from test_validate import BASE_POSE, base_xy, good_obj, write_doc

RK, LK = JOINT_INDEX["r_knee"], JOINT_INDEX["l_knee"]


def somersault(n: int, deg_per_frame: float, seed: int, noise: float = 1.5, twist_period: float | None = None) -> np.ndarray:
    """(n, 16, 2) a diver turning in the image plane (plus an optional twist about the body axis)
    and drifting, with Gaussian click noise."""
    rng = np.random.default_rng(seed)
    base = base_xy()
    c = base.mean(axis=0)
    out = []
    for t in range(n):
        p = base - c
        if twist_period:
            p = p * [np.cos(2 * np.pi * t / twist_period), 1.0]  # the body's width seen from the front
        th = np.deg2rad(deg_per_frame * t)
        rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        out.append(p @ rot.T + c + [3.0 * t, 2.0 * t] + rng.normal(0.0, noise, p.shape))
    return np.array(out)


def swap(xy: np.ndarray, frame: int, pair: tuple[int, int]) -> np.ndarray:
    out = xy.copy()
    r, l = pair
    out[frame, [r, l]] = out[frame, [l, r]]
    return out


@pytest.mark.parametrize("deg", [0.0, 15.0, 40.0, 60.0])
def test_no_swap_on_normal_sequences(deg):
    for seed in range(20):
        assert side_swaps(somersault(10, deg, seed)) == []


@pytest.mark.parametrize("period", [24.0, 12.0, 8.0])
def test_no_swap_on_twisting_sequences(period):
    # a half twist turns the left/right vector through zero: not a labelling swap
    for seed in range(20):
        assert side_swaps(somersault(12, 20.0, seed, twist_period=period)) == []


@pytest.mark.parametrize("deg", [0.0, 40.0])
def test_single_swapped_frame_is_found(deg):
    for seed in range(10):
        found = side_swaps(swap(somersault(10, deg, seed), 4, (RK, LK)))
        assert [(f.frame, f.pair) for f in found] == [(4, (RK, LK))]
        sw = found[0].switch
        assert sw.frame in (4, 5) and sw.swapped < 0.5 * sw.same


def test_run_of_swapped_frames_is_the_minority():
    xy = somersault(9, 30.0, 3)
    for t in (2, 3, 4):
        xy = swap(xy, t, (JOINT_INDEX["r_wrist"], JOINT_INDEX["l_wrist"]))
    found = side_swaps(xy)
    assert [f.frame for f in found] == [2, 3, 4]
    assert {f.switch.frame for f in found} == {2}  # the switch into the run bounds it


def test_whole_body_mirror_labelling_flags_every_pair():
    xy = somersault(8, 25.0, 5)
    xy[5] = xy[5][flip_permutation()]  # annotator took the diver's facing the wrong way
    found = side_swaps(xy)
    assert {f.frame for f in found} == {5}
    assert {f.pair for f in found} == set(FLIP_PAIRS)


def test_absent_joint_breaks_the_chain():
    xy = swap(somersault(10, 20.0, 1), 4, (RK, LK))
    xy[4, LK] = np.nan  # the swapped frame has only one knee: nothing to compare
    assert side_swaps(xy) == []


def test_shoulder_hip_angle():
    xy = base_xy()
    assert shoulder_hip_angle(xy) == pytest.approx(0.0, abs=1e-9)
    crossed = xy.copy()
    rs, ls = JOINT_INDEX["r_shoulder"], JOINT_INDEX["l_shoulder"]
    crossed[[rs, ls]] = crossed[[ls, rs]]
    assert shoulder_hip_angle(crossed) == pytest.approx(180.0)
    side_on = xy.copy()
    side_on[ls] = side_on[rs] + [2.0, 0.0]  # foreshortened: not judged
    assert shoulder_hip_angle(side_on) is None
    missing = xy.copy()
    missing[ls] = np.nan
    assert shoulder_hip_angle(missing) is None


def test_near_duplicates():
    xy = base_xy()
    xy[JOINT_INDEX["l_wrist"]] = xy[JOINT_INDEX["l_knee"]] + [0.6, 0.8]
    order = np.arange(16)
    assert near_duplicates(xy, order, 1.5) == [(JOINT_INDEX["l_knee"], JOINT_INDEX["l_wrist"], pytest.approx(1.0))]
    assert near_duplicates(xy, order, 0.5) == []


# ----------------------------------------------------------------------------------------- via files


def write_sequence(folder: Path, xy: np.ndarray) -> list[Path]:
    paths = []
    for t in range(xy.shape[0]):
        lo, hi = xy[t].min(axis=0) - 8, xy[t].max(axis=0) + 8
        obj = good_obj(image=f"{t:05d}.jpg", xy=xy[t], box=[[float(lo[0]), float(lo[1])], [float(hi[0]), float(hi[1])]])
        paths.append(write_doc(folder, obj, f"{t:05d}.json"))
    return paths


def test_swap_warning_through_validate(tmp_path):
    xy = somersault(8, 30.0, 2)
    write_sequence(tmp_path / "clean", xy)
    write_sequence(tmp_path / "swapped", swap(xy, 3, (RK, LK)))
    report = validate_paths([tmp_path])
    assert report.errors == 0
    warnings = [p for p in report.problems if p.code == "lr-swap"]
    assert len(warnings) == 1
    w = warnings[0]
    assert w.path == str(tmp_path / "swapped" / "00003.json")
    assert w.severity is Severity.WARNING and w.label == "r_knee" and w.shape_index == 1 + RK
    assert "r_knee/l_knee look swapped relative to most frames of this sequence" in w.message
    assert "sides switch between 00002.json and 00003.json" in w.message
    assert validate_paths([tmp_path], ValidateConfig(check_sequences=False)).warnings == 0


def test_sequence_order_is_natural_and_per_folder(tmp_path):
    # frames named 9, 10, 11: a plain string sort would put 10 before 9
    xy = somersault(12, 30.0, 4)
    for t in range(12):
        lo, hi = xy[t].min(axis=0) - 8, xy[t].max(axis=0) + 8
        write_doc(tmp_path, good_obj(image=f"f{t}.jpg", xy=xy[t], box=[lo.tolist(), hi.tolist()]), f"f{t}.json")
    assert validate_paths([tmp_path]).problems == []


def test_crossing_and_duplicate_warnings_in_a_file(tmp_path):
    xy = base_xy()
    rs, ls = JOINT_INDEX["r_shoulder"], JOINT_INDEX["l_shoulder"]
    xy[[rs, ls]] = xy[[ls, rs]]
    xy[JOINT_INDEX["l_wrist"]] = xy[JOINT_INDEX["l_knee"]]
    fc = validate_file(write_doc(tmp_path, good_obj(xy=xy)))
    got = {(p.code, p.shape_index, p.label): p for p in fc.problems}
    assert all(p.severity is Severity.WARNING for p in fc.problems)
    cross = got[("lr-cross", 1 + rs, "r_shoulder")]
    assert "r_shoulder->l_shoulder points 180 deg away from r_hip->l_hip" in cross.message
    dup = got[("duplicate-point", 1 + JOINT_INDEX["l_wrist"], "l_wrist")]
    assert f"same position as shape[{1 + JOINT_INDEX['l_knee']}] l_knee" in dup.message
    assert len(fc.problems) == 2


def test_unknown_shape_flag_is_a_warning(tmp_path):
    obj = good_obj()
    obj["shapes"][3]["flags"] = {"occluded": False, "blurry": True}
    fc = validate_file(write_doc(tmp_path, obj))
    assert [(p.code, p.severity, p.message) for p in fc.problems] == [
        ("flag-unknown", Severity.WARNING, "unknown shape flag(s) blurry (only 'occluded' is used)")]


def test_missing_size_keys_warn(tmp_path):
    obj = good_obj()
    del obj["imageHeight"]
    fc = validate_file(write_doc(tmp_path, obj))
    assert [(p.code, p.severity) for p in fc.problems] == [("image-size-missing", Severity.WARNING)]


def test_base_pose_constant_is_consistent():
    assert set(BASE_POSE) == set(JOINT_NAMES)
    assert json.dumps(good_obj())  # serialisable


def test_near_duplicates_ignore_side_on_pairs_and_bone_ends():
    xy = base_xy()
    xy[JOINT_INDEX["l_knee"]] = xy[JOINT_INDEX["r_knee"]]  # side-on: both knees on one spot
    xy[JOINT_INDEX["r_shoulder"]] = xy[JOINT_INDEX["thorax"]] + [0.5, 0.0]  # bone pointing at the camera
    assert near_duplicates(xy, np.arange(16), 1.5) == []
    xy[JOINT_INDEX["head_top"]] = xy[JOINT_INDEX["l_knee"]]  # not anatomically adjacent: a labelling slip
    assert near_duplicates(xy, np.arange(16), 1.5) == [(JOINT_INDEX["r_knee"], JOINT_INDEX["head_top"], 0.0),
                                                      (JOINT_INDEX["l_knee"], JOINT_INDEX["head_top"], 0.0)]
