"""benchmarks/official_metrics_check.py: our metrics against an official run's printed evaluation lines."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

import numpy as np
from scipy import stats

LOG = """[TEST] EPOCH: 3, tIoU_5: 0.875834, tIoU_75: 0.503338
-----New best found!-----
[TEST] EPOCH: 3, correlation: {rho:.6f}, L2: {l2:.6f}, RL2: {rl2:.6f}
[TEST] EPOCH: 3, best correlation: {rho:.6f}, best L2: 1.000000, best RL2: 0.000100
[TEST] EPOCH: 4, correlation: 0.100000, L2: {l2:.6f}, RL2: {rl2:.6f}
"""


def test_the_printed_line_of_the_same_predictions_is_found(benchmark_module: Callable[[str], ModuleType]) -> None:
    bench = benchmark_module("official_metrics_check")
    rng = np.random.default_rng(0)
    true = rng.uniform(20, 100, 50)
    pred = true + rng.normal(0, 8, 50)
    # the codes' own formulas (tools/runner.py validate), written out
    rho = stats.spearmanr(pred, true)[0]
    l2 = np.power(pred - true, 2).sum() / true.shape[0]
    rl2 = np.power((pred - true) / (true.max() - true.min()), 2).sum() / true.shape[0]
    out = bench.check(pred, true, LOG.format(rho=rho, l2=l2, rl2=rl2))
    assert out["queries"] == 50 and abs(out["srcc"] - rho) < 1e-12 and abs(out["l2"] - l2) < 1e-9
    assert abs(out["rl2"] - rl2) < 1e-12 and abs(out["rl2_x100"] - 100 * rl2) < 1e-10
    assert out["log_evaluations"] == 2  # the "best ..." line is not an evaluation
    assert [ln["epoch"] for ln in out["matching_lines"]] == [3]  # epoch 4 has another correlation
