"""``track-and-estimate --resume`` keeps only outputs that load and were made with the current settings;
bad backends fail once up front (exit 2, one line).

Tiny world (3 clips of 30 frames, simulated detections) and a tiny random HRNet, as in test_runner.py.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.cli.track import track_and_estimate
from fdpose.pipelines.resume import RECORD_KEY, file_sha256
from fdpose.pipelines.runner import RunConfig, output_paths, run_batch
from fdpose.pipelines.tracking import TrackerConfig

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_helpers import tiny_hrnet_checkpoint  # noqa: E402

pytest.importorskip("mmpose")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from fdpose.cli.main import cli

    root = tmp_path_factory.mktemp("runner_resume")
    w = root / "world"
    res = CliRunner().invoke(cli, ["-q", "synth", str(w), "-n", "3", "--seed", "4", "--frames", "30", "--no-video"])
    assert res.exit_code == 0, res.output
    return {"root": root, "frames": w / "frames", "det": w / "detections", "ckpt": tiny_hrnet_checkpoint(root / "a.pth")}


def _group() -> click.Group:
    from fdpose.cli.main import FdposeGroup

    group = FdposeGroup("fdpose")
    group.add_command(track_and_estimate)
    return group


def _run(world: dict[str, Path], out: Path, *extra: str, ckpt: Path | None = None):
    args = [str(world["frames"]), "-o", str(out), "--detections", str(world["det"]), "--pose-checkpoint",
            str(ckpt or world["ckpt"]), "--no-progress", "--json", *extra]
    return CliRunner().invoke(_group(), ["track-and-estimate", *args])


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _clips(res) -> dict[str, int]:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["clips"]


@pytest.fixture
def done(world: dict[str, Path], tmp_path: Path) -> Path:
    """A finished output folder (fresh per test: tests change it)."""
    out = tmp_path / "out"
    assert _clips(_run(world, out))["done"] == 3
    return out


def test_record_in_clip_json(world: dict[str, Path], done: Path) -> None:
    doc = json.loads(sorted(done.glob("*.json"))[0].read_text())
    record = doc["settings"][RECORD_KEY]
    assert record["frames"] == 96 and record["pose"] == {
        "name": "hrnet", "config_sha256": None, "checkpoint_sha256": file_sha256(world["ckpt"])}
    assert record["detector"]["name"] == "file" and record["detector"]["detections"] == str(world["det"].resolve())
    assert record["tracker"] == TrackerConfig().to_dict()


def test_unchanged_settings_skip_every_clip(world: dict[str, Path], done: Path) -> None:
    before = _snapshot(done)
    assert _clips(_run(world, done, "--resume")) == {"done": 0, "skipped": 3, "failed": 0, "total": 3}
    assert _snapshot(done) == before


def test_changed_frames_redo_every_clip(world: dict[str, Path], done: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fdpose.pipelines.runner"):
        assert _clips(_run(world, done, "--resume", "--frames", "48"))["done"] == 3
    redone = [r.getMessage() for r in caplog.records if r.getMessage().startswith("redoing")]
    assert len(redone) == 3 and all("settings changed since it was made (frames)" in m for m in redone)
    for npz in done.rglob("*.npz"):
        with np.load(npz) as data:
            assert data["pred"].shape == (48, 16, 3)


def test_changed_checkpoint_content_redoes_a_moved_one_does_not(world: dict[str, Path], done: Path,
                                                               tmp_path: Path) -> None:
    import torch

    moved = tmp_path / "elsewhere" / "same.pth"
    moved.parent.mkdir()
    shutil.copy2(world["ckpt"], moved)
    assert _clips(_run(world, done, "--resume", ckpt=moved))["skipped"] == 3  # same model, another path
    other = tmp_path / "b.pth"
    ckpt = torch.load(world["ckpt"], weights_only=True)
    ckpt["state_dict"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, other)
    before = _snapshot(done)
    assert _clips(_run(world, done, "--resume", ckpt=other))["done"] == 3
    after = _snapshot(done)
    changed = [k for k in before if k.endswith(".npz") and before[k] != after[k]]
    assert len(changed) == 3  # the other model's poses replaced the old ones


def test_changed_tracker_config_redoes(world: dict[str, Path], done: Path) -> None:
    cfg = RunConfig(out=done, detections=world["det"], pose_checkpoint=world["ckpt"], resume=True)
    assert [o.status for o in run_batch([world["frames"]], cfg, progress=False).outcomes] == ["skipped"] * 3
    tracker = TrackerConfig().with_(max_jump=TrackerConfig().gates.max_jump * 1.5)
    cfg = RunConfig(out=done, detections=world["det"], pose_checkpoint=world["ckpt"], resume=True, tracker=tracker)
    assert [o.status for o in run_batch([world["frames"]], cfg, progress=False).outcomes] == ["done"] * 3
    doc = json.loads(sorted(done.glob("*.json"))[0].read_text())
    assert doc["settings"][RECORD_KEY]["tracker"]["gates"]["max_jump"] == pytest.approx(tracker.gates.max_jump)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "no_record"])
def test_broken_output_with_valid_json_is_redone(world: dict[str, Path], done: Path, damage: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    before = _snapshot(done)
    clip_id = sorted(p.stem for p in done.glob("*.json"))[1]
    json_path, npz_path = output_paths(done, clip_id)
    if damage == "truncate":
        npz_path.write_bytes(npz_path.read_bytes()[: npz_path.stat().st_size // 2])
    elif damage == "garbage":
        npz_path.write_bytes(b"\x00" * 100)
    elif damage == "delete":
        npz_path.unlink()
    else:  # an output written before the record existed
        doc = json.loads(json_path.read_text())
        del doc["settings"][RECORD_KEY]
        json_path.write_text(json.dumps(doc, indent=2))
    with caplog.at_level(logging.INFO, logger="fdpose.pipelines.runner"):
        clips = _clips(_run(world, done, "--resume"))
    assert clips == {"done": 1, "skipped": 2, "failed": 0, "total": 3}
    reason = "do not record the settings" if damage == "no_record" else "pose file unusable"
    assert any(m.startswith(f"redoing {clip_id}: ") and reason in m for m in (r.getMessage() for r in caplog.records))
    assert _snapshot(done) == before  # redone byte for byte


def _one_error_line(res, *needles: str) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_bad_checkpoint_fails_once_up_front(world: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"this is not a checkpoint")
    _one_error_line(_run(world, tmp_path / "o1", ckpt=bad), str(bad), "cannot read checkpoint")
    missing = tmp_path / "missing.pth"
    _one_error_line(_run(world, tmp_path / "o2", ckpt=missing), str(missing), "not found")
    assert not list((tmp_path / "o1").glob("*.json")) and not list((tmp_path / "o2").glob("*.json"))


def test_cuda_without_cuda_fails_once_up_front(world: dict[str, Path], tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _one_error_line(_run(world, tmp_path / "o", "--device", "cuda"), "--device cuda: CUDA is not available")
    res = CliRunner().invoke(_group(), ["track-and-estimate", str(world["frames"]), "-o", str(tmp_path / "m"),
                                        "--detections", str(world["det"]), "--pose", "mediapipe", "--device", "cuda",
                                        "--no-progress"])
    _one_error_line(res, "--device cuda: CUDA is not available")


def test_pose_config_of_another_architecture_names_the_first_key(world: dict[str, Path], tmp_path: Path) -> None:
    from fdpose.hrnet_finetune.config import config_path

    line = _one_error_line(_run(world, tmp_path / "o", "--pose-config", str(config_path("hrnet-w32")), "--frames", "8"),
                           str(world["ckpt"]), "first mismatching key: backbone.")
    assert len(line) < 400 and line.count("backbone.") == 1
