"""benchmarks/demo_aqa.py: the oracle pose sets it compares (all joints vs the visible ones) and its
entry-angle probe, on a 3-clip synth world (the training runs are the demo's, tested in test_demo.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np
import pytest

from fdpose.sampling import NUM_SAMPLED_FRAMES, aligned_indices, pred_comp_path, read_pred_comp
from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world



@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "world"
    generate_world(SynthConfig(videos=3, seed=0, frames=40, write_video=False, dive_numbers=("107b",)), out)
    return out


def test_oracle_pose_sets_keep_or_drop_the_hidden_joints(world: Path, tmp_path: Path, benchmark_module: Callable[[str], ModuleType]) -> None:
    bench = benchmark_module("demo_aqa")
    full = bench.oracle_poses(world, tmp_path / "full", visible_only=False)
    seen = bench.oracle_poses(world, tmp_path / "seen", visible_only=True)
    hidden_total = 0
    for clip in json.loads((world / "world.json").read_text())["clips"]:
        doc = json.loads((world / "gt" / clip["match"] / f"{clip['idx']}.json").read_text())
        joints = np.array([f["diver"]["joints"] for f in doc["frames"]], float)  # (T, 16, 3)
        sampled = joints[aligned_indices(len(joints), None, NUM_SAMPLED_FRAMES)]  # (96, 16, 3)
        a = read_pred_comp(pred_comp_path(full, clip["match"], clip["idx"]), n=NUM_SAMPLED_FRAMES)
        b = read_pred_comp(pred_comp_path(seen, clip["match"], clip["idx"]), n=NUM_SAMPLED_FRAMES)
        assert a.shape == b.shape == (NUM_SAMPLED_FRAMES, 16, 3) and np.isfinite(a).all() and np.isfinite(b).all()
        visible = sampled[..., 2] == 2
        # the full oracle keeps every coordinate, hidden ones included
        np.testing.assert_allclose(a[..., :2], sampled[..., :2], atol=1e-3)
        # the visible-only set keeps visible joints exactly and gives hidden ones confidence 0
        np.testing.assert_allclose(b[visible][:, :2], sampled[visible][:, :2], atol=1e-3)
        assert (b[visible][:, 2] == 1.0).all() and (b[~visible][:, 2] == 0.0).all()
        hidden_total += int((~visible).sum())
    assert hidden_total > 0  # the entry hides joints under water: the two sets differ


def test_entry_angle_probe_reports_four_frames_around_water_contact(world: Path, benchmark_module: Callable[[str], ModuleType]) -> None:
    rows = benchmark_module("demo_aqa").entry_angle_probe(world)
    assert [r["frame"] for r in rows] == ["t1-2", "t1-1", "t1+0", "t1+1"]
    for r in rows:
        assert 0.0 <= r["pelvis_and_neck_visible"] <= 1.0
        assert -1.0 <= r["srcc_angle_vs_abs_rotation_error"] <= 1.0


def test_score_shares_show_the_form_faults_weight(benchmark_module: Callable[[str], ModuleType]) -> None:
    bench = benchmark_module("demo_aqa")
    plain, form = bench.score_shares(False, dives=800), bench.score_shares(True, dives=800)
    for name in ("leg_separation", "knee_bend"):  # twice the deduction, more tied to the score
        assert form["penalties"][name]["mean"] > 1.6 * plain["penalties"][name]["mean"]
        assert form["penalties"][name]["corr_with_score"] < plain["penalties"][name]["corr_with_score"] < 0
    assert form["r2_in_flight_faults"] > plain["r2_in_flight_faults"] + 0.05
    # the other deductions are drawn the same way (same means within sampling noise)
    for name in ("rotation_error", "splash", "takeoff_height"):
        assert abs(form["penalties"][name]["mean"] - plain["penalties"][name]["mean"]) < 0.1
    # seeded (compared as JSON: a penalty that never occurs in 50 dives has a NaN correlation)
    assert json.dumps(bench.score_shares(True, dives=50)) == json.dumps(bench.score_shares(True, dives=50))


def test_mixed_poses_take_training_clips_from_one_source_and_test_clips_from_the_other(
        tmp_path: Path, benchmark_module: Callable[[str], ModuleType]) -> None:
    from fdpose.sampling import write_pred_comp

    bench = benchmark_module("demo_aqa")
    train, test = [("M", 1), ("M", 2)], [("M", 3), ("N", 1)]
    rng = np.random.default_rng(0)
    sources = {}
    for name in ("a", "b"):
        sources[name] = {}
        for key in train + test:
            rows = rng.normal(size=(NUM_SAMPLED_FRAMES, 16, 3)).astype(np.float32)
            write_pred_comp(pred_comp_path(tmp_path / name, *key), rows, n=NUM_SAMPLED_FRAMES)
            sources[name][key] = rows
    dst = tmp_path / "mixed"
    (dst / "M").mkdir(parents=True)
    (dst / "M" / "stale.npz").write_bytes(b"x")  # replaced, not merged into
    bench.mixed_poses(train, test, tmp_path / "a", tmp_path / "b", dst)
    for key in train + test:
        want = sources["a" if key in train else "b"][key]
        np.testing.assert_array_equal(read_pred_comp(pred_comp_path(dst, *key), n=NUM_SAMPLED_FRAMES), want)
    assert not (dst / "M" / "stale.npz").exists()


def test_leg_angles_measure_separation_and_knee_bend(benchmark_module: Callable[[str], ModuleType]) -> None:
    bench = benchmark_module("demo_aqa")
    pose = np.zeros((2, 16, 3))
    pose[:, 2, :2], pose[:, 3, :2] = (-1.0, 0.0), (1.0, 0.0)  # r_hip, l_hip: their midpoint is the origin
    # row 0: straight legs (knees halfway hip -> ankle), ankles 10 degrees either side of straight down
    a = np.radians(10.0)
    pose[0, 0, :2], pose[0, 5, :2] = (-4 * np.sin(a), 4 * np.cos(a)), (4 * np.sin(a), 4 * np.cos(a))
    pose[0, 1, :2] = (pose[0, 2, :2] + pose[0, 0, :2]) / 2
    pose[0, 4, :2] = (pose[0, 3, :2] + pose[0, 5, :2]) / 2
    # row 1: both knees bent at a right angle
    pose[1, 1, :2], pose[1, 0, :2] = (-1.0, 2.0), (1.0, 2.0)  # r_knee, r_ankle
    pose[1, 4, :2], pose[1, 5, :2] = (1.0, 2.0), (3.0, 2.0)  # l_knee, l_ankle
    sep, bend = bench.leg_angles(pose)
    assert sep.shape == bend.shape == (2,)
    np.testing.assert_allclose(sep[0], 20.0, atol=1e-6)
    np.testing.assert_allclose(bend, [0.0, 90.0], atol=1e-4)
    np.testing.assert_allclose(sep[1], np.degrees(np.arccos(7 / np.sqrt(5 * 13))), atol=1e-6)
