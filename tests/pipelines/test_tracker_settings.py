"""Tracker settings from the command line (fdpose.pipelines.tracking.settings, --tracker / --tracker-config /
--tracker-set of track-and-estimate)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.errors import ConfigError, InputError
from fdpose.pipelines.tracking.config import TrackerConfig
from fdpose.pipelines.tracking.settings import apply_overrides, parse_assignment, tracker_config


def test_presets_file_and_pairs_apply_in_order(tmp_path: Path) -> None:
    assert tracker_config() == TrackerConfig()
    paper = tracker_config("paper")
    assert paper.refinements_off and paper == TrackerConfig.paper()
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"fill": {"enabled": True, "fill_max_gap": 5}, "gates": {"max_jump": 2}}))
    cfg = tracker_config("default", f, ["gates.max_jump=2.5", "redetect.contexts=[1.5, 2.0]", "fill_space=image"])
    assert cfg.fill.enabled is True and cfg.fill.fill_max_gap == 5 and cfg.fill.fill_space == "image"
    assert cfg.gates.max_jump == 2.5 and isinstance(cfg.gates.max_jump, float)  # the later pair wins over the file
    assert cfg.redetect.contexts == (1.5, 2.0)
    assert tracker_config("default", None, ["redetect.contexts=[1.8]"]).redetect.contexts == (1.8,)  # one run
    # everything not named keeps the preset's value
    assert cfg.with_(fill=TrackerConfig().fill, gates={"max_jump": TrackerConfig().gates.max_jump},
                     redetect={"contexts": TrackerConfig().redetect.contexts}) == TrackerConfig()


def test_a_runs_stored_tracker_gives_the_same_config_back(tmp_path: Path) -> None:
    cfg = tracker_config("paper", None, ["velocity.enabled=true", "max_jump=3"])
    f = tmp_path / "settings.json"
    f.write_text(json.dumps(cfg.to_dict()))
    assert tracker_config("default", f) == cfg  # a whole settings.tracker object
    clip = tmp_path / "clip.json"
    clip.write_text(json.dumps({"clip_id": "x", "settings": {"frames": 96, "tracker": cfg.to_dict()}}))
    assert tracker_config("default", clip) == cfg  # a clip JSON: its settings.tracker


def test_an_older_runs_tracker_names_what_it_lacks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stored = TrackerConfig().to_dict()
    del stored["repeats"]
    del stored["seed"]["init_short_min_frames"]
    clip = tmp_path / "old.json"
    clip.write_text(json.dumps({"settings": {"tracker": stored}}))
    with caplog.at_level("WARNING", logger="fdpose.pipelines.tracking.settings"):
        cfg = tracker_config("default", clip)
    assert cfg == TrackerConfig()  # (the stored sections were the defaults; the absent ones take today's)
    assert "the stored tracker has no seed.init_short_min_frames, repeats (added since)" in caplog.text


@pytest.mark.parametrize("pair,message", [
    ("max_jump=big", "--tracker-set 'max_jump=big': gates.max_jump must be a finite number, got 'big'"),
    ("fill.enabled=1", "fill.enabled must be true or false, got 1"),
    ("gates.confirm_frames=2.5", "gates.confirm_frames must be an integer, got 2.5"),
    ("nosuch=1", "'nosuch' is in no tracker section"),
    ("enabled=true", "'enabled' is in several sections"),
    ("gates.nosuch=1", "unknown field 'nosuch' in tracker section 'gates' (known: enabled, min_conf"),
    ("nosection.x=1", "unknown tracker section 'nosection' (known: core, camera"),
    ("gates.max_jump=-1", "--tracker-set 'gates.max_jump=-1': tracker max_jump must be > 0, got -1.0"),
    ("redetect.contexts=[1]", "--tracker-set 'redetect.contexts=[1]': tracker redetect contexts must be one or two "
                              "values > 1, got (1.0,)"),
    ("redetect.contexts=2", "redetect.contexts must be a list of numbers, got 2"),
    ("fill.enabled", "expected section.field=value"),
    ("gates.max_jump=NaN", "--tracker-set 'gates.max_jump=NaN': NaN is not a finite number"),
    ("gates.max_size_ratio=Infinity", "Infinity is not a finite number"),
    ("redetect.contexts=[1.5, -Infinity]", "-Infinity is not a finite number"),
])
def test_bad_pairs_are_one_line_config_errors(pair: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        tracker_config("default", None, [pair])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    f = tmp_path / "t.json"
    f.write_text('{"gates": {"max_jump": 2')
    with pytest.raises(InputError, match=r"t\.json: invalid JSON at line 1"):
        tracker_config("default", f)
    f.write_text('[1, 2]')
    with pytest.raises(ConfigError, match=r"t\.json: expected a JSON object"):
        tracker_config("default", f)
    f.write_text('{"gates": 2}')
    with pytest.raises(ConfigError, match=r"t\.json: tracker section 'gates' must be an object"):
        tracker_config("default", f)
    with pytest.raises(ConfigError, match="unknown tracker preset 'eq25'"):
        tracker_config("eq25")


def test_parse_assignment_reads_json_values_else_text() -> None:
    assert parse_assignment("fill.fill_space=image") == {"fill": {"fill_space": "image"}}
    assert parse_assignment("max_jump=2") == {"gates": {"max_jump": 2}}
    assert parse_assignment("redetect.contexts=[1.5, 2]") == {"redetect": {"contexts": [1.5, 2]}}
    assert apply_overrides(TrackerConfig(), {}, "x") == TrackerConfig()


pytest.importorskip("mmpose")
sys.path.insert(0, str(Path(__file__).parent))
from pipeline_helpers import tiny_hrnet_checkpoint  # noqa: E402


def test_track_and_estimate_runs_the_chosen_tracker_and_resume_honours_it(tmp_path: Path) -> None:
    """The clip JSON records the tracker the flags built; --tracker-config CLIP_JSON --resume keeps the outputs
    (same tracker), the default tracker with --resume redoes them."""
    from fdpose.cli.main import cli

    w = tmp_path / "world"
    res = CliRunner().invoke(cli, ["-q", "synth", str(w), "-n", "1", "--seed", "3", "--frames", "30", "--no-video"])
    assert res.exit_code == 0, res.output
    ckpt = tiny_hrnet_checkpoint(tmp_path / "tiny.pth")
    out = tmp_path / "out"
    base = ["-q", "track-and-estimate", str(w / "frames"), "-o", str(out), "--detections", str(w / "detections"),
            "--pose-checkpoint", str(ckpt), "--no-progress"]
    res = CliRunner().invoke(cli, [*base, "--tracker", "paper", "--tracker-set", "velocity.enabled=true"])
    assert res.exit_code == 0, res.output
    (clip_json,) = sorted(out.glob("*.json"))
    stored = json.loads(clip_json.read_text())["settings"]["tracker"]
    assert stored == tracker_config("paper", None, ["velocity.enabled=true"]).to_dict()
    assert stored["velocity"]["enabled"] is True and stored["gates"]["enabled"] is False
    before = clip_json.read_bytes()
    copy = tmp_path / "earlier.json"
    copy.write_bytes(before)
    res = CliRunner().invoke(cli, [*base, "--tracker-config", str(copy), "--resume", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["clips"]["skipped"] == 1 and summary["clips_detail"][0]["reason"] == "complete (resume)"
    assert clip_json.read_bytes() == before
    res = CliRunner().invoke(cli, [*base, "--resume"])
    assert res.exit_code == 0, res.output
    assert json.loads(clip_json.read_text())["settings"]["tracker"] == TrackerConfig().to_dict()
    res = CliRunner().invoke(cli, [*base, "--tracker-set", "gates.max_jump=big"])
    assert res.exit_code == 2 and res.output.strip().splitlines() == [
        "error: --tracker-set 'gates.max_jump=big': gates.max_jump must be a finite number, got 'big'"]
