"""``fdpose synth`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fdpose.cli.main import cli
from fdpose.finediving import load_annotations
from fdpose.finediving_checks import validate


def test_help_lists_options():
    res = CliRunner().invoke(cli, ["synth", "--help"])
    assert res.exit_code == 0
    for opt in ("--videos", "--seed", "--frames", "--train-share", "--detector-miss-rate", "--workers", "--overwrite", "--json"):
        assert opt in res.output


def test_synth_json_then_refuse_then_overwrite(tmp_path: Path):
    out = tmp_path / "world"
    args = ["synth", str(out), "--videos", "2", "--frames", "40", "--seed", "3", "--no-video", "--json"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["clips"] == 2 and summary["train"] + summary["test"] == 2
    assert summary["frames"] == sum(len(r.frames_labels) for r in load_annotations(out / "annotations").fine.values())
    assert not (out / "videos").exists()
    ann = load_annotations(out / "annotations")
    assert validate(ann) == [] and len(ann.train) == 1 and len(ann.test) == 1

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2
    lines = [line for line in again.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "not empty" in lines[0] and str(out) in lines[0]

    res = CliRunner().invoke(cli, args + ["--overwrite", "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "world.json").read_text())["seed"] == 4


def test_bad_option_is_one_line_error(tmp_path: Path):
    res = CliRunner().invoke(cli, ["synth", str(tmp_path / "w"), "--videos", "0"])
    assert res.exit_code == 2
    assert "--videos must be at least 1" in res.output


def test_dive_numbers_restricts_the_table(tmp_path: Path):
    out = tmp_path / "w"
    args = ["synth", str(out), "--videos", "4", "--frames", "40", "--seed", "1", "--no-video", "--json",
            "--dive-numbers", "107B,407c"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    ann = load_annotations(out / "annotations")
    assert {r.action_type for r in ann.fine.values()} <= {"107b", "407c"} and len(ann.fine) == 4
    assert json.loads((out / "world.json").read_text())["config"]["dive_numbers"] == ["107b", "407c"]


def test_dive_numbers_errors(tmp_path: Path):
    res = CliRunner().invoke(cli, ["synth", str(tmp_path / "w"), "--dive-numbers", "107b,999z"])
    assert res.exit_code == 2 and "unknown dive number(s) 999z" in res.output
    res = CliRunner().invoke(cli, ["synth", str(tmp_path / "w"), "--dive-numbers", "626c"])
    assert res.exit_code == 2 and "armstand dives need a platform" in res.output
