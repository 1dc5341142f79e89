"""Pose-backend settings per run (fdpose.pipelines.pose.options, --pose-set of track-and-estimate)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.errors import ConfigError
from fdpose.overrides import coerce
from fdpose.pipelines.pose.options import mediapipe_config, parse_pose_options


def test_pairs_become_checked_fields_later_ones_win() -> None:
    opts = parse_pose_options("mediapipe", ["roi_source=detector", "consensus_angles=[120, 240]", "context=2",
                                            "flip_test=true", "context=2.5"])
    assert opts == {"roi_source": "detector", "consensus_angles": (120.0, 240.0), "context": 2.5, "flip_test": True}
    cfg = mediapipe_config(opts)
    assert cfg.consensus_angles == (120.0, 240.0) and cfg.context == 2.5 and cfg.flip_test is True
    assert parse_pose_options("hrnet", []) == {}
    # a stored run's options come back from JSON as lists: the same config
    assert mediapipe_config(json.loads(json.dumps(opts))) == cfg


@pytest.mark.parametrize("backend,pair,message", [
    ("mediapipe", "nosuch=1", "--pose-set 'nosuch=1': unknown mediapipe pose setting 'nosuch' (known: context,"),
    ("mediapipe", "model_complexity=3", "--pose-set: mediapipe pose: model_complexity must be 1 (full) or 2 (heavy)"),
    ("mediapipe", "model_complexity=2.0", "model_complexity must be an integer, got 2.0"),
    ("mediapipe", "orient=yes", "orient must be true or false, got 'yes'"),
    ("mediapipe", "consensus_angles=90", "consensus_angles must be a list of numbers, got 90"),
    ("mediapipe", "consensus_angles=[90, true]", "consensus_angles must be a finite number, got True"),
    ("mediapipe", "context", "--pose-set 'context': expected NAME=VALUE"),
    ("mediapipe", "consensus_angles=[NaN, 90]", "--pose-set 'consensus_angles=[NaN, 90]': NaN is not a finite number"),
    ("mediapipe", "max_frame_share=Infinity", "Infinity is not a finite number"),
    ("hrnet", "flip_test=true", "--pose-set applies to --pose mediapipe, not hrnet"),
    # settings of the detector path are refused on the box path (the default) instead of being recorded unused
    ("mediapipe", "consensus_angles=[120, 240]", "consensus_angles take effect only with roi_source=detector"),
    ("mediapipe", "context=2.5", "context take effect only with roi_source=detector"),
    ("mediapipe", "flip_test=true", "flip_test take effect only with roi_source=detector"),
])
def test_bad_pairs_are_one_line_errors(backend: str, pair: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_pose_options(backend, [pair])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_detector_path_settings_pass_with_the_detector_path_and_flip_with_the_whole_frame() -> None:
    assert parse_pose_options("mediapipe", ["roi_source=detector", "context=2.5"]) == {"roi_source": "detector",
                                                                                       "context": 2.5}
    assert parse_pose_options("mediapipe", ["whole_frame=true", "flip_test=true"]) == {"whole_frame": True,
                                                                                       "flip_test": True}


def test_coerce_keeps_types_and_never_takes_a_bool_for_a_number() -> None:
    assert coerce(2, 1.0, "x") == 2.0 and isinstance(coerce(2, 1.0, "x"), float)
    assert coerce([1, 2.5], (), "x") == (1.0, 2.5)
    with pytest.raises(ConfigError, match="x must be a finite number, got True"):
        coerce(True, 1.0, "x")
    with pytest.raises(ConfigError, match="x must be a finite number, got nan"):
        coerce(float("nan"), 1.0, "x")
    with pytest.raises(ConfigError, match="x must be text"):
        coerce(3, "pixels", "x")


def test_runner_factory_builds_the_chosen_backend() -> None:
    pytest.importorskip("mediapipe")
    from fdpose.pipelines.pose.mediapipe import make_backend

    est = make_backend(SimpleNamespace(pose_options={"roi_source": "detector", "consensus_angles": [120, 240],
                                                  "context": 2.5}))
    try:
        assert est.config.consensus_angles == (120.0, 240.0) and est.config.context == 2.5
    finally:
        est.close()
    est = make_backend(object())  # a config without options: the defaults
    try:
        assert est.config == mediapipe_config({})
    finally:
        est.close()


def test_track_and_estimate_records_pose_options_and_resume_honours_them(tmp_path: Path) -> None:
    """--pose-set reaches the backend (fewer tries per box with no fallback angles ... measured by the record),
    is stored in the clip JSON and its resume record; --resume redoes clips made with other options."""
    pytest.importorskip("mediapipe")
    cv2 = pytest.importorskip("cv2")
    from fdpose.cli.main import cli

    frames = tmp_path / "frames" / "m" / "1"
    frames.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(4):  # a grey person-shaped block on noise: enough for the pipeline to run end to end
        img = rng.integers(0, 60, size=(120, 160, 3), dtype=np.uint8)
        img[30:100, 70 + i:90 + i] = 200
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), img)
    det = tmp_path / "det" / "m"
    det.mkdir(parents=True)
    (det / "1.txt").write_text("".join(f"{i + 1},1,{68 + i},28,24,74,0.9\n" for i in range(4)))
    out = tmp_path / "out"
    base = ["-q", "track-and-estimate", str(tmp_path / "frames"), "-o", str(out), "--detections",
            str(tmp_path / "det"), "--pose", "mediapipe", "--no-progress", "--json"]
    res = CliRunner().invoke(cli, [*base, "--pose-set", "roi_refine=1", "--pose-set", "roi_scale=2.0"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "m__1.json").read_text())
    want = {"roi_refine": 1, "roi_scale": 2.0}
    assert doc["settings"]["pose_options"] == want
    assert doc["settings"]["resume_record"]["pose"]["options"] == want
    before = (out / "m__1.json").read_bytes()
    res = CliRunner().invoke(cli, [*base, "--resume", "--pose-set", "roi_refine=1", "--pose-set", "roi_scale=2.0"])
    assert res.exit_code == 0 and json.loads(res.output)["clips"]["skipped"] == 1
    assert (out / "m__1.json").read_bytes() == before
    res = CliRunner().invoke(cli, [*base, "--resume"])
    assert res.exit_code == 0 and json.loads(res.output)["clips"]["done"] == 1
    doc = json.loads((out / "m__1.json").read_text())
    assert "pose_options" not in doc["settings"] and "options" not in doc["settings"]["resume_record"]["pose"]
    assert doc["settings"]["resume_record"]["pose"]["settings"]["roi_source"] == "box"


def test_resume_record_holds_the_mediapipe_settings_in_effect_so_a_changed_default_redoes() -> None:
    """A clip made under another default (the detector path, the default before session 10) is stale even
    when the run set no option; the HRNet backend records no mediapipe settings."""
    from dataclasses import replace

    from fdpose.pipelines.resume import _differences, resume_record
    from fdpose.pipelines.runner import RunConfig

    cfg = RunConfig(out=Path("out"), frames=96, pose="mediapipe", detector="ssd")
    record = resume_record(cfg)
    assert record["pose"]["settings"]["roi_source"] == "box" and "options" not in record["pose"]
    old = json.loads(json.dumps(record))
    old["pose"]["settings"]["roi_source"] = "detector"
    assert _differences(old, record) == ["pose.settings.roi_source"]
    chosen = resume_record(replace(cfg, pose_options={"roi_scale": 2.0}))
    assert chosen["pose"]["settings"]["roi_scale"] == 2.0 and chosen["pose"]["options"] == {"roi_scale": 2.0}
    assert "settings" not in resume_record(replace(cfg, pose="hrnet"))["pose"]
