"""The dataset card ``DATASET/README.md``: what is in a FineDiving-Pose export, how it was made
and whether it passed its checks. Generated from the manifest and a check report only, so it
can be regenerated for any dataset folder."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Optional

from fdpose.io import atomic_write_text
from fdpose.pipelines.export.check import CheckReport, split_order, check_dataset
from fdpose.pipelines.export.dataset import ARRAY_SPECS, FineDivingPose, load_dataset
from fdpose.pipelines.export.schema import SCHEMA_VERSION, Provenance

CARD_NAME = "README.md"

_ARRAY_TEXT: dict[str, str] = {
    "keypoints": "merged [x, y, confidence] in image pixels; manual points win",
    "provenance": "code per merged joint (table below)",
    "frame_indices": "0-based positions of the sampled frames in the source clip",
    "frame_numbers": "file numbers of those frames (-1 when unknown)",
    "manual_visibility": "0 no manual point, 1 occluded, 2 visible",
    "auto_keypoints": "the pipeline's joints before the merge",
    "auto_provenance": "their provenance codes",
}


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def card_text(ds: FineDivingPose, report: CheckReport) -> str:
    """The markdown of the card."""
    m = ds.manifest
    n = ds.num_frames
    splits = split_order({c.split for c in ds.clips} | set(ds.splits))
    lines = ["# FineDiving-Pose dataset card", "",
             "Per-clip MPII-16 pose sequences of FineDiving dives (96 frames each, the frames the "
             "HP-MCoRe loader reads), merged from automatic estimates and manual labels, joined with "
             f"the FineDiving keys, dive numbers, scores and difficulties. Format version {SCHEMA_VERSION}; "
             "this card is generated, edit the export instead.", "",
             "## How it was made", "", "```", m["created_by"]["command"], "```", "",
             f"fdpose {m['created_by']['version']}. Sources: automatic poses `{m['sources']['auto']}`, manual "
             "labels " + (", ".join(f"`{p}`" for p in m["sources"]["manual"]) or "none")
             + f", annotations `{m['sources']['annotations']}`.", ""]
    backends = Counter(f"{c.backends['detector']} + {c.backends['pose']}" for c in ds.clips)
    lines += ["Pose pipeline (detector + pose model): "
              + ", ".join(f"{b} ({k} clip(s))" for b, k in backends.most_common()) + ".", ""]

    clips = ds.table()
    lines += ["## Contents", ""]
    rows = []
    for name, part, listed in [*((s, clips[clips["split"] == s], len(ds.splits.get(s, []))) for s in splits),
                               ("all", clips, sum(len(v) for v in ds.splits.values()))]:
        rows.append([name, len(part), listed, len(part) * n, int(part["manual_frames"].sum()),
                     part["dive_number"].nunique()])
    lines += _table(["split", "clips", "split keys", "frames", "manually labelled frames", "dive numbers"], rows)
    lines += [""]
    dropped = m.get("dropped") or []
    if dropped:  # export --drop-failing: said here, never silently
        lines += [f"Left out (`--drop-failing`): {len(dropped)} clip(s) of the split keys have no files:", ""]
        lines += _table(["clip", "split", "reason"], [[f"{d['key'][0]}__{d['key'][1]}", d["split"], d["reason"]]
                                                     for d in dropped]) + [""]

    lines += ["## Dive numbers", ""]
    dives = clips.groupby("dive_number").agg(clips=("clip_id", "size"), difficulty=("difficulty", "mean"),
                                             score=("dive_score", "mean"))
    per_split = clips.groupby(["dive_number", "split"]).size()
    dives = dives.assign(order=-dives["clips"]).sort_values(["order", "dive_number"])  # most clips first
    drows = [[dive, int(row["clips"]), ", ".join(f"{s} {k}" for s, k in per_split.loc[dive].items()),
              f"{row['difficulty']:.2f}", f"{row['score']:.2f}"] for dive, row in dives.iterrows()]
    lines += _table(["dive number", "clips", "per split", "mean difficulty", "mean score"], drows) + [""]

    t = report.totals
    lines += ["## Joint provenance", "", "Share of the clips' joints (frames x 16) by where they come from.", ""]
    prow = [[s, *(_pct(sh.get(p.label)) for p in Provenance)]
            for s, sh in t.get("provenance_share_per_split", {}).items()]
    if t:
        prow.append(["all", *(_pct(t["provenance_share"].get(p.label)) for p in Provenance)])
    lines += _table(["split", *(p.label for p in Provenance)], prow) + [""]
    if t.get("agreement_pckh") is not None:
        lines += [f"Automatic vs manual joints where both exist: PCKh@0.5 = {t['agreement_pckh']:.3f} over "
                  f"{t['agreement_joints']} joints (head size |head_top - upper_neck| of the manual points).", ""]

    lines += ["## Checks", "", f"Result: **{'passed' if report.ok else 'FAILED'}** "
              f"(interpolated joints per clip <= {_pct(report.max_interpolated)}).", ""]
    lines += _table(["check", "result", "details"],
                    [[c.name, "ok" if c.ok else ("info" if c.informational else "FAIL"), c.summary]
                     for c in report.checks])
    problems = report.problems()
    if problems:
        lines += ["", "Problems:", ""] + [f"- {p}" for p in problems[:20]]
        if len(problems) > 20:
            lines.append(f"- ... and {len(problems) - 20} more (run `fdpose export check`)")
    lines += [""]

    lines += ["## Files", "", "- `manifest.json`: one entry per clip (key, split, dive number, score, difficulty, "
              "judges' scores, array file and its sha256, provenance counts); schema "
              "`fdpose/pipelines/export/schema/finediving_pose.schema.json`.",
              f"- `clips/{{match}}/{{idx}}.npz`: the arrays below (n = {n}, 16 joints in MPII order)."]
    outputs = m["outputs"]
    if "hpmcore" in outputs:
        lines.append(f"- `{outputs['hpmcore']}/{{match}}/pred_comp_{{idx}}.npz`: key `pred`, ({n}, 16, 3) float32 "
                     "merged joints, the HP-MCoRe pose tree.")
    if "mpii" in outputs:
        lines.append(f"- `{outputs['mpii']}/{{split}}/annotations.json` (+ `images/`, `image_ids.json`): every "
                     "manually labelled frame, MPII / mmpose format.")
    if "coco" in outputs:
        lines.append(f"- `{outputs['coco']}/{{split}}.json`: every manually labelled frame, COCO keypoints; "
                     "`file_name` is relative to the frame tree `{match}/{idx}/{frame}.jpg`.")
    lines += [""]
    lines += _table(["array", "dtype", "shape", "meaning"],
                    [[f"`{name}`", str(dt), "(" + ", ".join(["n", *map(str, tail)]) + ")", _ARRAY_TEXT[name]]
                     for name, (dt, tail) in ARRAY_SPECS.items()]) + [""]
    lines += _table(["code", "provenance", "meaning"],
                    [[int(p), p.label, _CODE_TEXT[p]]
                     for p in Provenance]) + [""]
    lines += ["Merge rules: a manual point (visible or occluded) replaces the automatic joint "
              "(confidence 1.0); a joint the annotator marked absent keeps the automatic value; joints still "
              "missing take the nearest frame's coordinates with confidence 0, so no array holds NaN.", "",
              "## Loading", "", "```python", "from fdpose.pipelines.export import load_dataset", "",
              f"ds = load_dataset(\"{os.fspath(ds.root)}\")",
              "for clip in ds.clips:            # key, split, dive_number, dive_score, difficulty, ...",
              "    a = ds.arrays(clip)          # a.keypoints (96, 16, 3), a.provenance (96, 16)",
              "```", ""]
    return "\n".join(lines)


_CODE_TEXT: dict[Provenance, str] = {
    Provenance.MISSING: "no estimate; placeholder coordinates, confidence 0",
    Provenance.ESTIMATED: "pose model output",
    Provenance.INTERPOLATED: "linearly interpolated across a short gap",
    Provenance.MANUAL: "annotator's point (visible or occluded)",
}


def write_card(dataset: str | os.PathLike[str], report: Optional[CheckReport] = None) -> Path:
    """Write ``DATASET/README.md`` (running the checks when no report is given); returns its path."""
    ds = load_dataset(dataset)
    rep = report if report is not None else check_dataset(ds.root)
    return atomic_write_text(Path(ds.root) / CARD_NAME, card_text(ds, rep))
