"""track-and-estimate --workers N: the spawned workers log as the command does (its ``-v``/``-q`` level and
its ``LEVEL logger: message`` lines). They had no logging set up: warnings came out as bare messages
through Python's last-resort handler, and ``-v`` showed nothing of the workers' DEBUG lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", FDPOSE_THREADS="1", FDPOSE_NO_PROGRESS="1")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-clip synth world whose first clip has a truncated frame (a warning logged inside a worker)."""
    pytest.importorskip("mediapipe")
    from fdpose.synth.config import SynthConfig
    from fdpose.synth.world import generate_world

    root = tmp_path_factory.mktemp("wl") / "w"
    generate_world(SynthConfig(videos=2, seed=1, frames=30, write_video=False), root)
    frame = sorted((root / "frames").rglob("00004.jpg"))[0]
    data = frame.read_bytes()
    frame.write_bytes(data[: len(data) // 2])
    return root


def _track(world: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "fdpose", *flags, "track-and-estimate", str(world / "frames"), "-o", str(out),
           "--detections", str(world / "detections"), "--pose", "mediapipe", "--no-progress", "--workers", "2"]
    res = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res


def test_worker_warnings_carry_the_cli_format(world: Path, tmp_path: Path) -> None:
    res = _track(world, tmp_path / "q", "-q")
    frame = sorted((world / "frames").rglob("00004.jpg"))[0]
    assert res.stderr.splitlines() == [f"WARNING fdpose.video: {frame}: truncated JPEG (no end-of-image marker): "
                                       "only its first rows are real"], res.stderr


def test_verbose_shows_the_workers_debug_lines(world: Path, tmp_path: Path) -> None:
    res = _track(world, tmp_path / "v", "-v")
    # each worker chooses its torch threads and says so at DEBUG (fdpose.runtime)
    assert res.stderr.count("DEBUG fdpose.runtime: torch threads:") >= 2, res.stderr[-3000:]
