"""AQA metrics: the published MCoRe figures, hand-checked IoU / AIoU cases, input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.aqa_model.metrics import (aiou, interval_iou, l2, query_iou, relative_l2, score_metrics, srcc,
                                      stage_segments)
from fdpose.errors import ValidationError


def test_reproduces_published_mcore_figures(shared_data: Path) -> None:
    folder = shared_data / "mcore_predictions"
    if not (folder / "pred.npy").is_file():
        pytest.skip("shared MCoRe predictions not available")
    pred, true = np.load(folder / "pred.npy"), np.load(folder / "true.npy")
    m = score_metrics(pred, true)
    assert m.count == 749
    assert m.srcc == pytest.approx(0.927014, abs=5e-7)
    assert m.l2 == pytest.approx(35.702523, abs=5e-7)
    assert round(m.rl2_x100, 4) == 0.3276
    assert (m.range_min, m.range_max) == (0.0, 104.4)
    assert "range 0-104.4" in m.describe()


def test_score_metrics_small_hand_example() -> None:
    true = np.array([10.0, 20.0, 30.0, 50.0])
    pred = np.array([12.0, 18.0, 35.0, 45.0])
    assert srcc(pred, true) == pytest.approx(1.0)
    assert l2(pred, true) == pytest.approx((4 + 4 + 25 + 25) / 4)
    rl2, rng = relative_l2(pred, true)
    assert rng == (10.0, 50.0)
    assert rl2 == pytest.approx(100 * np.mean((np.array([2, -2, 5, -5]) / 40.0) ** 2))
    rl2_fixed, rng_fixed = relative_l2(pred, true, score_range=(0.0, 100.0))
    assert rng_fixed == (0.0, 100.0) and rl2_fixed < rl2
    assert srcc(pred[::-1], true) == pytest.approx(-1.0)


def test_interval_iou_cases() -> None:
    assert interval_iou((0, 10), (0, 10)) == 1.0
    assert interval_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert interval_iou((0, 4), (6, 9)) == 0.0
    assert interval_iou((3, 3), (3, 3)) == 1.0  # identical zero-length segments count
    assert interval_iou((3, 3), (4, 4)) == 0.0


def test_span_mode_is_flight_segment_between_transitions() -> None:
    # public code: IoU of [t1, t2] intervals
    assert query_iou([30, 70], [30, 70]) == 1.0
    assert query_iou([40, 70], [30, 70]) == pytest.approx(30 / 40)
    assert query_iou([70, 40], [30, 70]) == pytest.approx(30 / 40)  # order does not matter


def test_stages_mode_mean_over_all_stage_segments() -> None:
    segs = stage_segments([30, 70], 96)
    assert segs == [(0.0, 30.0), (30.0, 70.0), (70.0, 95.0)]
    iou = query_iou([40, 70], [30, 70], mode="stages", num_frames=96)
    expected = np.mean([30 / 40, 30 / 40, 1.0])
    assert iou == pytest.approx(expected)
    # one transition (K=2) works in stages mode, not in span mode
    assert query_iou([48], [48], mode="stages", num_frames=96) == 1.0
    with pytest.raises(ValidationError, match="span"):
        query_iou([48], [48])


def test_aiou_shares_at_thresholds() -> None:
    true = np.array([[30, 70], [30, 70], [30, 70], [30, 70]])
    pred = np.array([[30, 70],  # IoU 1
                     [35, 70],  # 35/40 = 0.875
                     [40, 70],  # 0.75 (counts at 0.75: >=)
                     [50, 90]])  # 20/60 = 0.33
    shares = aiou(pred, true)
    assert shares == {0.5: 75.0, 0.75: 75.0}
    assert aiou(pred, true, thresholds=(0.8,))[0.8] == 50.0


def test_metric_input_errors() -> None:
    with pytest.raises(ValidationError, match="differ in length"):
        srcc([1, 2, 3], [1, 2])
    with pytest.raises(ValidationError, match="NaN"):
        l2([1, np.nan], [1, 2])
    with pytest.raises(ValidationError, match="range"):
        relative_l2([1, 2], [5, 5])
    with pytest.raises(ValidationError, match=r"\(N, K-1\)"):
        aiou(np.zeros((3, 2)), np.zeros((3, 1)))


def test_srcc_interval_is_seeded_and_shrinks_with_more_queries() -> None:
    from fdpose.aqa_model.metrics import srcc_interval

    rng = np.random.default_rng(0)
    true = rng.normal(70, 10, 400)
    pred = true + rng.normal(0, 10, 400)  # a model with SRCC around 0.7
    rho = srcc(pred, true)
    lo, hi = srcc_interval(pred, true)
    assert lo < rho < hi and hi - lo < 0.15  # 400 queries: a narrow interval
    assert srcc_interval(pred, true) == (lo, hi)  # seeded
    lo6, hi6 = srcc_interval(pred[:6], true[:6])
    assert hi6 - lo6 > 0.5  # 6 queries, as in the quick demo: wide
    # the bootstrap's rank correlation equals scipy's on the original sample
    assert srcc_interval(true, true) == (1.0, 1.0)
    assert srcc_interval(-true, true) == pytest.approx((-1.0, -1.0))
    with pytest.raises(ValidationError, match="level"):
        srcc_interval(pred, true, level=1.5)
