"""track-and-estimate on inputs that look usable but are not: one line naming the file, the clip fails (exit 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mediapipe")
    root = tmp_path_factory.mktemp("bad") / "W"
    res = CliRunner().invoke(cli, ["-q", "synth", str(root), "-n", "1", "--frames", "30", "--no-video", "--seed", "3"])
    assert res.exit_code == 0, res.output
    return root


def _clip(world: Path) -> Path:
    return next(p for p in sorted((world / "frames").glob("*/*")) if p.is_dir())


def _run(world: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["-q", "track-and-estimate", str(_clip(world)), "-o", str(out), "--pose",
                                    "mediapipe", "--no-progress", *extra])


def test_init_box_outside_the_image(world: Path, tmp_path: Path) -> None:
    res = _run(world, tmp_path / "o", "--detections", str(world / "detections"), "--init-box", "5000,5000,5100,5100")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "--init-box 5000,5000,5100,5100 lies outside the 455x256 image" in res.output
    assert not list((tmp_path / "o").glob("*.json"))


def test_detection_frames_beyond_the_clip(world: Path, tmp_path: Path) -> None:
    dets = tmp_path / "dets"
    shutil.copytree(world / "detections", dets)
    mot = next(dets.rglob("*.txt"))
    lines = mot.read_text().splitlines()
    mot.write_text("\n".join(lines + ["999,-1,10,10,20,20,0.9,-1,-1,-1"]) + "\n")
    res = _run(world, tmp_path / "o", "--detections", str(dets))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{mot}: line {len(lines) + 1}: detection for frame 999 (1-based) but the clip has" in res.output
