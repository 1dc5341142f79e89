"""benchmarks/pose_synth.py: the synth world's ground-truth boxes through a pose config, scored per body orientation.

A 1-clip, 30-frame world (seed 0) with the default pose path (the landmark model on the box's region); the
figures of the 4-clip seed-7 world are in docs/pose.md section 6.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np
import pytest


def test_synth_bench_scores_a_small_world(tmp_path: Path, benchmark_module: Callable[[str], ModuleType]) -> None:
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("mediapipe")
    from fdpose.pipelines.pose.mediapipe import MediaPipePoseConfig
    from fdpose.synth import SynthConfig, generate_world

    bench = benchmark_module("pose_synth")
    generate_world(SynthConfig(videos=1, seed=0, frames=30, write_video=False), tmp_path / "world")
    clips = bench.load_world(tmp_path / "world")
    assert len(clips) == 1 and len(clips[0]) >= 10
    path, box, joints = clips[0][0]
    assert path.is_file() and box.shape == (4,) and joints.shape == (16, 3)
    res = bench.run(clips, MediaPipePoseConfig())
    assert res["frames"] == len(clips[0])
    for key in ("all", "interp", "placed"):
        assert 0.0 <= res[key] <= 1.0, (key, res)
    # filling unplaced joints never scores below leaving them out (they count as wrong in "all")
    assert res["interp"] >= res["all"] - 1e-9
    assert res["all"] > 0.0 and np.isfinite(res["ms_per_frame"])
