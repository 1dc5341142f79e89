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
    assert sources is not None and sources.tolist() == list(range(n))  # (this clip has no repeat; 6 of a 4-clip world's 1922 renders do, after an entry)
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


class _CountingPose:
    """A pose backend whose answer changes with every call (as a stateful backend's may): joints at the
    box centre plus the call number."""

    def __init__(self) -> None:
        self.calls = 0

    def estimate_many(self, crops: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        out = np.zeros((len(crops), 16, 3))
        for i, (_, box) in enumerate(crops):
            self.calls += 1
            out[i, :, 0] = (box[0] + box[2]) / 2 + self.calls
            out[i, :, 1] = (box[1] + box[3]) / 2
            out[i, :, 2] = 0.9
        return out


def test_repeated_frames_take_their_source_frames_pose(world: Path, tmp_path: Path) -> None:
    """The pose model runs on distinct frames only; a repeat gets its source frame's keypoints (before:
    a second run, whose answer could differ on the same picture and box)."""
    import shutil

    from fdpose.pipelines.runner import _estimate_poses
    from fdpose.pipelines.tracking.tracker import TrackResult

    clip = discover_clips([world / "frames"])[0]
    doubled = tmp_path / "doubled" / "m" / "0"
    doubled.mkdir(parents=True)
    for i, f in enumerate(clip.files()[:5]):
        for k in range(2):
            shutil.copy(f, doubled / f"{2 * i + k:05d}{f.suffix}")
    source = discover_clips([tmp_path / "doubled"])[0]
    boxes = np.tile(np.array([[10.0, 20.0, 50.0, 100.0, 0.9]]), (10, 1))
    boxes[4] = np.nan  # (frame 4 without a box: its repeat, frame 5, has none either)
    boxes[5] = np.nan
    track = TrackResult(boxes=boxes, decisions=[], candidate_index=np.full(10, -1), seed_frame=0)
    sources = np.array([t - t % 2 for t in range(10)])
    pose = _CountingPose()
    cfg = RunConfig(out=tmp_path / "out", detector="nobody", batch_size=3)
    kps, _ = _estimate_poses(source, cfg, pose, track, 10, StageTimer(), sources)
    assert pose.calls == 4  # frames 0, 2, 6, 8
    for t in (1, 3, 7, 9):
        np.testing.assert_array_equal(kps[t], kps[t - 1])
    assert np.isnan(kps[4:6, :, 0]).all()
    assert len({float(kps[t, 0, 0]) for t in (0, 2, 6, 8)}) == 4  # (distinct frames: one call each)
    pose = _CountingPose()
    kps, _ = _estimate_poses(source, cfg, pose, track, 10, StageTimer())  # no sources: every boxed frame
    assert pose.calls == 8 and kps[1, 0, 0] != kps[0, 0, 0]
