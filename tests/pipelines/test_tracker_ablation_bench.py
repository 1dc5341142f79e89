"""benchmarks/tracker_ablation.py: the variants it compares and how it scores interpolated boxes."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

import numpy as np

from fdpose.pipelines.tracking import TrackDecision
from fdpose.pipelines.tracking.config import REFINEMENTS, TrackerConfig



def test_every_refinement_is_switched_against_the_defaults(benchmark_module: Callable[[str], ModuleType]) -> None:
    v = benchmark_module("tracker_ablation").variants()
    base = TrackerConfig()
    for name in REFINEMENTS:
        if getattr(base, name).enabled:
            assert not getattr(v[f"all on, {name} off"], name).enabled
        else:  # (off by default: measured switched on)
            assert getattr(v[f"defaults + {name}"], name).enabled
    assert v["defaults + fill"].fill.enabled and not base.fill.enabled
    assert v["defaults + thin-box refinement (redetect)"].redetect.refine_thin
    assert v["all on (default)"] == base and v["Eq. 25 alone (paper)"].refinements_off


def test_real_right_counts_a_filled_box_only_by_its_overlap(benchmark_module: Callable[[str], ModuleType]) -> None:
    real_right = benchmark_module("tracker_ablation").real_right
    gt = [np.array([0.0, 0.0, 10.0, 10.0])] * 4 + [None]
    under = [False] * 5
    cands = [np.array([[0.0, 0.0, 10.0, 10.0, 0.9]])] + [np.zeros((0, 5))] * 4
    boxes = np.full((5, 5), np.nan)
    boxes[0] = [0.0, 0.0, 10.0, 10.0, 0.9]  # detected and chosen
    boxes[1] = [1.0, 0.0, 11.0, 10.0, 0.9]  # filled on the diver (IoU 0.82)
    boxes[2] = [6.0, 0.0, 16.0, 10.0, 0.9]  # filled beside him (IoU 0.25)
    issue, only = real_right(gt, under, cands, boxes, filled=[1, 2])
    assert issue.tolist() == [True, True, False, False, True]  # (3: visible, no box; 4: nobody, no box)
    # tracker-only: an undetected frame expects no box - except a filled one, judged by IoU
    assert only.tolist() == [True, True, False, True, True]
    _, plain = real_right(gt, under, cands, boxes)
    assert plain.tolist() == [True, False, False, True, True]


def test_filled_frames_are_read_from_the_decisions(benchmark_module: Callable[[str], ModuleType]) -> None:
    d = [TrackDecision.INIT, TrackDecision.FILLED, TrackDecision.LOST, TrackDecision.FILLED]
    assert benchmark_module("tracker_ablation")._filled(d) == [1, 3]
