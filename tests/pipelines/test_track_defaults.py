"""``fdpose track-and-estimate FRAMES -o OUT`` with no other flag: the offline ssd detector + BlazePose run.

Skips without ../shared (real frames) or without the installed model files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.errors import DependencyError


def test_no_flag_run_on_real_frames(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    from fdpose.model_files import SSD_OIDV4, model_file

    try:
        model_file(SSD_OIDV4)
    except DependencyError:
        pytest.skip("ssd model not installed")
    from fdpose.cli.main import cli

    src = shared_data / "real" / "finediving_10m_clipA"
    clip = tmp_path / "frames" / "realA" / "0"
    clip.mkdir(parents=True)
    for i, path in enumerate(sorted(src.glob("*.jpg"))[:10]):
        (clip / f"{i:05d}.jpg").symlink_to(path)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["track-and-estimate", str(tmp_path / "frames"), "-o", str(out), "--json",
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{"):])
    assert summary["clips"]["done"] == 1
    assert summary["models"]["detector"]["name"] == "ssd"
    assert "sha256:d0a5255b" in summary["models"]["detector"]["checkpoint"]
    assert summary["models"]["pose"]["name"] == "mediapipe"
    record = json.loads(next(out.glob("*.json")).read_text())
    assert record["backends"]["detector"]["name"] == "ssd"
    boxes = [f["bbox"] for f in record["frames"] if f["bbox"] is not None]
    assert len(boxes) >= 8  # the diver is boxed in (nearly) every frame of these 10
    keypoints = np.load(next(out.rglob("pred_comp_*.npz")))
    assert next(iter(keypoints.values())).shape[1:] == (16, 3)


def test_no_flag_run_on_a_real_video_file(shared_data: Path, tmp_path: Path) -> None:
    """Users bring video files: real clip A encoded as an mp4 (25 fps, OpenCV's mp4v) goes through the no-flag
    run like its frames do. Measured: the diver boxed in 34/34 frames, PCKh@0.5 0.847 against the labels since
    the pose default became the landmark model on the box's ROI (session 10, tree b61fc0a; 0.761 with
    --pose-set roi_source=detector in the same tree, 0.783 before the tracker changes of session 10)."""
    pytest.importorskip("mediapipe")
    cv2 = pytest.importorskip("cv2")
    from fdpose.model_files import SSD_OIDV4, model_file

    try:
        model_file(SSD_OIDV4)
    except DependencyError:
        pytest.skip("ssd model not installed")
    from fdpose.cli.main import cli
    from fdpose.metrics.pose import pckh

    src = shared_data / "real" / "finediving_10m_clipA"
    labels = json.loads((src / "labels_mpii.json").read_text())
    images = [cv2.imread(str(src / r["image"])) for r in labels]
    h, w = images[0].shape[:2]
    video = tmp_path / "videos" / "clipA.mp4"
    video.parent.mkdir()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (w, h))
    for im in images:
        writer.write(im)
    writer.release()
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["-q", "track-and-estimate", str(video.parent), "-o", str(out), "--json",
                                   "--no-progress"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{"):])
    assert summary["clips"]["done"] == 1 and summary["frames"] == 34
    record = json.loads((out / "clipA.json").read_text())
    assert record["source"]["kind"] == "video" and record["fps"] == pytest.approx(25.0)
    assert sum(f["bbox"] is not None for f in record["frames"]) == 34
    kps = np.array([[[np.nan if v is None else v for v in j] for j in f["keypoints"]] for f in record["frames"]])
    gt = np.array([r["joints"] for r in labels], dtype=float)
    vis = np.array([r["joints_vis"] for r in labels], dtype=bool)
    assert pckh(kps[..., :2], gt, vis).mean >= 0.82  # measured 0.847 (the detector path: 0.761)
    assert (out / "pose" / "clipA" / "pred_comp_clipA.npz").is_file()
