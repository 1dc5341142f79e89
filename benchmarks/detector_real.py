"""The ``ssd`` person detector on the real dev clips: diver found, boxes and false positives, time.

Ground truth: clip ``finediving_10m_clipA``'s diver box is the extent of its human MPII-16 joints
(labels_mpii.json, visible joints); ``mtlaqa_10m_armstand``'s is our by-eye box
(benchmarks/data/mtlaqa_10m_armstand_diver.json, null while the diver is out of view or under
water). The diver counts as found when a box has IoU >= 0.3 with the GT box (joints' extent is
tighter than a person box); every other box is a false positive for the tracker to reject.

    python benchmarks/detector_real.py [--shared ../shared] [--json] [--fp-only]

Second part, the false positives at the default threshold (0.3, stretch) by kind: our labels of
every box the detector gives on the dev clips (benchmarks/data/ssd_dev_false_positives.json, set
by viewing each box on its frame) are checked against a fresh run (each box matched at IoU >= 0.9),
then summarised per clip: false positives per frame by kind, the diver's miss rate per phase,
sizes and scores, and whether the false boxes persist from frame to frame. The synth world's
``ssd-dev`` detector profile (fdpose/synth/detections.py) takes its rates from this summary.

Writes nothing; docs/detector.md quotes its output.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

from fdpose.metrics.boxes import iou
from fdpose.pipelines.detectors.ssd import SSDConfig, SSDDetector

REPO = Path(__file__).resolve().parents[1]
ARMSTAND_GT = REPO / "benchmarks" / "data" / "mtlaqa_10m_armstand_diver.json"
FP_LABELS = REPO / "benchmarks" / "data" / "ssd_dev_false_positives.json"
PEOPLE = ("spectator", "official", "foreground")


def clip_a_boxes(clip: Path) -> list[Optional[np.ndarray]]:
    """Per frame, the labelled joints' box ``(4,)`` (visible joints), frames in file-name order."""
    labels = json.loads((clip / "labels_mpii.json").read_text())
    by_name = {}
    for rec in labels:
        j = np.asarray(rec["joints"], dtype=float)
        vis = np.asarray(rec["joints_vis"], dtype=bool)
        pts = j[vis] if vis.any() else j
        by_name[Path(rec["image"]).name] = np.r_[pts.min(0), pts.max(0)]
    return [by_name.get(p.name) for p in sorted(clip.glob("*.jpg"))]


def armstand_boxes() -> list[Optional[np.ndarray]]:
    gt = json.loads(ARMSTAND_GT.read_text())
    return [None if f["box"] is None else np.asarray(f["box"], dtype=float) for f in gt["frames"]]


def measure(clip: Path, gt: list[Optional[np.ndarray]], cfg: SSDConfig, min_iou: float = 0.3) -> dict[str, Any]:
    det = SSDDetector(cfg)
    frames = sorted(clip.glob("*.jpg"))
    found = visible = n_boxes = fp = 0
    seconds = 0.0
    for path, g in zip(frames, gt):
        img = cv2.imread(str(path))
        t0 = time.perf_counter()
        boxes = det.detect_one(img).rows()  # (K, 5) rows
        seconds += time.perf_counter() - t0
        n_boxes += len(boxes)
        hit = g is not None and len(boxes) > 0 and bool((iou(g, boxes[:, :4]) >= min_iou).any())
        visible += g is not None
        found += hit
        fp += len(boxes) - int(hit)
    n = len(frames)
    return {"frames": n, "diver_visible": visible, "diver_found": found, "boxes_per_frame": round(n_boxes / n, 2),
            "false_positives_per_frame": round(fp / n, 2), "ms_per_frame": round(1000 * seconds / n, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--fp-only", action="store_true", help="only the false-positive report (skip the sweep)")
    args = ap.parse_args()
    real = args.shared / "data" / "real"
    labels = json.loads(FP_LABELS.read_text())
    check = check_labels(real, labels)
    summary = {clip: summarise(c) for clip, c in labels["clips"].items()}
    summary["pooled"] = summarise_pooled(labels["clips"])
    if args.json:
        print(json.dumps({"label_check": check, "false_positives": summary}, indent=1))
    else:
        print_fp_report(check, summary)
    if args.fp_only:
        return
    clips = {"finediving_10m_clipA": clip_a_boxes(real / "finediving_10m_clipA"),
             "mtlaqa_10m_armstand": armstand_boxes()}
    rows = []
    for letterbox in (False, True):
        for thr in (0.2, 0.3, 0.4, 0.5):
            cfg = SSDConfig(score_threshold=thr, letterbox=letterbox)
            for name, gt in clips.items():
                rows.append({"clip": name, "input": "letterbox" if letterbox else "stretch", "threshold": thr,
                             **measure(real / name, gt, cfg)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| clip | input | threshold | diver found / visible | boxes / frame | false positives / frame | ms / frame |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['input']} | {r['threshold']} | {r['diver_found']} / {r['diver_visible']} | "
              f"{r['boxes_per_frame']} | {r['false_positives_per_frame']} | {r['ms_per_frame']} |")


def check_labels(real: Path, labels: dict[str, Any]) -> dict[str, Any]:
    """Run the default detector on every labelled frame and match its boxes to the stored ones
    (IoU >= 0.9): the labels describe what the detector gives today only if all match."""
    det = SSDDetector(SSDConfig())
    matched = total = stored = 0
    for clip, c in labels["clips"].items():
        frames = sorted((real / clip).glob("*.jpg"))
        for fr in c["frames"]:
            boxes = det.detect_one(cv2.imread(str(frames[fr["frame"]]))).rows()
            ref = [b["box"] for b in fr["false_positives"]] + ([fr["diver_box"]["box"]] if fr["diver_box"] else [])
            stored += len(ref)
            total += len(boxes)
            for b in boxes:
                matched += bool(ref) and bool((iou(b[:4], np.asarray(ref, dtype=float)) >= 0.9).any())
    return {"detector_boxes": total, "stored_boxes": stored, "matched": matched}


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    v = np.asarray(values, dtype=float)
    return {"n": len(v), "mean": round(float(v.mean()), 3), "sd": round(float(v.std()), 3),
            "min": round(float(v.min()), 3), "median": round(float(np.median(v)), 3), "max": round(float(v.max()), 3)}


def _h(box: list[float]) -> float:
    return box[3] - box[1]


def persistence(frames: list[dict[str, Any]], kinds: tuple[str, ...], max_gap: int = 1) -> dict[str, Any]:
    """Link each false box of ``kinds`` to one of the same kind in the previous 1 + ``max_gap``
    frames whose centre lies within 0.75 x its height (broadcast cameras pan: a person moves in the
    image). Returns the share of boxes continuing one from the previous frame, the tracks (chains
    of linked boxes) and their lengths in frames (first to last, gaps included) and in boxes."""
    tracks: list[list[tuple[int, list[float]]]] = []
    cont = n = 0
    for fr in frames:
        f = fr["frame"]
        for fp in fr["false_positives"]:
            if fp["kind"] not in kinds:
                continue
            n += 1
            b = fp["box"]
            c = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
            best, best_d = None, 0.75 * _h(b)
            for tr in tracks:
                g, pb = tr[-1]
                if 0 < f - g <= 1 + max_gap:
                    d = float(np.hypot(*(c - [(pb[0] + pb[2]) / 2, (pb[1] + pb[3]) / 2])))
                    if d <= best_d:
                        best, best_d = tr, d
            if best is None:
                tracks.append([(f, b)])
            else:
                cont += best[-1][0] == f - 1
                best.append((f, b))
    spans = [tr[-1][0] - tr[0][0] + 1 for tr in tracks]
    return {"boxes": n, "continuing_previous_frame": cont, "tracks": len(tracks),
            "track_frames": sorted(spans, reverse=True), "track_boxes": sorted((len(t) for t in tracks), reverse=True)}


def summarise(c: dict[str, Any]) -> dict[str, Any]:
    """Figures of one labelled clip (see the module docstring)."""
    frames = c["frames"]
    n = len(frames)
    kinds: dict[str, int] = {}
    for fr in frames:
        for fp in fr["false_positives"]:
            kinds[fp["kind"]] = kinds.get(fp["kind"], 0) + 1
    phases = {}
    for name, (a, b) in c["phases"].items():
        vis = [fr for fr in frames if a <= fr["frame"] <= b and fr["diver_visible"]]
        phases[name] = {"visible": len(vis), "missed": sum(fr["diver_box"] is None for fr in vis)}
    diver = [fr["diver_box"] for fr in frames if fr["diver_box"]]
    fps = [(fr, fp) for fr in frames for fp in fr["false_positives"]]
    people = [fp for _, fp in fps if fp["kind"] in PEOPLE]
    outscored = sum(bool(fr["diver_box"]) and any(fp["score"] > fr["diver_box"]["score"] for fp in fr["false_positives"])
                    for fr in frames)
    rel = [_h(fp["box"]) / _h(fr["diver_box"]["box"]) for fr, fp in fps
           if fp["kind"] in PEOPLE and fr["diver_box"]]
    runs: list[int] = []  # lengths of the runs of consecutive visible frames where the diver is missed
    for fr in frames:
        if fr["diver_visible"] and fr["diver_box"] is None:
            if runs and runs[-1] < 0:
                runs[-1] -= 1
            else:
                runs.append(-1)
        elif runs and runs[-1] < 0:
            runs[-1] = -runs[-1]
    runs = [abs(r) for r in runs]
    return {
        "frames": n,
        "diver_miss_runs": runs,
        "false_positives_per_frame": {k: round(v / n, 3) for k, v in sorted(kinds.items())},
        "false_positives": dict(sorted(kinds.items())),
        "people_per_frame": round(len(people) / n, 3),
        "diver_missed_by_phase": phases,
        "diver_score": _stats([d["score"] for d in diver]),
        "people_score": _stats([fp["score"] for fp in people]),
        "duplicate_score": _stats([fp["score"] for _, fp in fps if fp["kind"] == "diver_duplicate"]),
        "people_height_px": _stats([_h(fp["box"]) for fp in people]),
        "people_height_over_diver": _stats(rel),
        "frames_where_a_false_box_outscores_the_diver": outscored,
        "people_persistence": persistence(frames, PEOPLE),
        "graphics": c["graphics"], "splash": c["splash"],
    }


def summarise_pooled(clips: dict[str, Any]) -> dict[str, Any]:
    """Pooled over the clips: every frame counts once (the synth profile's rates)."""
    frames = [fr for c in clips.values() for fr in c["frames"]]
    n = len(frames)
    phases: dict[str, dict[str, int]] = {}
    for c in clips.values():
        for name, v in summarise(c)["diver_missed_by_phase"].items():
            p = phases.setdefault(name, {"visible": 0, "missed": 0})
            p["visible"] += v["visible"]
            p["missed"] += v["missed"]
    fps = [fp for fr in frames for fp in fr["false_positives"]]
    people = [fp for fp in fps if fp["kind"] in PEOPLE]
    dup = [fp for fp in fps if fp["kind"] == "diver_duplicate"]
    found = [fr for fr in frames if fr["diver_box"]]
    return {"frames": n, "people_per_frame": round(len(people) / n, 3),
            "diver_duplicates_per_found_frame": round(len(dup) / max(1, len(found)), 3),
            "diver_missed_by_phase": phases,
            "diver_score": _stats([fr["diver_box"]["score"] for fr in found]),
            "people_score": _stats([fp["score"] for fp in people]),
            "duplicate_score": _stats([fp["score"] for fp in dup])}


def print_fp_report(check: dict[str, Any], summary: dict[str, Any]) -> None:
    print(f"labels vs a fresh run: {check['matched']} of the detector's {check['detector_boxes']} boxes match the "
          f"{check['stored_boxes']} stored ones (IoU >= 0.9)\n")
    print("| clip | frames | false positives / frame by kind | people / frame | diver missed by phase | "
          "a false box outscores the diver |")
    print("|---|---|---|---|---|---|")
    for clip, s in summary.items():
        if clip == "pooled":
            continue
        kinds = ", ".join(f"{k} {v}" for k, v in s["false_positives_per_frame"].items())
        ph = ", ".join(f"{k} {v['missed']}/{v['visible']}" for k, v in s["diver_missed_by_phase"].items())
        print(f"| {clip} | {s['frames']} | {kinds} | {s['people_per_frame']} | {ph} (runs {s['diver_miss_runs']}) | "
              f"{s['frames_where_a_false_box_outscores_the_diver']} |")
    print("\n| clip | scores: diver / people / duplicate (mean, sd, min-max) | people box height px (x diver's) | "
          "people persistence: continuing / boxes, tracks (frames spanned) |")
    print("|---|---|---|---|")
    for clip, s in summary.items():
        if clip == "pooled":
            continue
        sc = " / ".join(f"{x['mean']}, {x['sd']}, {x['min']}-{x['max']}" if x["n"] else "-"
                        for x in (s["diver_score"], s["people_score"], s["duplicate_score"]))
        h, r, p = s["people_height_px"], s["people_height_over_diver"], s["people_persistence"]
        print(f"| {clip} | {sc} | {h['median']} ({h['min']}-{h['max']}) (x{r['median']}) | "
              f"{p['continuing_previous_frame']} / {p['boxes']}, {p['tracks']} tracks {p['track_frames']} |")
    print("\npooled:", json.dumps(summary["pooled"]))
    print()


if __name__ == "__main__":
    main()
