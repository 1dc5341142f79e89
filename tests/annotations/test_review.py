"""annotations/review.py and ``annotate review``: planted disagreements between two annotators."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.errors import ConfigError
from fdpose.records import Boxes
from fdpose.skeleton import JOINT_INDEX, flip_permutation
from fdpose.annotations.dataset import REVIEW_REPORT_NAME, load_labelme_folder
from fdpose.annotations.labelme import read_labelme
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE, ManualLabel
from fdpose.annotations.review import PROVENANCE_KEY, ReviewConfig, box_iou, compare_frames, review_folders, write_merge

from cli_group import annotate_group
from label_factory import random_label, write_frame

IDS = ["01/clip_a/00000", "01/clip_a/00001", "01/clip_a/00002", "02/00000", "02/00001", "02/00002"]
SWAPPED, MOVED, MISSING = "01/clip_a/00002", "02/00000", "02/00002"
PELVIS, R_WRIST = JOINT_INDEX["pelvis"], JOINT_INDEX["r_wrist"]


def _head(lab: ManualLabel) -> float:
    return float(np.linalg.norm(lab.xy[JOINT_INDEX["head_top"]] - lab.xy[JOINT_INDEX["upper_neck"]]))


def make_pair(root: Path, seed: int = 0) -> dict[str, tuple[ManualLabel, ManualLabel]]:
    """Two annotators' folders ``root/first`` and ``root/second`` with planted differences."""
    rng = np.random.default_rng(seed)
    pairs: dict[str, tuple[ManualLabel, ManualLabel]] = {}
    for fid in IDS:
        a = random_label(rng, absent=0, occluded=1)
        b = copy.deepcopy(a)
        b.xy = a.xy + rng.uniform(-0.03, 0.03, a.xy.shape) * _head(a)  # honest small disagreement
        b.box = Boxes.from_rows(a.box.xyxy[0] + rng.uniform(-1, 1, 4))
        if fid == SWAPPED:
            b.xy, b.visibility = b.xy[flip_permutation()], b.visibility[flip_permutation()]
        if fid == MOVED:
            b.xy[PELVIS] = a.xy[PELVIS] + [2.0 * _head(a), 0.0]
        if fid == "02/00001":  # visibility disagreement only: reported, not flagged
            j = int(np.flatnonzero(a.visibility == VIS_VISIBLE)[0])
            b.visibility[j] = VIS_OCCLUDED
        if fid == "01/clip_a/00000":  # first forgot the right wrist, second added it
            a.visibility[R_WRIST], a.xy[R_WRIST] = VIS_ABSENT, np.nan
        if fid == "01/clip_a/00001":  # second dropped the right wrist
            b.visibility[R_WRIST], b.xy[R_WRIST] = VIS_ABSENT, np.nan
        write_frame(root / "first", f"{fid}.json", a)
        if fid != MISSING:
            write_frame(root / "second", f"{fid}.json", b)
        pairs[fid] = (a, b)
    return pairs


def test_review_finds_exactly_the_planted_problems(tmp_path: Path) -> None:
    pairs = make_pair(tmp_path)
    report, _, _ = review_folders(tmp_path / "first", tmp_path / "second")
    flagged = {f.id: f for f in report.flagged}
    assert sorted(flagged) == sorted([SWAPPED, MOVED, MISSING])
    swap = flagged[SWAPPED]
    assert len(swap.swapped_pairs) >= 4 and swap.reasons == ["left/right swap: " + ", ".join(swap.swapped_pairs)]
    assert len(swap.beyond_threshold) >= 8  # the swapped joints are far apart, but the swap explains them
    moved = flagged[MOVED]
    assert moved.beyond_threshold == ["pelvis"] and not moved.swapped_pairs
    assert moved.distance[PELVIS] == pytest.approx(2.0 * _head(pairs[MOVED][0]) / moved.head_size, abs=1e-9)
    assert moved.distance[PELVIS] == pytest.approx(2.0, abs=0.1)
    assert flagged[MISSING].status == "first_only" and flagged[MISSING].reasons == ["missing counterpart: no second annotation"]
    by_id = {f.id: f for f in report.frames}
    assert len(by_id["02/00001"].visibility_mismatch) == 1 and not by_id["02/00001"].needs_review
    assert by_id["01/clip_a/00000"].only_second == ["r_wrist"]
    assert by_id["01/clip_a/00001"].only_first == ["r_wrist"]
    # Head size: mean over both annotators of |head_top - upper_neck|.
    a, b = pairs["02/00001"]
    assert by_id["02/00001"].head_size == pytest.approx((_head(a) + _head(b)) / 2)
    assert by_id["02/00001"].head_size_source == "head"
    s = report.summary()
    assert (s["frames"], s["matched"], s["first_only"], s["needs_review"], s["swapped_frames"]) == (6, 5, 1, 3, 1)
    assert s["mean_box_iou"] > 0.95
    # Agreement: 16 joints x 5 frames minus the 2 one-sided wrists; the swapped frame's and the moved joint fail.
    assert 0.7 < report.mean_agreement < 0.95
    assert report.joint_agreement["head_top"] == 1.0


def test_box_iou_and_head_fallback() -> None:
    assert box_iou(np.array([0, 0, 10, 10.0]), np.array([5, 0, 15, 10.0])) == pytest.approx(1 / 3)
    assert box_iou(np.array([0, 0, 1, 1.0]), np.array([2, 2, 3, 3.0])) == 0.0
    rng = np.random.default_rng(1)
    a = random_label(rng)
    b = copy.deepcopy(a)
    x1, y1, x2, y2 = a.box.xyxy[0]
    b.box = Boxes.from_rows(np.array([x1, y1, (x1 + x2) / 2, y2]))  # half the box: IoU 0.5
    rev = compare_frames("f", a, b, ReviewConfig())
    assert rev.box_iou == pytest.approx(0.5) and rev.reasons == ["box IoU 0.50 < 0.7"]
    for lab in (a, b):  # no head joints at all: 1/8 of the mean box diagonal
        lab.visibility[[8, 9]] = VIS_ABSENT
        lab.xy[[8, 9]] = np.nan
    rev = compare_frames("f", a, b, ReviewConfig())
    diag = (np.hypot(a.box.widths[0], a.box.heights[0]) + np.hypot(b.box.widths[0], b.box.heights[0])) / 2
    assert rev.head_size_source == "box" and rev.head_size == pytest.approx(diag / 8)
    with pytest.raises(ConfigError, match="threshold must be positive"):
        ReviewConfig(threshold=0)


def test_merge_keeps_provenance_and_validates(tmp_path: Path) -> None:
    pairs = make_pair(tmp_path)
    report, first, second = review_folders(tmp_path / "first", tmp_path / "second")
    written = write_merge(report, first, second, tmp_path / "merged")
    assert len(written) == 6
    merged = {f.id: f for f in load_labelme_folder(tmp_path / "merged")}  # strict protocol re-read
    assert sorted(merged) == IDS and (tmp_path / "merged" / REVIEW_REPORT_NAME).is_file()
    # Second wins where both placed a joint; the first fills the second's gap.
    fid = "01/clip_a/00001"
    a, b = pairs[fid]
    got = merged[fid].label
    np.testing.assert_allclose(got.xy[PELVIS], b.xy[PELVIS])
    np.testing.assert_allclose(got.xy[R_WRIST], a.xy[R_WRIST])
    prov = merged[fid].doc.extra[PROVENANCE_KEY]
    assert prov["joints"]["r_wrist"] == "first" and prov["joints"]["pelvis"] == "second" and prov["box"] == "second"
    assert prov["preferred"] == "second" and prov["needs_review"] is False
    assert prov["sources"] == {"second": f"{fid}.json", "first": f"{fid}.json"}
    # The copied one-sided frame is marked, and images still resolve from the new location.
    miss = merged[MISSING].doc.extra[PROVENANCE_KEY]
    assert miss["needs_review"] and set(miss["joints"].values()) == {"first"}
    assert all(f.doc.image_file().is_file() for f in merged.values())
    rep = json.loads((tmp_path / "merged" / REVIEW_REPORT_NAME).read_text())
    assert sorted(rep["needs_review"]) == sorted([SWAPPED, MOVED, MISSING])


def test_merge_prefer_first_and_refusals(tmp_path: Path) -> None:
    pairs = make_pair(tmp_path)
    report, first, second = review_folders(tmp_path / "first", tmp_path / "second")
    write_merge(report, first, second, tmp_path / "m1", prefer="first")
    doc = read_labelme(tmp_path / "m1" / "01/clip_a/00000.json")
    assert doc.extra[PROVENANCE_KEY]["joints"]["r_wrist"] == "second"  # first had none
    assert doc.extra[PROVENANCE_KEY]["joints"]["pelvis"] == "first"
    pelvis = next(s for s in doc.shapes if s.label == "pelvis")
    np.testing.assert_allclose(pelvis.points[0], pairs["01/clip_a/00000"][0].xy[PELVIS])
    with pytest.raises(ConfigError, match="is an input folder"):
        write_merge(report, first, second, tmp_path / "second")
    with pytest.raises(Exception, match="use --overwrite"):
        write_merge(report, first, second, tmp_path / "m1", prefer="first")


def test_cli_review_exit_codes_table_and_json(tmp_path: Path) -> None:
    make_pair(tmp_path)
    runner = CliRunner()
    group = annotate_group()
    res = runner.invoke(group, ["review", "--help"])
    assert res.exit_code == 0 and "--prefer [second|first]" in res.output and "Exit status" in res.output
    res = runner.invoke(group, ["review", str(tmp_path / "first"), str(tmp_path / "second")])
    assert res.exit_code == 1, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split()[:2] == ["frame", "status"] and len(lines) == 1 + 3 + 1
    assert any(line.startswith(MOVED) and "pelvis" in line for line in lines)
    assert "3 need a third look" in lines[-1]
    res = runner.invoke(group, ["review", str(tmp_path / "first"), str(tmp_path / "second"), "--json",
                                "--merge", str(tmp_path / "out")])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["summary"]["needs_review"] == 3 and out["merged_files"] == 6
    assert out["config"]["threshold"] == 0.5
    res = runner.invoke(group, ["review", str(tmp_path / "first"), str(tmp_path / "second"), "--all"])
    assert res.exit_code == 1 and len(res.stdout.splitlines()) == 1 + 6 + 1
    assert any(line.startswith("02/00001 ") and line.rstrip().endswith("ok") for line in res.stdout.splitlines())
    # Identical folders: nothing to look at, exit 0.
    res = runner.invoke(group, ["review", str(tmp_path / "first"), str(tmp_path / "first")])
    assert res.exit_code == 0 and "0 need a third look" in res.stdout
    res = runner.invoke(group, ["review", str(tmp_path / "first"), str(tmp_path / "second"), "--threshold", "-1"])
    assert res.exit_code == 2 and res.output.strip() == "error: threshold must be positive, got -1.0"
