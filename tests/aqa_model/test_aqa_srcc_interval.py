"""srcc_interval (scipy.stats.bootstrap, paired, percentile) against a resample-by-resample reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fdpose.aqa_model.metrics import srcc_interval


def reference_interval(pred: np.ndarray, true: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """Resample query indices with replacement, scipy's spearmanr on each, drop the undefined
    (all-tied) resamples, 2.5 / 97.5 percentiles."""
    idx = np.random.default_rng(seed).integers(0, pred.size, size=(resamples, pred.size))
    rhos = []
    for row in idx:
        p, t = pred[row], true[row]
        if np.ptp(p) > 0 and np.ptp(t) > 0:
            rhos.append(stats.spearmanr(p, t)[0])
    lo, hi = np.quantile(rhos, [0.025, 0.975])
    return float(lo), float(hi)


@pytest.mark.parametrize("n", [4, 6, 25])
def test_interval_equals_the_reference(n: int) -> None:
    rng = np.random.default_rng(n)
    true = rng.normal(70, 10, n)
    pred = np.round(true + rng.normal(0, 8, n))  # rounded: ties inside resamples
    assert srcc_interval(pred, true, resamples=500, seed=3) == pytest.approx(reference_interval(pred, true, 500, 3))


def test_all_resamples_tied_gives_nan() -> None:
    lo, hi = srcc_interval(np.array([2.0, 2.0, 2.0]), np.array([3.0, 1.0, 3.5]), resamples=50, seed=0)
    assert np.isnan(lo) and np.isnan(hi)  # constant predictions: every resample undefined
    lo, hi = srcc_interval(np.array([1.0, 2.0]), np.array([1.0, 2.0]), resamples=50, seed=0)
    assert (lo, hi) == (1.0, 1.0)  # only the un-tied resamples [0, 1] / [1, 0] count
