"""Black bars around the picture (pipelines/detectors/bars.py) and the ``ssd`` detector on a
letterboxed / pillarboxed real frame (skips without ../shared or the model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.pipelines.detectors.bars import picture_area


def _picture(rng: np.random.Generator, h: int = 90, w: int = 160) -> np.ndarray:
    return rng.integers(40, 255, size=(h, w, 3), dtype=np.uint8)


def _framed(pic: np.ndarray, top: int, left: int, h: int, w: int) -> np.ndarray:
    out = np.zeros((h, w, 3), dtype=np.uint8)
    out[top:top + pic.shape[0], left:left + pic.shape[1]] = pic
    return out


def test_letterbox_and_pillarbox_bars_are_found(rng: np.random.Generator) -> None:
    pic = _picture(rng)
    assert picture_area(_framed(pic, 15, 0, 120, 160)) == (0, 15, 160, 105)
    assert picture_area(_framed(pic, 0, 30, 90, 220)) == (30, 0, 190, 90)
    assert picture_area(pic) == (0, 0, 160, 90)


def test_bars_survive_jpeg_noise(rng: np.random.Generator) -> None:
    import cv2

    framed = _framed(_picture(rng), 15, 0, 120, 160)
    ok, buf = cv2.imencode(".jpg", framed, [cv2.IMWRITE_JPEG_QUALITY, 30])
    x0, y0, x1, y1 = picture_area(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    # (ringing lights the bar rows of the picture's last JPEG block: the area found holds the
    # whole picture and at most one 8-row block of bar each side)
    assert (x0, x1) == (0, 160) and 7 <= y0 <= 15 and 105 <= y1 <= 113


def test_dark_picture_edges_are_not_bars(rng: np.random.Generator) -> None:
    pic = _picture(rng)
    pic[:1] = 0  # (one black row: under min_bar, 2% of 90 rows)
    pic[:, -40:, :] //= 8  # (a dark stand: dim, not black)
    assert picture_area(pic) == (0, 0, 160, 90)
    assert picture_area(np.zeros((90, 160, 3), dtype=np.uint8)) == (0, 0, 160, 90)  # (black throughout)
    half = pic.copy()
    half[:, :10] = 0
    half[5:20, :10] = 200  # (a bright patch in the left edge columns: not a bar)
    assert picture_area(half) == (0, 0, 160, 90)


@pytest.mark.parametrize("where", ["letterbox", "pillarbox"])
def test_ssd_finds_the_same_boxes_inside_bars(where: str, shared_data: Path) -> None:
    """Bars off, the SSD found the diver (IoU >= 0.5 with clip A's labels) in 28 / 25 of 34
    frames with bars and 34 without (benchmarks/real_robustness.py): inside bars it now returns
    the bare frame's boxes, shifted."""
    import cv2

    from fdpose.errors import DependencyError
    from fdpose.pipelines.detectors.ssd import SSDConfig, SSDDetector

    try:
        det = SSDDetector()
    except DependencyError as err:
        pytest.skip(f"ssd model not installed: {err}")
    frame = cv2.imread(str(sorted((shared_data / "real" / "finediving_10m_clipA").glob("*.jpg"))[0]))
    h, w = frame.shape[:2]
    top, left = ((w * 3 // 4 - h) // 2, 0) if where == "letterbox" else (0, w // 6)
    framed = _framed(frame, top, left, h + 2 * top, w + 2 * left)
    bare = det.detect([frame], [0])[0]
    got = det.detect([framed], [0])[0]
    assert len(bare) and np.allclose(got.xyxy, bare.xyxy + [left, top, left, top]) and np.allclose(got.score, bare.score)
    old = SSDDetector(SSDConfig(trim_bars=False)).detect([framed], [0])[0]
    assert len(old) != len(got) or not np.allclose(old.xyxy, got.xyxy)  # (the bars did change them)
