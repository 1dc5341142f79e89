"""finetune-hrnet on labels whose frame image cannot be trained on as labelled: one ``error:`` line naming the
label and the image before anything is trained. A truncated JPEG: mmpose's loader failed inside the first
epoch with an AssertionError traceback (``failed to load image: WORK/data/train/images/000001.jpg``, a copy
the user never made); an image of another size than the label declares: trained silently, exit 0."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli

pytest.importorskip("mmpose")


def _world_with_one_image_changed(tmp_path: Path, change: Callable[[Path], None]) -> tuple[Path, Path]:
    """A 2-clip synth world; ``change`` applied to the image of its 4th label. Returns (label, image)."""
    from fdpose.synth.config import SynthConfig
    from fdpose.synth.world import generate_world

    generate_world(SynthConfig(videos=2, seed=2, frames=30, write_video=False), tmp_path / "w")
    label = sorted((tmp_path / "w" / "labelme").rglob("*.json"))[3]
    image = tmp_path / "w" / "frames" / label.parent.parent.name / label.parent.name / (label.stem + ".jpg")
    assert image.is_file()
    change(image)
    return label, image


def _finetune_error(tmp_path: Path) -> str:
    work = tmp_path / "work"
    res = CliRunner().invoke(cli, ["-q", "finetune-hrnet", str(tmp_path / "w" / "labelme"), "-o", str(work), "--arch",
                                   "hrnet-small", "--epochs", "1", "--input-size", "64x64", "--workers", "0",
                                   "--device", "cpu", "--threads", "1"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and not list(work.rglob("*.pth")), res.output
    return lines[0]


def test_truncated_labelled_image_is_refused_up_front(tmp_path: Path) -> None:
    def cut(image: Path) -> None:
        data = image.read_bytes()
        image.write_bytes(data[: len(data) // 3])

    label, image = _world_with_one_image_changed(tmp_path, cut)
    line = _finetune_error(tmp_path)
    assert line.startswith(f"error: {label}: image file ") and image.name in line and "truncated JPEG" in line, line


def test_image_of_another_size_is_refused_up_front(tmp_path: Path) -> None:
    def shrink(image: Path) -> None:
        cv2.imwrite(str(image), cv2.resize(cv2.imread(str(image)), (100, 50)))

    label, image = _world_with_one_image_changed(tmp_path, shrink)
    line = _finetune_error(tmp_path)
    assert line.startswith(f"error: {label}: image file ") and line.endswith(
        "is 100x50 but the label declares 455x256 (imageWidth x imageHeight): its points belong to another picture"), line
