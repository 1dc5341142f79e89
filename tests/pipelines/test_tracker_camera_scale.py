"""The pixel camera at other frame sizes (CameraConfig.work_min_diagonal / work_max_diagonal):
its px settings were tuned on 522-573 px diagonals, so other sizes are measured resized into
that range (docs/tracker_robustness.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.pipelines.tracking import TrackerConfig
from fdpose.pipelines.tracking.camera import motion_from_frames, work_scale
from fdpose.errors import ConfigError


def test_work_scale_leaves_the_dev_sizes_alone() -> None:
    cfg = TrackerConfig().camera
    assert work_scale((256, 455, 3), cfg) == 1.0 and work_scale((281, 500), cfg) == 1.0
    assert work_scale((720, 1280, 3), cfg) == pytest.approx(600 / np.hypot(720, 1280))
    assert work_scale((154, 273), cfg) == pytest.approx(450 / np.hypot(154, 273))
    with pytest.raises(ConfigError, match="work_min_diagonal"):
        TrackerConfig().with_(camera={"work_min_diagonal": 700.0})


def test_resized_frames_give_the_shift_in_their_own_pixels(rng: np.random.Generator) -> None:
    """A textured scene panned by (6, -4) px per frame at 1280x720: the steps come back in the
    frame's px although they are measured at a 600 px diagonal."""
    import cv2

    scene = cv2.GaussianBlur(rng.integers(0, 255, size=(800, 1400), dtype=np.uint8), (0, 0), 2.0)
    frames = [np.ascontiguousarray(scene[40 - 4 * t:760 - 4 * t, 20 + 6 * t:1300 + 6 * t]) for t in range(4)]
    cam = motion_from_frames(frames, [np.zeros((0, 5))] * 4, TrackerConfig().camera)
    assert cam.known.all()
    assert np.allclose(cam.step_shift[1:], [[-6.0, 4.0]] * 3, atol=0.5) and np.allclose(cam.step_scale, 1.0, atol=0.01)


@pytest.mark.parametrize("factor, tolerance", [(0.6, 2.0), (2.56, 3.0)])
def test_armstand_camera_does_not_depend_on_the_frame_size(factor: float, tolerance: float,
                                                           shared_data: Path) -> None:
    """The real armstand clip resized: the camera measures as many steps as at the dev size, and
    those both measured agree within ``tolerance`` px (dev size). Measured max errors with / without
    the working range: x0.6 1.73 / 2.67 px (15 steps known without it, 14 at the dev size), x2.56
    2.57 / 10.44 px."""
    import cv2

    files = sorted((shared_data / "real" / "mtlaqa_10m_armstand").glob("*.jpg"))
    images = [cv2.imread(str(f)) for f in files]
    none = [np.zeros((0, 5))] * len(images)
    cfg = TrackerConfig().camera
    ref = motion_from_frames(images, none, cfg)
    h, w = images[0].shape[:2]
    size = (round(w * factor), round(h * factor))
    resized = [cv2.resize(im, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR) for im in images]
    cam = motion_from_frames(resized, none, cfg)
    assert cam.known.sum() == ref.known.sum()
    both = ref.known[1:] & cam.known[1:]
    err = np.hypot(*(cam.step_shift[1:][both] / factor - ref.step_shift[1:][both]).T)
    assert err.max() < tolerance
