"""AQA metrics (method.md 3.6): SRCC, L2, relative L2 and AIoU@theta.

Conventions follow the public MCoRe / HP-MCoRe evaluation code so that numbers are comparable
with the papers (method.md 3.7):

* ``SRCC``: Spearman rank correlation of predicted vs true scores (``scipy.stats.spearmanr``).
* ``L2``: mean squared error ``mean((pred - true)^2)`` (the value the MCoRe log prints as L2).
* ``R-l2``: ``mean(((pred - true) / (true.max() - true.min()))^2)``; the range comes from the
  ground truth of the *scored set* itself, and the papers report it x100. The range used is
  returned with the value so that reports can state it.
* ``AIoU@theta``: per query, a temporal IoU between the predicted and the true stage segments;
  the query counts as correct when IoU >= theta; AIoU is the share of correct queries (in %).

Segments from transitions (exact definition). A video of ``T`` sampled frames with ``K`` stages
has ``K-1`` transition frames ``t_1 <= ... <= t_{K-1}``. Segments are continuous intervals on
the frame axis whose length is ``end - start`` (not a count of frames), as in the public code.

* ``mode="span"`` (default, the public code's definition): the single segment
  ``[t_1, t_{K-1}]`` between the first and the last transition; for diving (K=3) this is the
  flight stage between take-off and entry. Needs at least two transitions.
* ``mode="stages"``: all K stage segments ``[b_k, b_{k+1}]`` with ``b_0 = 0``,
  ``b_k = t_k``, ``b_K = T - 1``; the query's IoU is the *mean* of the K per-stage IoUs.
  Works for any K >= 2 and is the documented choice for stage-count ablations.

IoU of ``[s1, e1]`` and ``[s2, e2]``: ``max(0, min(e1, e2) - max(s1, s2)) / union`` with
``union = (e1 - s1) + (e2 - s2) - intersection``; two identical zero-length segments give
IoU 1 (the public code would give 0/eps = 0 there; identical predictions should count).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Literal, Sequence

import numpy as np
from scipy import stats

from fdpose.errors import ValidationError

AIoUMode = Literal["span", "stages"]


@dataclass(frozen=True)
class ScoreMetrics:
    """Score-regression metrics over one scored set.

    srcc: Spearman rank correlation; l2: mean squared error; rl2_x100: relative L2 x 100;
    range_min/range_max: the ground-truth range used by R-l2; count: number of queries.
    """

    srcc: float
    l2: float
    rl2_x100: float
    range_min: float
    range_max: float
    count: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def describe(self) -> str:
        """One line for logs: states the R-l2 range as method.md 3.6 asks."""
        return (
            f"SRCC {self.srcc:.4f}  L2 {self.l2:.4f}  R-l2x100 {self.rl2_x100:.4f} "
            f"(range {self.range_min:g}-{self.range_max:g}, n={self.count})"
        )


def _scores(pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).reshape(-1)
    t = np.asarray(true, dtype=np.float64).reshape(-1)
    if p.shape != t.shape:
        raise ValidationError(f"predicted and true scores differ in length ({p.size} vs {t.size})")
    if p.size < 2:
        raise ValidationError(f"need at least 2 scored queries, got {p.size}")
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise ValidationError("scores contain NaN or infinite values")
    return p, t


def srcc(pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation of (N,) predicted vs (N,) true scores."""
    p, t = _scores(pred, true)
    return float(stats.spearmanr(p, t)[0])


def srcc_interval(pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray, level: float = 0.95,
                  resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the SRCC of (N,) scores (``scipy.stats.bootstrap``, paired:
    queries resampled with replacement).

    With the few dozen test dives of a small world SRCC moves a lot between equally good models;
    the interval says how much. Resamples whose predicted or true scores are all tied (SRCC
    undefined) are dropped. Seeded: the same inputs give the same interval.
    """
    p, t = _scores(pred, true)
    if not 0 < level < 1:
        raise ValidationError(f"level must be in (0, 1), got {level}")
    with warnings.catch_warnings():  # tied resamples give NaN, which the percentiles below leave out
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap((p, t), _rank_correlation, paired=True, vectorized=True, n_resamples=resamples,
                              confidence_level=level, method="percentile", random_state=np.random.default_rng(seed))
    rho = res.bootstrap_distribution[np.isfinite(res.bootstrap_distribution)]
    if rho.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(rho, [alpha, 1 - alpha])
    return float(lo), float(hi)


def _rank_correlation(p: np.ndarray, t: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho along ``axis`` of (..., N) scores (Pearson of average ranks, as ``spearmanr``);
    NaN where either side is all tied."""
    rp = stats.rankdata(p, axis=axis)
    rt = stats.rankdata(t, axis=axis)
    rp -= rp.mean(axis=axis, keepdims=True)
    rt -= rt.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rp * rt).sum(axis=axis) / np.sqrt((rp ** 2).sum(axis=axis) * (rt ** 2).sum(axis=axis))


def l2(pred: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray) -> float:
    """Mean squared error of (N,) scores (MCoRe's 'L2')."""
    p, t = _scores(pred, true)
    return float(np.mean((p - t) ** 2))


def relative_l2(
    pred: Sequence[float] | np.ndarray,
    true: Sequence[float] | np.ndarray,
    score_range: tuple[float, float] | None = None,
) -> tuple[float, tuple[float, float]]:
    """Relative L2 x 100 and the range used.

    score_range: (min, max) to normalise by; default the min/max of ``true`` (public code).
    Returns (rl2_x100, (range_min, range_max)).
    """
    p, t = _scores(pred, true)
    lo, hi = (float(t.min()), float(t.max())) if score_range is None else map(float, score_range)
    if not hi > lo:
        raise ValidationError(f"score range must be positive, got {lo}-{hi}")
    return float(100.0 * np.mean(((p - t) / (hi - lo)) ** 2)), (lo, hi)


def score_metrics(
    pred: Sequence[float] | np.ndarray,
    true: Sequence[float] | np.ndarray,
    score_range: tuple[float, float] | None = None,
) -> ScoreMetrics:
    """SRCC, L2 and R-l2 x100 (with its range) of one scored set."""
    rl2, (lo, hi) = relative_l2(pred, true, score_range)
    p, _ = _scores(pred, true)
    return ScoreMetrics(srcc(pred, true), l2(pred, true), rl2, lo, hi, int(p.size))


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Temporal IoU of two [start, end] intervals (length = end - start)."""
    s1, e1 = float(a[0]), float(a[1])
    s2, e2 = float(b[0]), float(b[1])
    if e1 < s1 or e2 < s2:
        raise ValidationError(f"interval end before start: {a} / {b}")
    inter = max(0.0, min(e1, e2) - max(s1, s2))
    union = (e1 - s1) + (e2 - s2) - inter
    if union <= 0.0:  # both zero-length: equal points overlap fully, distinct points not at all
        return 1.0 if s1 == s2 else 0.0
    return inter / union


def stage_segments(transitions: Sequence[float] | np.ndarray, num_frames: int) -> list[tuple[float, float]]:
    """The K stage intervals [b_k, b_{k+1}] from K-1 transitions (b_0 = 0, b_K = T - 1)."""
    t = sorted(float(x) for x in np.asarray(transitions).reshape(-1))
    bounds = [0.0, *t, float(num_frames - 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]


def query_iou(
    pred_transitions: Sequence[float] | np.ndarray,
    true_transitions: Sequence[float] | np.ndarray,
    mode: AIoUMode = "span",
    num_frames: int | None = None,
) -> float:
    """IoU of one query's predicted vs true segmentation (definitions in the module docstring)."""
    p = np.sort(np.asarray(pred_transitions, dtype=np.float64).reshape(-1))
    t = np.sort(np.asarray(true_transitions, dtype=np.float64).reshape(-1))
    if p.shape != t.shape:
        raise ValidationError(f"predicted and true transition counts differ ({p.size} vs {t.size})")
    if mode == "span":
        if p.size < 2:
            raise ValidationError("AIoU mode 'span' needs >= 2 transitions; use mode='stages'")
        return interval_iou((p[0], p[-1]), (t[0], t[-1]))
    if mode == "stages":
        if num_frames is None:
            raise ValidationError("AIoU mode 'stages' needs num_frames")
        ious = [interval_iou(a, b) for a, b in zip(stage_segments(p, num_frames), stage_segments(t, num_frames))]
        return float(np.mean(ious))
    raise ValidationError(f"unknown AIoU mode {mode!r}")


def aiou(
    pred_transitions: np.ndarray,
    true_transitions: np.ndarray,
    thresholds: Sequence[float] = (0.5, 0.75),
    mode: AIoUMode = "span",
    num_frames: int | None = None,
) -> dict[float, float]:
    """AIoU@theta in percent for each threshold.

    pred_transitions, true_transitions: (N, K-1) transition frames per query (the public code
    evaluates each of the 10 voting exemplars' copies of the query; the query's own
    segmentation does not depend on the exemplar, so one row per query gives the same share).
    Returns {theta: percentage of queries with IoU >= theta}.
    """
    p = np.asarray(pred_transitions, dtype=np.float64)
    t = np.asarray(true_transitions, dtype=np.float64)
    if p.ndim != 2 or p.shape != t.shape or p.shape[0] == 0:
        raise ValidationError(f"transitions must be two equal (N, K-1) arrays, got {p.shape} and {t.shape}")
    ious = np.array([query_iou(a, b, mode, num_frames) for a, b in zip(p, t)])
    return {float(th): float(100.0 * np.mean(ious >= th)) for th in thresholds}
