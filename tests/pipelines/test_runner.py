"""track-and-estimate end to end on a tiny synthetic world with a tiny random HRNet (CPU).

Covers: output contract (JSON schema, npz shape/dtype, exact 96-index alignment), a corrupt
video and a clip without any person in the batch, resume after kill -9, --workers 2 and
torchrun with 2 ranks giving the same files as one worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.cli.track import track_and_estimate
from fdpose.pipelines.clip_json import read_clip_json
from fdpose.pipelines.runner import RunConfig, output_paths, run_batch, shard
from fdpose.sampling import aligned_indices, read_pred_comp

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_helpers import tiny_hrnet_checkpoint  # noqa: E402

pytest.importorskip("mmpose")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from fdpose.cli.main import cli

    root = tmp_path_factory.mktemp("runner")
    w = root / "world"
    res = CliRunner().invoke(cli, ["-q", "synth", str(w), "-n", "3", "--seed", "4", "--frames", "30", "--no-video"])
    assert res.exit_code == 0, res.output
    ckpt = tiny_hrnet_checkpoint(root / "tiny.pth")
    return {"root": root, "world": w, "frames": w / "frames", "det": w / "detections", "ckpt": ckpt}


def _group() -> click.Group:
    from fdpose.cli.main import FdposeGroup

    group = FdposeGroup("fdpose")
    group.add_command(track_and_estimate)
    return group


def _args(world: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [str(world["frames"]), "-o", str(out), "--detections", str(world["det"]),
            "--pose-checkpoint", str(world["ckpt"]), "--no-progress", *extra]


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def single(world: dict[str, Path]) -> tuple[Path, dict]:
    out = world["root"] / "single"
    res = CliRunner().invoke(_group(), ["track-and-estimate", *_args(world, out, "--json")])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def test_outputs_contract(world: dict[str, Path], single: tuple[Path, dict]) -> None:
    out, summary = single
    assert summary["clips"] == {"done": 3, "skipped": 0, "failed": 0, "total": 3}
    assert set(summary["stages"]) == {"decode", "detect", "track", "pose", "interpolate", "write"}
    assert summary["stages"]["pose"]["frames_per_s"] > 0
    for detail in summary["clips_detail"]:
        json_path, npz_path = output_paths(out, detail["clip_id"])
        clip = read_clip_json(json_path)
        frames = sorted((world["frames"] / clip.clip_id.replace("__", "/")).glob("*.jpg"))
        assert clip.frame_count == len(frames) == detail["frames"]
        numbers = [int(p.stem) for p in frames]
        assert np.array_equal(clip.sampled_indices, aligned_indices(len(frames), numbers))
        assert np.array_equal(clip.sampled_indices, np.linspace(0, len(frames) - 1, 96).astype(int))
        pred = read_pred_comp(npz_path)
        with np.load(npz_path) as data:
            assert data["pred"].shape == (96, 16, 3) and data["pred"].dtype == np.float32
        tracked = np.isfinite(clip.boxes[:, 0])
        assert tracked.sum() == detail["tracked_frames"] > 0
        # estimated joints lie inside (or near) the tracked box they were estimated on
        est = clip.joint_source == "estimated"
        t, j = np.nonzero(est)
        if len(t):
            b = clip.boxes[t]
            x, y = clip.keypoints[t, j, 0], clip.keypoints[t, j, 1]
            w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
            assert np.all((x > b[:, 0] - w) & (x < b[:, 2] + w) & (y > b[:, 1] - h) & (y < b[:, 3] + h))
        assert np.isfinite(pred).all()
        doc = json.loads(json_path.read_text())
        assert doc["backends"]["pose"]["name"] == "hrnet" and doc["backends"]["detector"]["name"] == "file"


def test_table_output_and_bad_option(world: dict[str, Path], tmp_path: Path) -> None:
    res = CliRunner().invoke(_group(), ["track-and-estimate", *_args(world, tmp_path / "o", "--init-box", "5,5,1,1")])
    assert res.exit_code == 2 and "--init-box must be x1,y1,x2,y2" in res.output
    res = CliRunner().invoke(_group(), ["track-and-estimate", str(world["frames"]), "-o", str(tmp_path / "o"),
                                        "--detector", "file", "--no-progress"])
    assert res.exit_code == 2 and "--detector file needs --detections DIR" in res.output


def test_corrupt_video_and_clip_without_person(world: dict[str, Path], single: tuple[Path, dict],
                                               tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "broken.mp4").write_bytes(b"\x00\x01not a video at all" * 50)
    det = tmp_path / "det"
    for p in world["det"].rglob("*.txt"):
        (det / p.relative_to(world["det"])).parent.mkdir(parents=True, exist_ok=True)
        (det / p.relative_to(world["det"])).write_text(p.read_text())
    (det / "broken.txt").write_text("")
    first = sorted(world["det"].rglob("*.txt"))[0]
    (det / first.relative_to(world["det"])).write_text("")  # the detector saw nobody in this clip
    out = tmp_path / "out"
    res = CliRunner().invoke(_group(), ["track-and-estimate", str(videos), str(world["frames"]), "-o", str(out),
                                        "--detections", str(det), "--pose-checkpoint", str(world["ckpt"]),
                                        "--no-progress", "--json"])
    assert res.exit_code == 1, res.output  # a failed clip: non-zero exit, the batch still ran
    summary = json.loads(res.stdout)
    assert summary["clips"] == {"done": 2, "skipped": 1, "failed": 1, "total": 4}
    status = {d["clip_id"]: (d["status"], d["reason"]) for d in summary["clips_detail"]}
    assert status["broken"][0] == "failed" and "broken.mp4" in status["broken"][1]
    no_person = first.parent.name + "__" + first.stem
    assert status[no_person][0] == "skipped" and "no person" in status[no_person][1]
    # the clips that were processed match the clean run byte for byte
    for cid, (st, _) in status.items():
        if st == "done":
            a, b = read_clip_json(out / f"{cid}.json"), read_clip_json(single[0] / f"{cid}.json")
            assert np.array_equal(a.boxes, b.boxes, equal_nan=True)
            assert np.array_equal(a.keypoints, b.keypoints, equal_nan=True)


def test_resume_after_kill(world: dict[str, Path], single: tuple[Path, dict], tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fdpose.cli.track", *_args(world, out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = sorted(p.name for p in out.glob("*.json"))
    assert 1 <= len(done_before) < 3
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix not in (".json", ".npz")]  # no temp files left
    res = CliRunner().invoke(_group(), ["track-and-estimate", *_args(world, out, "--resume", "--json")])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["clips"]["skipped"] == len(done_before) and summary["clips"]["done"] == 3 - len(done_before)
    assert _snapshot(out) == _snapshot(single[0])


def test_workers_and_torchrun_match_single_worker(world: dict[str, Path], single: tuple[Path, dict],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "workers"
    res = CliRunner().invoke(_group(), ["track-and-estimate", *_args(world, out, "--workers", "2", "--json")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["clips"]["done"] == 3
    assert _snapshot(out) == _snapshot(single[0])

    out2 = tmp_path / "torchrun"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "fdpose.cli.track", *_args(world, out2, "--json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _snapshot(out2) == _snapshot(single[0])
    assert proc.stdout.count('"world_size": 2') == 2  # each rank reported its own share


def test_shard_covers_every_clip_once() -> None:
    items = list(range(11))
    parts = [shard(items, r, 3) for r in range(3)]
    assert sorted(sum(parts, [])) == items and parts[1] == [1, 4, 7, 10]


def test_run_batch_rank_share_and_resume_flags(world: dict[str, Path], single: tuple[Path, dict]) -> None:
    cfg = RunConfig(out=single[0], detections=world["det"], pose_checkpoint=world["ckpt"], resume=True)
    summary = run_batch([world["frames"]], cfg, progress=False, rank=1, world_size=2)
    assert [o.status for o in summary.outcomes] == ["skipped"]  # rank 1 of 2 owns clip 1 of 3, complete


def test_pose_state_is_reset_for_every_clip(world: dict[str, Path], tmp_path: Path) -> None:
    """A stateful pose backend (mediapipe keeps the previous body axis) starts each clip afresh."""
    from fdpose.pipelines.detectors.base import BackendInfo
    from fdpose.pipelines.detectors.file import FileDetector
    from fdpose.pipelines.frames import discover_clips
    from fdpose.pipelines.runner import process_clip

    class RecordingPose:
        info = BackendInfo("recording", None, None)

        def __init__(self) -> None:
            self.calls: list[str] = []

        def reset(self) -> None:
            self.calls.append("reset")

        def estimate_many(self, crops):
            self.calls.append("estimate")
            out = np.zeros((len(crops), 16, 3))
            for i, (_, box) in enumerate(crops):
                out[i, :, :2] = (np.asarray(box[:2]) + np.asarray(box[2:4])) / 2
                out[i, :, 2] = 1.0
            return out

    pose = RecordingPose()
    cfg = RunConfig(out=tmp_path / "out", detector="file", detections=world["det"], pose="hrnet")
    files = FileDetector(world["det"])
    clips = discover_clips([world["frames"]])[:2]
    for clip in clips:
        process_clip(clip, cfg, files.for_clip, pose)
    # each clip: one reset before any estimate of that clip
    starts = [i for i, c in enumerate(pose.calls) if c == "reset"]
    assert len(starts) == 2 and starts[0] == 0 and pose.calls[starts[1] - 1] == "estimate"
