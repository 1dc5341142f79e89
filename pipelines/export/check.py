"""``fdpose export --check`` / ``fdpose export check DATASET``: is a FineDiving-Pose dataset sound?

Checks (each names the clips that fail it):

* ``schema``: the manifest matches the shipped JSON Schema and the MPII-16 joint order.
* ``files``: every clip's array file exists, is a readable npz and has the manifest's sha256.
* ``splits``: every key of the dataset's FineDiving splits has exactly one clip or is listed under
  ``dropped`` (``export --drop-failing``: no clip, a reason), every clip's key is one of them (else:
  unknown key), clip ids and split names agree; with ``annotations`` also the keys, dive numbers,
  scores and difficulties of the FineDiving pickles.
* ``arrays``: array names, dtypes, shapes and provenance codes; counts agree with the manifest.
* ``frames``: ``num_frames`` (96) frames per clip.
* ``finite``: no NaN / infinite coordinate.
* ``interpolated``: share of interpolated joints per clip <= ``max_interpolated``.
* ``hpmcore``: when written, each ``Pose/{match}/pred_comp_{idx}.npz`` equals the merged joints.
* ``agreement``: PCKh@0.5 of the automatic joints against the manual ones where both exist
  (estimated, not interpolated, joints on manually labelled frames); informational unless
  ``min_agreement`` is given.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from fdpose.errors import FdposeError
from fdpose.finediving import FINE_GRAINED_FILE, Key, load_annotations
from fdpose.io import file_sha256, read_json
from fdpose.progress import progress as progress_bar
from fdpose.metrics.pose import head_size, pck
from fdpose.pipelines.export.dataset import (ARRAY_SPECS, ClipArrays, ClipEntry, array_problems,
                                             manifest_path, read_raw_arrays)
from fdpose.pipelines.export.schema import SCHEMA_VERSION, Provenance, manifest_problems
from fdpose.sampling import pred_comp_path, read_pred_comp
from fdpose.skeleton import HEAD_TOP, JOINT_NAMES, UPPER_NECK

log = logging.getLogger(__name__)

CHECK_NAMES: tuple[str, ...] = ("schema", "files", "splits", "arrays", "frames", "finite", "interpolated",
                                "hpmcore", "agreement")
DEFAULT_MAX_INTERPOLATED = 0.3
PCKH_THRESHOLD = 0.5


@dataclass
class CheckResult:
    """One check: passed or not, a one-line summary and the problems (each naming its clip)."""

    name: str
    ok: bool
    summary: str
    problems: list[str] = field(default_factory=list)
    informational: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "summary": self.summary, "problems": list(self.problems),
                "informational": self.informational}


@dataclass
class ClipStats:
    """Per-clip numbers of the report (shares of the n x 16 joints)."""

    clip_id: str
    split: str
    interpolated_share: float
    missing_share: float
    manual_share: float
    agreement_pckh: Optional[float]
    agreement_joints: int

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class CheckReport:
    """All checks of one dataset; ``ok`` when every non-informational check passed."""

    dataset: Path
    checks: list[CheckResult]
    clips: list[ClipStats]
    totals: dict[str, Any]
    max_interpolated: float
    min_agreement: Optional[float] = None

    @property
    def ok(self) -> bool:
        return all(c.ok or c.informational for c in self.checks)

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok and not c.informational]

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def problems(self) -> list[str]:
        """Every problem of every failed check, prefixed with the check name."""
        return [f"{c.name}: {p}" for c in self.failed() for p in c.problems]

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": str(self.dataset), "ok": self.ok, "max_interpolated": self.max_interpolated,
                "min_agreement": self.min_agreement, "checks": [c.as_dict() for c in self.checks],
                "totals": self.totals, "clips": [c.as_dict() for c in self.clips]}


class _Collector:
    """Problems per check while the clips are walked."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {name: [] for name in CHECK_NAMES}
        self.skipped: set[str] = set()

    def add(self, check: str, message: str) -> None:
        self.problems[check].append(message)

    def result(self, name: str, ok_summary: str, informational: bool = False) -> CheckResult:
        probs = self.problems[name]
        if name in self.skipped and not probs:
            return CheckResult(name, False, "not run (an earlier check failed)", [], informational)
        if probs:
            return CheckResult(name, False, f"{len(probs)} problem(s)", probs, informational)
        return CheckResult(name, True, ok_summary, [], informational)


def _agreement_inputs(a: ClipArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pred, gt, mask, head size) on distinct sampled frames: automatic estimates vs manual points."""
    _, first = np.unique(a.frame_indices, return_index=True)
    manual = a.manual_visibility[first] > 0
    mask = manual & (a.auto_provenance[first] == Provenance.ESTIMATED)
    gt = a.keypoints[first, :, :2].astype(np.float64)
    pred = a.auto_keypoints[first, :, :2].astype(np.float64)
    # The head size must come from manual points too, else the truth would be measured on the model.
    norm = np.where(manual[:, HEAD_TOP] & manual[:, UPPER_NECK], head_size(gt), np.nan)
    return pred, gt, mask, norm


def split_order(names: Iterable[str]) -> list[str]:
    """train, test, none first (in that order), then anything else alphabetically."""
    rank = {"train": 0, "test": 1, "none": 2}
    return sorted(set(names), key=lambda s: (rank.get(s, 3), s))


def _check_split_lists(splits: dict[str, list[Key]], entries: list[ClipEntry], col: _Collector,
                       dropped: Optional[dict[Key, str]] = None) -> None:
    dropped = dropped or {}
    by_key: dict[Key, ClipEntry] = {}
    for e in entries:
        if e.key in by_key:
            col.add("splits", f"clip {e.clip_id}: key {e.key[0]}/{e.key[1]} appears twice in the manifest")
        by_key[e.key] = e
        if e.clip_id != f"{e.key[0]}__{e.key[1]}":
            col.add("splits", f"clip {e.clip_id}: clip_id does not match its key {e.key[0]}/{e.key[1]}")
    split_of: dict[Key, str] = {}
    for name, keys in splits.items():
        for k in keys:
            split_of.setdefault(k, name)
            if k not in by_key and k not in dropped:
                col.add("splits", f"split key {k[0]}/{k[1]} ({name}) has no clip (missing clip {k[0]}__{k[1]})")
    for k, split in dropped.items():
        if k in by_key:
            col.add("splits", f"clip {by_key[k].clip_id}: listed as dropped but present")
        if split_of.get(k) != split:
            col.add("splits", f"dropped key {k[0]}/{k[1]} ({split}) is not in the dataset's {split} split")
    for e in entries:
        listed = split_of.get(e.key)
        if listed is None:
            col.add("splits", f"clip {e.clip_id}: unknown key {e.key[0]}/{e.key[1]} (not in the dataset's "
                              "FineDiving splits)")
        elif listed != e.split:
            col.add("splits", f"clip {e.clip_id}: split is {e.split!r} but its key is listed under {listed!r}")


def _check_against_annotations(annotations: Path, splits: dict[str, list[Key]], entries: list[ClipEntry],
                               col: _Collector) -> None:
    ann = load_annotations(annotations)
    if not ann.fine:
        # the dataset's stage labels, dive numbers and scores come from the fine-grained file: a folder
        # without it cannot vouch for the dataset (the coarse file alone would pass every key)
        col.add("splits", f"{annotations}: no {FINE_GRAINED_FILE}: cannot check the clips against the annotations")
        return
    records: dict[Key, Any] = dict(ann.coarse)
    records.update(ann.fine)
    for e in entries:
        r = records.get(e.key)
        if r is None:
            col.add("splits", f"clip {e.clip_id}: unknown key {e.key[0]}/{e.key[1]} (not in {annotations})")
            continue
        for what, mine, theirs in (("dive number", e.dive_number, r.action_type),
                                   ("dive score", e.dive_score, float(r.dive_score)),
                                   ("difficulty", e.difficulty, float(r.difficulty))):
            same = mine == theirs if isinstance(mine, str) else abs(float(mine) - float(theirs)) <= 1e-6
            if not same:
                col.add("splits", f"clip {e.clip_id}: {what} {mine!r} differs from the annotations ({theirs!r})")
    for name, theirs in (("train", ann.train), ("test", ann.test)):
        if name in splits and set(splits[name]) != set(theirs):
            col.add("splits", f"split {name}: {len(set(theirs) - set(splits[name]))} key(s) of {annotations} "
                              f"missing from the dataset, {len(set(splits[name]) - set(theirs))} extra")


def _progress(items: list[ClipEntry], enabled: bool) -> Iterable[ClipEntry]:
    return progress_bar(items, desc="checking clips", unit="clip", enabled=enabled)


def check_dataset(path: str | os.PathLike[str], max_interpolated: float = DEFAULT_MAX_INTERPOLATED,
                  min_agreement: Optional[float] = None, annotations: Optional[str | os.PathLike[str]] = None,
                  progress: bool = False) -> CheckReport:
    """Run every check on the dataset at ``path`` (folder or manifest) and return the report.

    Raises :class:`~fdpose.errors.InputError` only when there is no readable manifest JSON at all;
    everything else is reported. ``max_interpolated`` and ``min_agreement`` are shares in [0, 1].
    """
    mpath = manifest_path(path)
    root = mpath.parent
    doc = read_json(mpath)
    col = _Collector()
    report = CheckReport(root, [], [], {}, max_interpolated, min_agreement)
    schema = manifest_problems(doc)
    if not schema and list(doc["joints"]) != list(JOINT_NAMES):
        schema = ["joints: order differs from the MPII-16 order of fdpose.skeleton"]
    if schema:
        report.checks.append(CheckResult("schema", False, f"{len(schema)} problem(s) in {mpath.name}", schema))
        col.skipped.update(CHECK_NAMES[1:])
        report.checks += [col.result(n, "", informational=n == "agreement") for n in CHECK_NAMES[1:]]
        return report
    report.checks.append(CheckResult("schema", True, f"{mpath.name} valid (schema_version {SCHEMA_VERSION})"))

    n = int(doc["num_frames"])
    entries = [ClipEntry.from_doc(c) for c in doc["clips"]]
    splits = {name: [(str(k[0]), int(k[1])) for k in keys] for name, keys in doc["splits"].items()}
    dropped = {(str(d["key"][0]), int(d["key"][1])): str(d["split"]) for d in doc.get("dropped", [])}
    _check_split_lists(splits, entries, col, dropped)
    if annotations is not None:
        try:
            _check_against_annotations(Path(annotations), splits, entries, col)
        except FdposeError as err:
            col.add("splits", f"cannot compare with the annotations: {err}")
    hpm_root = root / doc["outputs"]["hpmcore"] if "hpmcore" in doc["outputs"] else None
    agree_parts: list[tuple[np.ndarray, ...]] = []
    counts = {p.label: 0 for p in Provenance}
    split_counts: dict[str, dict[str, int]] = {}
    for e in _progress(entries, progress):
        cid = e.clip_id
        fpath = root / e.file
        try:
            raw = read_raw_arrays(fpath)
        except FdposeError as err:
            col.add("files", f"clip {cid}: {err}")
            continue
        if file_sha256(fpath) != e.sha256:
            col.add("files", f"clip {cid}: {e.file} changed since export (sha256 differs from the manifest)")
        probs = array_problems(raw, n)
        for category, message in probs:
            col.add(category, f"clip {cid}: {message}")
        if probs:
            continue
        a = ClipArrays(**{name: raw[name] for name in ARRAY_SPECS})
        if a.provenance_counts() != e.provenance:
            col.add("arrays", f"clip {cid}: provenance counts {a.provenance_counts()} differ from the manifest "
                              f"{e.provenance}")
        interp = a.provenance_share(Provenance.INTERPOLATED)
        if interp > max_interpolated:
            col.add("interpolated", f"clip {cid}: {100 * interp:.1f}% interpolated joints > "
                                    f"{100 * max_interpolated:.1f}%")
        if hpm_root is not None:
            try:
                pred = read_pred_comp(pred_comp_path(hpm_root, e.key[0], e.key[1]), n=n)
                if not np.allclose(pred, a.keypoints, atol=1e-4):
                    col.add("hpmcore", f"clip {cid}: pred_comp differs from the clip's merged keypoints")
            except FdposeError as err:
                col.add("hpmcore", f"clip {cid}: {err}")
        pred_xy, gt_xy, mask, norm = _agreement_inputs(a)
        res = pck(pred_xy, gt_xy, mask, norm, PCKH_THRESHOLD, "head_top-upper_neck")
        joints = int(res.count.sum())
        if joints:
            agree_parts.append((pred_xy, gt_xy, mask, norm))
        pckh_value = None if not joints else round(res.mean, 4)
        if min_agreement is not None and pckh_value is not None and pckh_value < min_agreement:
            col.add("agreement", f"clip {cid}: PCKh@0.5 {pckh_value:.3f} < {min_agreement:.3f} "
                                 f"({joints} joints)")
        report.clips.append(ClipStats(cid, e.split, round(interp, 6),
                                      round(a.provenance_share(Provenance.MISSING), 6),
                                      round(a.provenance_share(Provenance.MANUAL), 6), pckh_value, joints))
        for label, c in a.provenance_counts().items():
            counts[label] += c
            split_counts.setdefault(e.split, {p.label: 0 for p in Provenance})[label] += c

    total = sum(counts.values())
    overall: Optional[float] = None
    agree_joints = 0
    if agree_parts:
        all_pred, all_gt, all_mask, all_norm = (np.concatenate(part) for part in zip(*agree_parts))
        res = pck(all_pred, all_gt, all_mask, all_norm, PCKH_THRESHOLD, "head_top-upper_neck")
        overall, agree_joints = round(res.mean, 4), int(res.count.sum())
    report.totals = {
        "clips": len(entries),
        "clips_per_split": {s: sum(1 for e in entries if e.split == s) for s in split_order(e.split for e in entries)},
        "frames": len(entries) * n,
        "manual_frames": sum(e.manual_frames for e in entries),
        "provenance_share": {k: round(v / total, 6) if total else 0.0 for k, v in counts.items()},
        "provenance_share_per_split": {s: {k: round(v / max(sum(c.values()), 1), 6) for k, v in c.items()}
                                       for s, c in ((s, split_counts[s]) for s in split_order(split_counts))},
        "agreement_pckh": overall,
        "agreement_joints": agree_joints,
        "dropped": len(dropped),
    }
    worst = max((c.interpolated_share for c in report.clips), default=0.0)
    n_files = len(entries) - len(col.problems["files"])
    agree_text = ("no clip has manual and estimated joints on the same frame" if overall is None else
                  f"PCKh@0.5 {overall:.3f} over {agree_joints} joints")
    report.checks += [
        col.result("files", f"{n_files} clip file(s), sha256 verified"),
        col.result("splits", ", ".join(f"{s}: {len(k)} key(s)" for s, k in splits.items())
                   + (f", all present but {len(dropped)} dropped (listed in the manifest)" if dropped
                      else ", all present")),
        col.result("arrays", "names, dtypes, shapes and codes as documented"),
        col.result("frames", f"{n} frames per clip"),
        col.result("finite", "no NaN or infinite coordinate"),
        col.result("interpolated", f"max {100 * worst:.1f}% per clip <= {100 * max_interpolated:.1f}%"),
        col.result("hpmcore", "Pose/ files equal the merged keypoints" if hpm_root is not None else
                   "not exported (no Pose/ tree)"),
        col.result("agreement", agree_text, informational=min_agreement is None),
    ]
    if not col.problems["agreement"] and overall is not None and min_agreement is not None:
        report.check("agreement").summary += f" (every clip >= {min_agreement:.3f})"
    log.info("checked %d clip(s) of %s: %s", len(entries), root, "ok" if report.ok else "FAILED")
    return report


def format_report(report: CheckReport, max_problems: int = 10) -> str:
    """The report as a short text table (what ``fdpose export check`` prints)."""
    t = report.totals
    head = f"FineDiving-Pose check of {report.dataset}"
    if t:
        head += (f": {t['clips']} clip(s) (" + ", ".join(f"{s} {c}" for s, c in t["clips_per_split"].items())
                 + f"), {t['frames']} frames, {t['manual_frames']} manually labelled")
    lines = [head, f"{'check':<14}{'result':<8}details"]
    for c in report.checks:
        result = "ok" if c.ok else ("info" if c.informational else "FAIL")
        lines.append(f"{c.name:<14}{result:<8}{c.summary}")
        for p in c.problems[:max_problems]:
            lines.append(f"{'':<14}- {p}")
        if len(c.problems) > max_problems:
            lines.append(f"{'':<14}... and {len(c.problems) - max_problems} more")
    if t:
        shares = ", ".join(f"{k} {100 * v:.1f}%" for k, v in t["provenance_share"].items())
        lines.append(f"joints: {shares}")
    lines.append("result: " + ("OK" if report.ok else f"FAILED ({', '.join(c.name for c in report.failed())})"))
    return "\n".join(lines)
