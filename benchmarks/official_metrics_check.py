"""Check fdpose's SRCC / L2 / R-l2 against an official run's own printed figures (a developer tool).

    git -C <MCoRe clone> show HEAD:experiments/FineDiving/w_DN/rny002_gsm_gru_0127_1942/pred.npy > /tmp/pred.npy
    git -C <MCoRe clone> show HEAD:experiments/FineDiving/w_DN/rny002_gsm_gru_0127_1942/true.npy > /tmp/true.npy
    git -C <MCoRe clone> show HEAD:logs/LOG_Train_rny002_gsm_gru_0127_1942.log > /tmp/train.log
    python benchmarks/official_metrics_check.py /tmp/pred.npy /tmp/true.npy --log /tmp/train.log

The codes save the predictions of their best test evaluation (``helper.save_outputs``: ``pred.npy``,
``true.npy``) and print ``[TEST] EPOCH: e, correlation: x, L2: y, RL2: z`` for every evaluation (RL2 not
x100). This scores the two arrays with :func:`fdpose.aqa_model.metrics.score_metrics` and, given the log,
finds the evaluation lines whose printed correlation equals ours at the printed precision. Prints one JSON
object. Measured result in docs/aqa.md ("The metrics against an official run's own output").
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from fdpose.aqa_model.metrics import score_metrics

#: one evaluation line of the codes' training log (tools/runner.py ``validate``)
TEST_LINE = re.compile(r"\[TEST\] EPOCH: (\d+), correlation: ([-\d.]+), L2: ([-\d.]+), RL2: ([-\d.]+)")


def log_lines(text: str) -> list[dict[str, Any]]:
    """Every ``[TEST] EPOCH`` evaluation line (not the "best" lines) -> epoch, correlation, l2, rl2 (strings kept
    for their printed precision)."""
    return [{"epoch": int(m[1]), "correlation": m[2], "l2": m[3], "rl2": m[4]} for m in TEST_LINE.finditer(text)]


def _same(printed: str, value: float) -> bool:
    digits = len(printed.split(".")[1]) if "." in printed else 0
    return f"{value:.{digits}f}" == printed


def check(pred: np.ndarray, true: np.ndarray, log_text: str | None = None) -> dict[str, Any]:
    m = score_metrics(pred, true)
    out: dict[str, Any] = {"queries": m.count, "srcc": m.srcc, "l2": m.l2, "rl2": m.rl2_x100 / 100.0,
                           "rl2_x100": m.rl2_x100, "range": [m.range_min, m.range_max]}
    if log_text is not None:
        lines = log_lines(log_text)
        out["log_evaluations"] = len(lines)
        out["matching_lines"] = [ln for ln in lines if _same(ln["correlation"], m.srcc)
                                 and _same(ln["l2"], m.l2) and _same(ln["rl2"], m.rl2_x100 / 100.0)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pred", type=Path)
    ap.add_argument("true", type=Path)
    ap.add_argument("--log", type=Path)
    args = ap.parse_args()
    text = args.log.read_text(errors="replace") if args.log else None
    print(json.dumps(check(np.load(args.pred), np.load(args.true), text), indent=2))


if __name__ == "__main__":
    main()
