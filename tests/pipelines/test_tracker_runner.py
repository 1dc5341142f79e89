"""The runner measures the tracker's pixel camera and repeated frames while it decodes frames for a detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.pipelines.detectors.file import FileDetector
from fdpose.pipelines.frames import discover_clips
from fdpose.pipelines.decode import StageTimer
from fdpose.pipelines.runner import RunConfig, _detect
from fdpose.pipelines.tracking import TrackerConfig
from fdpose.pipelines.tracking.camera import CameraMotion


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fdpose.cli.main import cli

    w = tmp_path_factory.mktemp("cam") / "world"
    res = CliRunner().invoke(cli, ["-q", "synth", str(w), "-n", "1", "--seed", "2", "--frames", "30", "--no-video"])
    assert res.exit_code == 0, res.output
    return w


class _Replay:
    """A frame-decoding detector that answers from the world's detection files."""

    info = BackendInfo("replay", None, None)

    def __init__(self, files: FileDetector, clip_id: str) -> None:
        self.clip = files.for_clip(clip_id)

    def detect(self, frames: list[np.ndarray], indices: list[int]) -> list[np.ndarray]:
        assert all(f.ndim == 3 for f in frames)  # real pixels were decoded
        return [self.clip.all_frames(max(indices) + 1)[t] for t in indices]


def test_runner_measures_the_pixel_camera(world: Path, tmp_path: Path) -> None:
    clip = discover_clips([world / "frames"])[0]
    det = _Replay(FileDetector(world / "detections"), clip.clip_id)
    cfg = RunConfig(out=tmp_path, detector="replay", batch_size=5)
    cands, n, w, h, camera, sources = _detect(clip, cfg, det, StageTimer())
    assert isinstance(camera, CameraMotion) and len(camera) == n == len(cands)
    assert sources is not None and sources.tolist() == list(range(n))  # (a synth render never repeats a frame)
    assert camera.known[1:].mean() > 0.3  # the synth world's stands give corners to track
    # the box vote asked for: no pixel work
    cfg = RunConfig(out=tmp_path, detector="replay", tracker=TrackerConfig().with_(source="boxes"))
    assert _detect(clip, cfg, det, StageTimer())[4] is None
    # the file detector never decodes: no camera either (the tracker falls back to the vote)
    cfg = RunConfig(out=tmp_path, detector="file", detections=world / "detections")
    assert _detect(clip, cfg, FileDetector(world / "detections").for_clip(clip.clip_id), StageTimer())[4:] == (None, None)


class _Nobody:
    """A frame-decoding detector that finds nobody (the pixel measurements need no boxes)."""

    info = BackendInfo("nobody", None, None)

    def detect(self, frames: list[np.ndarray], indices: list[int]) -> list[np.ndarray]:
        assert all(f.ndim == 3 for f in frames)
        return [np.zeros((0, 5)) for _ in indices]


def test_runner_finds_repeated_frames(world: Path, tmp_path: Path) -> None:
    """A frame folder whose every picture is stored twice (a 50 fps export of 25 fps pictures): the
    runner's decode pass calls every second frame a repeat of the one before; switched off, none."""
    import shutil

    clip = discover_clips([world / "frames"])[0]
    files = clip.files()[:8]
    doubled = tmp_path / "doubled" / "m" / "0"
    doubled.mkdir(parents=True)
    for i, f in enumerate(files):
        for k in range(2):
            shutil.copy(f, doubled / f"{2 * i + k:05d}{f.suffix}")
    source = discover_clips([tmp_path / "doubled"])[0]
    cfg = RunConfig(out=tmp_path / "out", detector="nobody", batch_size=5)
    _, n, _, _, camera, sources = _detect(source, cfg, _Nobody(), StageTimer())
    assert n == 16 and sources is not None and sources.tolist() == [t - t % 2 for t in range(16)]
    assert camera is not None and camera.known.all()  # (a repeat is a measured still step)
    off = RunConfig(out=tmp_path / "out", detector="nobody", tracker=TrackerConfig().without("repeats"))
    assert _detect(source, off, _Nobody(), StageTimer())[5] is None
