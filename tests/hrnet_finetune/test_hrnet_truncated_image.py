"""finetune-hrnet on labels whose frame image is a truncated JPEG: one ``error:`` line naming the label and
the image before anything is trained (mmpose's loader failed inside the first epoch with an AssertionError
traceback, ``failed to load image: WORK/data/train/images/000001.jpg``, a copy the user never made)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli

pytest.importorskip("mmpose")


def test_truncated_labelled_image_is_refused_up_front(tmp_path: Path) -> None:
    from fdpose.synth.config import SynthConfig
    from fdpose.synth.world import generate_world

    generate_world(SynthConfig(videos=2, seed=2, frames=30, write_video=False), tmp_path / "w")
    label = sorted((tmp_path / "w" / "labelme").rglob("*.json"))[3]
    image = sorted((tmp_path / "w" / "frames").rglob(label.stem + ".jpg"))
    image = [p for p in image if p.parent.name == label.parent.name and p.parent.parent.name == label.parent.parent.name]
    assert len(image) == 1
    data = image[0].read_bytes()
    image[0].write_bytes(data[: len(data) // 3])
    work = tmp_path / "work"
    res = CliRunner().invoke(cli, ["-q", "finetune-hrnet", str(tmp_path / "w" / "labelme"), "-o", str(work), "--arch",
                                   "hrnet-small", "--epochs", "1", "--input-size", "64x64", "--workers", "0",
                                   "--device", "cpu", "--threads", "1"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {label}: ") and image[0].name in lines[0], res.output
    assert "truncated JPEG" in lines[0]
    assert not list(work.rglob("*.pth"))
