"""A frame of another size inside a clip the AQA commands read: one InputError naming it and both sizes, as
track-and-estimate refuses it (the loader cropped it with the first frame's offsets and trained on it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fdpose.aqa_model.data.finediving import load_video
from fdpose.errors import InputError


def _clip(folder: Path, sizes: list[tuple[int, int]], ext: str = ".jpg") -> list[Path]:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    files = []
    for i, (w, h) in enumerate(sizes):
        path = folder / f"{i:05d}{ext}"
        cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        files.append(path)
    return files


@pytest.mark.parametrize("size", [32, 16])  # full decode and a reduced one (factor 2 at 16 px from 48 rows)
def test_frame_of_another_size_is_named(tmp_path: Path, size: int) -> None:
    files = _clip(tmp_path / "c", [(64, 48), (64, 48), (40, 30), (64, 48)])
    with pytest.raises(InputError) as err:
        load_video(files, np.arange(4), size)
    assert str(err.value) == f"{files[2]}: frame size 40x30 differs from the clip's first frame 64x48"


@pytest.mark.parametrize("ext", [".jpg", ".png"])  # reduced decodes: ceil(W / r) for JPEG, floor for PNG
@pytest.mark.parametrize("width", [455, 457])
def test_equal_frames_pass_at_every_decode_factor(tmp_path: Path, width: int, ext: str) -> None:
    files = _clip(tmp_path / "c", [(width, 255)] * 3, ext)
    for size in (224, 112, 64, 32):
        video, raw = load_video(files, np.arange(3), size)
        assert video.shape == (3, 3, size, size) and raw == width
