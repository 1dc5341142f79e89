"""A truncated JPEG in the frame tree the AQA commands read (train-aqa, eval-aqa, score with --data):
decoded (the missing rows grey, as OpenCV does) with one fdpose WARNING naming the file, once however
many epochs read it, and without libjpeg's own "Premature end of JPEG file" line on stderr (DEBUG, -v).

track-and-estimate warned already (fdpose.video.read_image); the AQA loader decoded such frames silently.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from fdpose.aqa_model.data.finediving import load_video


def _frames(folder: Path, n: int = 4) -> list[Path]:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    files = []
    for i in range(n):
        path = folder / f"{i:05d}.jpg"
        cv2.imwrite(str(path), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
        files.append(path)
    return files


def test_truncated_frame_warns_once_and_keeps_libjpeg_quiet(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                            capfd: pytest.CaptureFixture[str]) -> None:
    files = _frames(tmp_path / "m" / "1")
    cut = files[2]
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # three epochs
            video, width = load_video(files, np.arange(4), 32)
            assert video.shape == (4, 3, 32, 32) and width == 64 and np.isfinite(video).all()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"{cut}: truncated JPEG (no end-of-image marker): only its first rows are real"]
    assert "Premature end of JPEG" not in capfd.readouterr().err


def test_whole_frames_give_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files = _frames(tmp_path / "m" / "2")
    with caplog.at_level(logging.WARNING):
        load_video(files, np.arange(4), 32)
    assert not caplog.records
