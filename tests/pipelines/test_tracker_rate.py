"""The seed's minimum tracklet length counted at the clip's frame rate when the source gives one
(pipelines/tracking/clip.py::seed_rate_config, SeedConfig.init_rate_fps), and the real armstand at
half its 10 fps (skips without ../shared)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from fdpose.pipelines.tracking import TrackerConfig
from fdpose.pipelines.tracking.clip import seed_rate_config, track_clip


@pytest.mark.parametrize(("fps", "frames"), [(25.0, 5), (50.0, 5), (20.0, 4), (15.0, 3), (10.0, 2), (5.0, 2),
                                             (0.0, 5), (float("nan"), 5)])
def test_init_min_frames_follows_the_rate(fps: float, frames: int) -> None:
    assert seed_rate_config(TrackerConfig(), fps).seed.init_min_frames == frames


def test_rate_scaling_can_be_switched_off() -> None:
    assert seed_rate_config(TrackerConfig().with_(init_rate_fps=0.0), 10.0).seed.init_min_frames == 5
    assert seed_rate_config(TrackerConfig().without("seed"), 10.0).seed.init_min_frames == 5


def test_the_rate_counts_distinct_frames(caplog: pytest.LogCaptureFixture) -> None:
    """A 50 fps delivery of 25 fps pictures (every frame twice) is a 25 fps clip for the seed; a
    20 fps delivery of 10 fps pictures a 10 fps one."""
    cands = [np.array([[10.0 + 4 * (t // 2), 10, 30 + 4 * (t // 2), 60, 0.9]]) for t in range(20)]
    with caplog.at_level("INFO", logger="fdpose.pipelines.tracking.clip"):
        out = track_clip(cands, TrackerConfig(), sources=np.arange(20) // 2 * 2, fps=50.0)
        assert out.repeats == 10 and np.isfinite(out.track.boxes[:, 0]).all() and "may seed" not in caplog.text
        track_clip(cands, TrackerConfig(), sources=np.arange(20) // 2 * 2, fps=20.0)
    assert "10 distinct frames/s, tracklets of 2 frames may seed" in caplog.text


def test_armstand_at_half_its_rate(shared_data: Path, robustness_bench: tuple[ModuleType, object]) -> None:
    """At 5 fps (every second frame of the 10 fps armstand) the diver's boxes last 2-3 frames, too
    short to seed with 5, and with only the longest tracklets eligible (4 frames: the seated
    official's) the track is wrong on frames 0-3 (3/11 right). Either rule fixes it: given the
    rate, tracklets of 2 frames may seed; without it, since no tracklet reaches 5 frames
    (``init_short_min_frames``): 6/11 (docs/tracker_robustness.md)."""
    mod, det = robustness_bench
    clip = mod.load_clips(shared_data)["mtlaqa_10m_armstand"]
    half = mod.TRANSFORMS["stride2"](clip)
    longest = TrackerConfig().with_(init_short_min_frames=10 ** 6)  # (the rule before: only the longest)
    before = mod.score(half, *mod.track_default(half, det, longest))
    given = mod.score(half, *mod.track_default(half, det, longest, fps=5.0))
    default = mod.score(half, *mod.track_default(half, det))
    assert (before["right"], before["fails"]["wrong"]) == (3, [0, 1, 2, 3])
    assert given["right"] == default["right"] == 6 and given["fails"]["wrong"] == default["fails"]["wrong"] == []
