"""Checks and statistics over a loaded FineDiving annotation set (:mod:`fdpose.finediving`).

The records, load and save live in :mod:`fdpose.finediving`; this module only reads them:

* :func:`validate` (and the per-record :func:`validate_fine_record`, :func:`validate_coarse_record`)
  enforces the transit convention and the official score rule described in
  :mod:`fdpose.finediving`, returning :class:`Issue` findings (or raising on the first one);
* :func:`summary_statistics` gives the distributions that shape and check synthetic worlds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np

from fdpose.errors import ValidationError
from fdpose.finediving import (
    COARSE_FILE, FINE_GRAINED_FILE, TEST_SPLIT_FILE, TRAIN_SPLIT_FILE, CoarseRecord, FineDivingAnnotations,
    FineGrainedRecord, Key, official_score, transits_from_labels,
)


@dataclass(frozen=True)
class Issue:
    """One validation finding: ``file: key: message``."""

    file: str
    key: Optional[Key]
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key!r}: {self.message}" if self.key is not None else f"{self.file}: {self.message}"


# ----------------------------------------------------------------------------- checks


def validate_fine_record(key: Key, r: FineGrainedRecord, file: str = FINE_GRAINED_FILE) -> list[Issue]:
    """Structure and transit/label consistency of one fine-grained record."""
    issues: list[Issue] = []
    n = r.num_frames
    t = r.steps_transit_frames
    if n < 2:
        issues.append(Issue(file, key, f"only {n} frame labels"))
        return issues
    if not 2 <= len(t) <= 4:
        issues.append(Issue(file, key, f"{len(t)} transit frames, expected 2 to 4"))
    if np.any(t < 0) or np.any(t >= n - 1):
        issues.append(Issue(file, key, f"transit frames {t.tolist()} outside 0..{n - 2}"))
    elif np.any(np.diff(t) <= 0):
        issues.append(Issue(file, key, f"transit frames {t.tolist()} not strictly increasing"))
    else:
        expected = transits_from_labels(r.frames_labels)
        if not np.array_equal(expected, t):
            issues.append(Issue(file, key, f"transit frames {t.tolist()} but labels change after frames {expected.tolist()}"))
    unknown = sorted(set(int(x) for x in np.unique(r.frames_labels)) - set(r.sub_action_types))
    if unknown:
        issues.append(Issue(file, key, f"frame labels {unknown} missing from sub-action_types"))
    if not 0.0 <= r.dive_score <= 150.0:
        issues.append(Issue(file, key, f"dive_score {r.dive_score} outside 0..150"))
    if not 1.0 <= r.difficulty <= 5.0:
        issues.append(Issue(file, key, f"difficulty {r.difficulty} outside 1..5"))
    return issues


def validate_coarse_record(key: Key, r: CoarseRecord, file: str = COARSE_FILE, score_tolerance: float = 0.051) -> list[Issue]:
    """Structure of one coarse record and the official score rule."""
    issues: list[Issue] = []
    if r.end_frame <= r.start_frame:
        issues.append(Issue(file, key, f"end_frame {r.end_frame} <= start_frame {r.start_frame}"))
    if len(r.judge_scores) not in (3, 5, 7):
        issues.append(Issue(file, key, f"{len(r.judge_scores)} judge scores, expected 3, 5 or 7"))
        return issues
    if any(not 0.0 <= s <= 10.0 for s in r.judge_scores):
        issues.append(Issue(file, key, f"judge scores {r.judge_scores} outside 0..10"))
    expected = official_score(r.judge_scores, r.difficulty)
    if abs(expected - r.dive_score) > score_tolerance:
        issues.append(Issue(file, key, f"dive_score {r.dive_score} but judges x difficulty give {expected}"))
    return issues


def validate(ann: FineDivingAnnotations, strict: bool = False) -> list[Issue]:
    """All findings for an annotation set (per record, cross-file and split checks).

    strict: raise :class:`ValidationError` on the first finding instead of returning the list.
    """
    issues: list[Issue] = []
    for key, r in ann.fine.items():
        issues += validate_fine_record(key, r)
    for key, c in ann.coarse.items():
        issues += validate_coarse_record(key, c)
        f = ann.fine.get(key)
        if f is None:
            continue
        if f.action_type != c.action_type:
            issues.append(Issue(COARSE_FILE, key, f"action_type {c.action_type} != fine-grained {f.action_type}"))
        if abs(f.dive_score - c.dive_score) > 1e-6 or abs(f.difficulty - c.difficulty) > 1e-6:
            issues.append(Issue(COARSE_FILE, key, "dive_score/difficulty differ from the fine-grained file"))
        if c.end_frame - c.start_frame + 1 != f.num_frames:
            issues.append(Issue(COARSE_FILE, key, f"end-start+1 = {c.end_frame - c.start_frame + 1} but {f.num_frames} frame labels"))
    if ann.fine and ann.coarse and set(ann.fine) != set(ann.coarse):
        issues.append(Issue(COARSE_FILE, None, f"key sets differ from the fine-grained file ({len(set(ann.fine) ^ set(ann.coarse))} keys)"))
    known = set(ann.keys())
    overlap = set(ann.train) & set(ann.test)
    if overlap:
        issues.append(Issue(TEST_SPLIT_FILE, None, f"{len(overlap)} keys in both train and test"))
    for name, split in ((TRAIN_SPLIT_FILE, ann.train), (TEST_SPLIT_FILE, ann.test)):
        unknown = [k for k in split if known and k not in known]
        if unknown:
            issues.append(Issue(name, unknown[0], f"{len(unknown)} split keys not in the annotations"))
        if len(set(split)) != len(split):
            issues.append(Issue(name, None, "duplicated keys"))
    if strict and issues:
        first = issues[0]
        raise ValidationError(first.message, (ann.source / first.file) if ann.source and ann.source.is_dir() else ann.source,
                              repr(first.key) if first.key is not None else None)
    return issues


# ----------------------------------------------------------------------------- statistics


def _stats(values: Iterable[float]) -> dict[str, float]:
    a = np.asarray(list(values), dtype=np.float64)
    if a.size == 0:
        return {"count": 0}
    return {
        "count": int(a.size),
        "mean": round(float(a.mean()), 4),
        "std": round(float(a.std()), 4),
        "min": round(float(a.min()), 4),
        "p05": round(float(np.percentile(a, 5)), 4),
        "median": round(float(np.median(a)), 4),
        "p95": round(float(np.percentile(a, 95)), 4),
        "max": round(float(a.max()), 4),
    }


def summary_statistics(ann: FineDivingAnnotations) -> dict[str, Any]:
    """Distributions used to shape and check synthetic worlds.

    Keys: ``num_dives``, ``dive_score``, ``difficulty``, ``clip_length`` (stats dicts),
    ``stage_length`` {take_off, flight, entry} (stats; flight = everything between the first and
    last transit), ``mean_judge_score`` (mean of the middle three of 7 judges), ``num_transits``
    and ``num_judges`` (counts), ``action_types`` (count per dive number), ``score_difficulty_corr``.
    """
    fine = list(ann.fine.values())
    coarse = list(ann.coarse.values())
    recs: list[Any] = fine or coarse
    take_off, flight, entry = [], [], []
    for r in fine:
        t = r.steps_transit_frames
        if len(t) >= 2 and t[0] >= 0 and t[-1] > t[0]:
            take_off.append(int(t[0]) + 1)
            flight.append(int(t[-1] - t[0]))
            entry.append(r.num_frames - 1 - int(t[-1]))
    mid = [float(np.mean(sorted(c.judge_scores)[2:5])) for c in coarse if len(c.judge_scores) == 7]
    scores = np.array([r.dive_score for r in recs])
    dds = np.array([r.difficulty for r in recs])
    corr = float(np.corrcoef(scores, dds)[0, 1]) if len(recs) > 2 and scores.std() > 0 and dds.std() > 0 else float("nan")
    action: dict[str, int] = {}
    for r in recs:
        action[r.action_type] = action.get(r.action_type, 0) + 1
    ntrans: dict[str, int] = {}
    for r in fine:
        ntrans[str(len(r.steps_transit_frames))] = ntrans.get(str(len(r.steps_transit_frames)), 0) + 1
    njudges: dict[str, int] = {}
    for c in coarse:
        njudges[str(len(c.judge_scores))] = njudges.get(str(len(c.judge_scores)), 0) + 1
    return {
        "num_dives": len(recs),
        "dive_score": _stats(scores),
        "difficulty": _stats(dds),
        "clip_length": _stats(r.num_frames for r in fine),
        "stage_length": {"take_off": _stats(take_off), "flight": _stats(flight), "entry": _stats(entry)},
        "mean_judge_score": _stats(mid),
        "num_transits": dict(sorted(ntrans.items())),
        "num_judges": dict(sorted(njudges.items())),
        "action_types": dict(sorted(action.items())),
        "score_difficulty_corr": round(corr, 4) if np.isfinite(corr) else None,
    }
