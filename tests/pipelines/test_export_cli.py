"""The ``fdpose export`` command line: build with several label folders, check, errors, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from export_helpers import ExportWorld, export_world  # noqa: E402
from fdpose.cli.main import cli


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> ExportWorld:
    return export_world(tmp_path_factory.mktemp("export"))


def _run(*args: str):
    return CliRunner().invoke(cli, ["-q", *args])


def test_build_check_and_json(world: ExportWorld, tmp_path: Path) -> None:
    out = tmp_path / "D"
    res = _run("export", "--auto", str(world.track), "--manual", str(world.manual_a), "--manual", str(world.manual_b),
               "--annotations", str(world.annotations), "-o", str(out), "--format", "hpmcore", "--check",
               "--no-progress", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["clips"] == 4 and summary["frames"] == 384 and summary["formats"] == ["fdpose", "hpmcore"]
    assert summary["check"]["ok"] is True and summary["manual_frames"] > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"]["manual"] == [str(world.manual_a), str(world.manual_b)]
    cmd = manifest["created_by"]["command"]
    assert cmd.startswith("fdpose export --auto ") and f"--manual {world.manual_a} --manual {world.manual_b}" in cmd
    assert cmd in (out / "README.md").read_text()

    res = _run("export", "check", str(out), "--no-progress")
    assert res.exit_code == 0 and "result: OK" in res.stdout and "agreement" in res.stdout

    # a planted defect: exit 1, the report names the clip
    entry = manifest["clips"][0]
    path = out / entry["file"]
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["keypoints"][3, 0, 1] = np.nan
    np.savez(path, **arrays)
    res = _run("export", "check", str(out), "--no-progress")
    assert res.exit_code == 1
    assert f"- clip {entry['clip_id']}: 'keypoints' has 1 NaN value(s), first at frame 3, joint r_ankle" in res.stdout
    assert "result: FAILED (files, finite)" in res.stdout
    res = _run("export", "check", str(out), "--json", "--no-progress")
    assert res.exit_code == 1 and json.loads(res.stdout)["ok"] is False


def test_manual_folders_are_one_per_option(world: ExportWorld, tmp_path: Path) -> None:
    # click parses --manual itself (multiple=True): two folders after one flag are a usage error
    res = _run("export", "--auto", str(world.track), "--manual", str(world.manual_a), str(world.manual_b),
               "--annotations", str(world.annotations), "-o", str(tmp_path / "D"), "--no-progress")
    assert res.exit_code == 2 and not (tmp_path / "D").exists()
    assert f"unexpected argument '{world.manual_b}'" in res.output and "repeat --manual" in res.output


def test_check_option_fails_the_build_when_a_check_fails(world: ExportWorld, tmp_path: Path) -> None:
    res = _run("export", "--auto", str(world.track), "--annotations", str(world.annotations),
               "-o", str(tmp_path / "D"), "--check", "--max-interpolated", "0.001", "--no-progress")
    assert res.exit_code == 1
    assert "interpolated  FAIL" in res.stdout and "result: FAILED (interpolated)" in res.stdout
    assert (tmp_path / "D" / "README.md").read_text().count("| interpolated | FAIL |") == 1


def test_missing_track_json_is_one_line_error(world: ExportWorld, tmp_path: Path) -> None:
    track = tmp_path / "track"
    shutil.copytree(world.track, track)
    gone = track / f"{world.clip_ids[1]}.json"
    gone.unlink()
    res = _run("export", "--auto", str(track), "--annotations", str(world.annotations), "-o", str(tmp_path / "D"))
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {gone}: no track output for 1 of 4 clip(s)")
    assert not (tmp_path / "D").exists()


def test_usage_errors(world: ExportWorld, tmp_path: Path) -> None:
    res = _run("export", "--auto", str(world.track), "-o", str(tmp_path / "D"))
    assert res.exit_code == 2 and "missing option --annotations" in res.output
    res = _run("export")
    assert res.exit_code == 2 and "fdpose export check DATASET" in res.output  # help, as click's no_args_is_help
    res = _run("export", "check", str(tmp_path))
    assert res.exit_code == 2 and "manifest.json" in res.stderr
