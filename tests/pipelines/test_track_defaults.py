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
