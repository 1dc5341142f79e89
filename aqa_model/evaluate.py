"""Evaluation with multi-exemplar voting (method.md 3.5, 3.6): cached encodings, metrics, reports.

Protocol: each query is compared with ``num_exemplars`` (10) exemplars from the exemplar pool
(the training split), chosen by :class:`ExemplarPicker` with a fixed seed (same dive number,
or any clip in the without-dive-number setting); the predicted score is the mean of the
votes S_e + delta. A query whose dive number has no clip in the pool falls back to exemplars
of any dive number; such queries are flagged (``fallback``) and counted in the report.

Cost (method.md 3.5 note): everything before the per-stage decoders depends on one video, so
:func:`encode_clips` encodes every query and every exemplar ONCE (eval mode: BatchNorm uses
running statistics, the stages are cut at the predicted transitions) and :func:`vote_cached`
only runs the pairwise decoders and MLPs. :func:`vote_naive` is the public code's path
(re-encode both videos for every vote), kept as the reference the cached path must match.

Metrics: SRCC, L2, R-l2 x100 with the ground-truth range of the scored set (stated in every
report), AIoU@0.5/0.75 of the predicted segmentation (mode ``span`` for K >= 3 stages,
``stages`` for K = 2, none for K = 1; :mod:`fdpose.aqa_model.metrics`), a per-dive-number
table, and the ``exemplar-mean`` baseline (delta = 0: predict the mean score of the chosen
exemplars). With dive-number exemplars the baseline already ranks dives by difficulty, so it
is the number a model must beat, not 0.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.data import ExemplarPicker, FineDivingAQADataset, clip_dataset
from fdpose.aqa_model.data.finediving import key_name
from fdpose.aqa_model.metrics import ScoreMetrics, aiou, query_iou, score_metrics, srcc, srcc_interval
from fdpose.aqa_model.model import HPMCoRe, VideoEncoding
from fdpose.aqa_model.regression import final_from_target, regression_target
from fdpose.errors import ValidationError
from fdpose.finediving import FineDivingAnnotations, Key
from fdpose.io import atomic_write_text, csv_text, remove_stale_temps, write_json

log = logging.getLogger(__name__)

DEFAULT_EXEMPLARS = 10


@dataclass
class EncodedClip:
    """One video's cached encoding (batch 1, CPU), its true score and GT transitions (K-1,)."""

    encoding: VideoEncoding
    score: float
    true_transitions: np.ndarray
    difficulty: float = 1.0  # the DD mode (score_target "dd") regresses score / difficulty


@dataclass
class QueryPrediction:
    """The voted prediction of one query.

    stage_contributions (K,): mean over votes of w_k * delta_k, so that
    pred_score = exemplar_mean + sum(stage_contributions).
    """

    key: Key
    dive: str
    true_score: float
    pred_score: float
    exemplar_mean: float
    exemplars: list[Key]
    exemplar_scores: list[float]
    votes: list[float]
    stage_contributions: list[float]
    stage_weights: list[float]
    pred_transitions: list[int]
    true_transitions: list[int]
    fallback: bool = False


def _inputs(batch: dict[str, torch.Tensor], device: torch.device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    video = batch.get("video")
    pose = batch.get("pose")
    return (None if video is None else video.to(device, non_blocking=True),
            None if pose is None else pose.to(device, non_blocking=True))


def _progress(iterable: Iterable[Any], total: int, desc: str, enabled: bool) -> Iterable[Any]:
    if not enabled:
        return iterable
    from fdpose.progress import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="batch", file=sys.stderr, leave=False)


@torch.no_grad()
def encode_clips(model: HPMCoRe, dataset: FineDivingAQADataset, keys: Sequence[Key], device: torch.device,
                 batch_size: int = 8, num_workers: int = 0, progress: bool = False,
                 desc: str = "encode") -> dict[Key, EncodedClip]:
    """Encode ``keys`` (each once) in eval mode -> key -> :class:`EncodedClip`."""
    model.eval()
    index_of = {k: i for i, k in enumerate(dataset.keys)}
    wanted = list(dict.fromkeys(keys))
    missing = [k for k in wanted if k not in index_of]
    if missing:
        raise ValidationError(f"clip {key_name(missing[0])} is not in the dataset ({len(missing)} missing)")
    loader = DataLoader(Subset(dataset, [index_of[k] for k in wanted]), batch_size=max(1, batch_size),
                        shuffle=False, num_workers=num_workers)
    out: dict[Key, EncodedClip] = {}
    for batch in _progress(loader, len(loader), desc, progress):
        video, pose = _inputs(batch, device)
        enc = model.encode(video, pose).to("cpu")
        for j, index in enumerate(batch["index"].tolist()):
            key = dataset.keys[index]
            # the annotation's float64 score: reports state exact values (the batch holds float32)
            out[key] = EncodedClip(enc.select(j), float(dataset.records[key].dive_score),
                                   batch["transitions"][j].numpy().copy(), float(dataset.records[key].difficulty))
    return out


def choose_exemplars(annotations: FineDivingAnnotations, pool: Sequence[Key], queries: Sequence[Key],
                     count: int = DEFAULT_EXEMPLARS, use_dive_number: bool = True,
                     seed: int = 0) -> dict[Key, tuple[list[Key], bool]]:
    """query -> (``count`` seeded exemplars, fell back to any dive number?)."""
    if count < 1:
        raise ValidationError(f"number of exemplars must be >= 1, got {count}")
    picker = ExemplarPicker(annotations, pool, use_dive_number, seed)
    anyone = ExemplarPicker(annotations, pool, False, seed) if use_dive_number else picker
    out: dict[Key, tuple[list[Key], bool]] = {}
    for q in queries:
        dive = picker.dive_of.get(q)
        if use_dive_number and dive is not None and not picker.by_dive.get(dive):
            out[q] = (anyone.test_exemplars(q, count), True)
        else:
            out[q] = (picker.test_exemplars(q, count), False)
    return out


@torch.no_grad()
def vote_cached(model: HPMCoRe, encoded: dict[Key, EncodedClip], exemplars: dict[Key, tuple[list[Key], bool]],
                dive_of: dict[Key, str], device: torch.device, batch_size: int = 32) -> list[QueryPrediction]:
    """Multi-exemplar voting from cached encodings (only decoders + MLPs run per pair).

    DD mode (``score_target "dd"``): exemplars enter as score / difficulty and every vote is
    multiplied back by the query's difficulty, so votes, predictions and the exemplar-mean
    baseline are final scores."""
    model.eval()
    mode = model.config.score_target
    queries = list(exemplars)
    preds: list[QueryPrediction] = []
    for start in range(0, len(queries), max(1, batch_size)):
        chunk = queries[start:start + batch_size]
        q = VideoEncoding.cat([encoded[k].encoding for k in chunk]).to(device)
        n = len(exemplars[chunk[0]][0])
        votes, contrib = [], []
        weights = None
        for j in range(n):
            ex = [exemplars[k][0][j] for k in chunk]
            e = VideoEncoding.cat([encoded[x].encoding for x in ex]).to(device)
            es = torch.tensor([regression_target(encoded[x].score, encoded[x].difficulty, mode) for x in ex],
                              dtype=torch.float32, device=device)
            qd = torch.tensor([encoded[k].difficulty for k in chunk], dtype=torch.float32)
            out = model.compare(q, e, es)
            votes.append(final_from_target(out.score.float().cpu(), qd, mode))
            contrib.append(final_from_target((out.stage_deltas * out.stage_weights).float().cpu(), qd[:, None], mode))
            weights = out.stage_weights.float().cpu()
        vote_mat = torch.stack(votes, dim=1)  # (b, n)
        contrib_mean = torch.stack(contrib, dim=1).mean(dim=1)  # (b, K)
        assert weights is not None
        for i, k in enumerate(chunk):
            ex_keys, fell_back = exemplars[k]
            ex_scores = [encoded[x].score for x in ex_keys]
            # delta = 0 prediction: in DD mode the exemplars' ratios x the query's difficulty
            base = final_from_target(float(np.mean([regression_target(encoded[x].score, encoded[x].difficulty, mode)
                                                    for x in ex_keys])), encoded[k].difficulty, mode)
            preds.append(QueryPrediction(
                key=k, dive=dive_of.get(k, ""), true_score=encoded[k].score,
                pred_score=float(vote_mat[i].mean()), exemplar_mean=float(base),
                exemplars=list(ex_keys), exemplar_scores=ex_scores, votes=vote_mat[i].tolist(),
                stage_contributions=contrib_mean[i].tolist(), stage_weights=weights.tolist(),
                pred_transitions=encoded[k].encoding.pred_transitions[0].tolist(),
                true_transitions=encoded[k].true_transitions.tolist(), fallback=fell_back))
    return preds


@torch.no_grad()
def vote_naive(model: HPMCoRe, dataset: FineDivingAQADataset, exemplars: dict[Key, tuple[list[Key], bool]],
               device: torch.device) -> np.ndarray:
    """The public code's path: re-encode query and exemplar for every vote -> (Q,) voted scores."""
    model.eval()
    index_of = {k: i for i, k in enumerate(dataset.keys)}

    def one(key: Key) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
        item = dataset[index_of[key]]
        video, pose = item.get("video"), item.get("pose")
        target = regression_target(item["score"], item["difficulty"], model.config.score_target)
        return (None if video is None else video[None].to(device), None if pose is None else pose[None].to(device),
                target.reshape(1).to(device))

    out = []
    for q, (ex_keys, _) in exemplars.items():
        qv, qp, _ = one(q)
        scores = []
        for x in ex_keys:
            ev, ep, es = one(x)
            scores.append(float(model(qv, qp, ev, ep, es).score[0]))
        qd = float(dataset[index_of[q]]["difficulty"]) if model.config.score_target == "dd" else 1.0
        out.append(final_from_target(float(np.mean(scores)), qd, model.config.score_target))
    return np.asarray(out, np.float64)


# ----------------------------------------------------------------------------- metrics


def aiou_mode_for(num_stages: int) -> str | None:
    """``span`` for K >= 3, ``stages`` for K = 2, None (no segmentation) for K = 1."""
    return "span" if num_stages >= 3 else ("stages" if num_stages == 2 else None)


def _finite_or_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def per_dive_table(preds: Sequence[QueryPrediction]) -> list[dict[str, Any]]:
    """One row per dive number: count, mean true / predicted score, L2, SRCC (None below 2 or
    for constant scores), fallback count."""
    by_dive: dict[str, list[QueryPrediction]] = {}
    for p in preds:
        by_dive.setdefault(p.dive, []).append(p)
    rows = []
    for dive in sorted(by_dive):
        group = by_dive[dive]
        t = np.array([p.true_score for p in group])
        s = np.array([p.pred_score for p in group])
        rho = None
        if len(group) >= 2 and np.ptp(t) > 0 and np.ptp(s) > 0 and np.isfinite(s).all() and np.isfinite(t).all():
            rho = _finite_or_none(srcc(s, t))
        rows.append({"dive_number": dive, "count": len(group), "true_mean": float(t.mean()),
                     "pred_mean": float(s.mean()), "l2": float(np.mean((s - t) ** 2)), "srcc": rho,
                     "fallback": sum(p.fallback for p in group)})
    return rows


@dataclass
class EvalResult:
    """Predictions and metrics of one evaluation."""

    predictions: list[QueryPrediction]
    metrics: ScoreMetrics
    baseline: ScoreMetrics
    aiou: dict[float, float] | None
    aiou_mode: str | None
    per_dive: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def fallback_queries(self) -> int:
        return sum(p.fallback for p in self.predictions)

    def summary(self) -> dict[str, Any]:
        """The machine-readable report (``report.json`` / ``--json``)."""
        m = self.metrics
        lo, hi = self.srcc_ci95()
        return {
            "queries": m.count,
            "srcc": _finite_or_none(m.srcc),
            "srcc_ci95": [_finite_or_none(lo), _finite_or_none(hi)],
            "l2": m.l2,
            "rl2_x100": m.rl2_x100,
            "rl2_range": [m.range_min, m.range_max],
            "aiou": None if self.aiou is None else {f"{k:g}": v for k, v in self.aiou.items()},
            "aiou_mode": self.aiou_mode,
            "baseline_exemplar_mean": {"srcc": _finite_or_none(self.baseline.srcc), "l2": self.baseline.l2,
                                       "rl2_x100": self.baseline.rl2_x100},
            "fallback_queries": self.fallback_queries,
            "skipped": self.skipped,
            "per_dive_number": self.per_dive,
            "settings": self.settings,
        }

    def srcc_ci95(self) -> tuple[float, float]:
        """95% bootstrap interval of the SRCC over the scored queries (seeded)."""
        true = np.array([p.true_score for p in self.predictions], dtype=np.float64)
        pred = np.array([p.pred_score for p in self.predictions], dtype=np.float64)
        if pred.size < 2 or not (np.isfinite(pred).all() and np.isfinite(true).all()):
            return float("nan"), float("nan")
        return srcc_interval(pred, true)

    def describe(self) -> str:
        """Human-readable lines (R-l2 range stated)."""
        lo, hi = self.srcc_ci95()
        lines = [f"queries {self.metrics.count}: {self.metrics.describe()}",
                 f"SRCC 95% bootstrap interval over queries: {lo:.3f} to {hi:.3f}"]
        if self.aiou is not None:
            lines.append("AIoU " + "  ".join(f"@{k:g} {v:.2f}%" for k, v in self.aiou.items())
                         + f" (mode {self.aiou_mode})")
        b = self.baseline
        lines.append(f"baseline (exemplar mean, delta = 0): SRCC {b.srcc:.4f}  R-l2x100 {b.rl2_x100:.4f}")
        if self.fallback_queries:
            lines.append(f"{self.fallback_queries} queries had no same-dive-number exemplar (any dive number used)")
        if self.skipped:
            lines.append(f"{len(self.skipped)} clips skipped for missing data")
        return "\n".join(lines)


def result_from_predictions(preds: Sequence[QueryPrediction], config: AQAConfig,
                            settings: dict[str, Any] | None = None,
                            skipped: dict[str, str] | None = None) -> EvalResult:
    """Metrics of a list of predictions (needs >= 2 queries with different true scores)."""
    true = np.array([p.true_score for p in preds])
    pred = np.array([p.pred_score for p in preds])
    metrics = score_metrics(pred, true)
    baseline = score_metrics(np.array([p.exemplar_mean for p in preds]), true)
    mode = aiou_mode_for(config.num_stages)
    shares = None
    if mode is not None:
        shares = aiou(np.array([p.pred_transitions for p in preds]), np.array([p.true_transitions for p in preds]),
                      (0.5, 0.75), mode, config.num_frames)  # type: ignore[arg-type]
    return EvalResult(list(preds), metrics, baseline, shares, mode, per_dive_table(preds), dict(settings or {}),
                      dict(skipped or {}))


def evaluate(model: HPMCoRe, annotations: FineDivingAnnotations, queries: Sequence[Key], pool: Sequence[Key],
             frames_root: str | os.PathLike[str] | None, poses_root: str | os.PathLike[str] | None, *,
             device: torch.device, num_exemplars: int = DEFAULT_EXEMPLARS, use_dive_number: bool = True,
             seed: int = 0, batch_size: int = 8, num_workers: int = 0, skip_missing: bool = False,
             progress: bool = False, settings: dict[str, Any] | None = None) -> EvalResult:
    """Score ``queries`` against exemplars from ``pool`` with cached encodings -> :class:`EvalResult`."""
    cfg = model.config
    keys = sorted(set(queries) | set(pool))
    dataset = clip_dataset(annotations, keys, cfg, frames_root, poses_root, skip_missing=skip_missing)
    present = set(dataset.keys)
    q_keys = [k for k in queries if k in present]
    pool_keys = [k for k in pool if k in present]
    if len(q_keys) < 2:
        raise ValidationError(f"need at least 2 queries with data to evaluate, got {len(q_keys)}")
    if not pool_keys:
        raise ValidationError("no exemplar clip with data in the exemplar pool (training split)")
    chosen = choose_exemplars(annotations, pool_keys, q_keys, num_exemplars, use_dive_number, seed)
    needed = list(dict.fromkeys([*q_keys, *(x for ex, _ in chosen.values() for x in ex)]))
    encoded = encode_clips(model, dataset, needed, device, batch_size, num_workers, progress)
    dive_of = {k: annotations.fine[k].action_type for k in q_keys}
    preds = vote_cached(model, encoded, chosen, dive_of, device)
    info = {"num_exemplars": num_exemplars, "use_dive_number": use_dive_number, "exemplar_seed": seed,
            "encoded_videos": len(encoded), "exemplar_pool": len(pool_keys), **(settings or {})}
    result = result_from_predictions(preds, cfg, info, {key_name(k): v for k, v in dataset.skipped.items()})
    if not dataset.stage_labels:  # MTL-AQA: the "transitions" are an equal split, not labels
        result.aiou, result.aiou_mode = None, None
    return result


# ----------------------------------------------------------------------------- files


PREDICTION_COLUMNS = ("match", "idx", "dive_number", "true_score", "pred_score", "error", "exemplar_mean",
                      "stage_contributions", "pred_transitions", "true_transitions", "iou", "fallback", "exemplars")


def prediction_rows(result: EvalResult, num_frames: int) -> list[dict[str, Any]]:
    rows = []
    for p in result.predictions:
        iou = None
        if result.aiou_mode is not None:
            iou = round(query_iou(p.pred_transitions, p.true_transitions, result.aiou_mode,  # type: ignore[arg-type]
                                  num_frames), 6)
        rows.append({"match": p.key[0], "idx": p.key[1], "dive_number": p.dive,
                     "true_score": round(p.true_score, 4), "pred_score": round(p.pred_score, 4),
                     "error": round(p.pred_score - p.true_score, 4), "exemplar_mean": round(p.exemplar_mean, 4),
                     "stage_contributions": ";".join(f"{c:.4f}" for c in p.stage_contributions),
                     "pred_transitions": ";".join(map(str, p.pred_transitions)),
                     "true_transitions": ";".join(map(str, p.true_transitions)), "iou": iou,
                     "fallback": int(p.fallback), "exemplars": ";".join(key_name(k) for k in p.exemplars)})
    return rows


def write_eval_outputs(result: EvalResult, out_dir: str | os.PathLike[str], num_frames: int,
                       title: str = "") -> dict[str, Path]:
    """predictions.csv, per_dive.csv, report.json and scatter.png in ``out_dir``."""
    from fdpose.aqa_model.plots import score_scatter

    out = Path(out_dir)
    remove_stale_temps(out, recursive=False)  # what a killed evaluation left mid-write
    paths = {
        "predictions": atomic_write_text(out / "predictions.csv",
                                         csv_text(prediction_rows(result, num_frames), PREDICTION_COLUMNS)),
        "per_dive": atomic_write_text(out / "per_dive.csv", csv_text(
            result.per_dive, ("dive_number", "count", "true_mean", "pred_mean", "l2", "srcc", "fallback"))),
        "report": write_json(out / "report.json", result.summary()),
    }
    m = result.metrics
    label = f"SRCC {m.srcc:.3f}  R-l2x100 {m.rl2_x100:.3f} (range {m.range_min:g}-{m.range_max:g})"
    paths["scatter"] = score_scatter([p.true_score for p in result.predictions],
                                     [p.pred_score for p in result.predictions], out / "scatter.png",
                                     f"{title}\n{label}" if title else label,
                                     [p.dive for p in result.predictions])
    return paths
