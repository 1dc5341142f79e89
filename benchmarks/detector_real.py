"""The ``ssd`` person detector on the real dev clips: diver found, boxes and false positives, time.

Ground truth: clip ``finediving_10m_clipA``'s diver box is the extent of its human MPII-16 joints
(labels_mpii.json, visible joints); ``mtlaqa_10m_armstand``'s is our by-eye box
(benchmarks/data/mtlaqa_10m_armstand_diver.json, null while the diver is out of view or under
water). The diver counts as found when a box has IoU >= 0.3 with the GT box (joints' extent is
tighter than a person box); every other box is a false positive for the tracker to reject.

    python benchmarks/detector_real.py [--shared ../shared] [--json]

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
        boxes = det.detect_one(img)
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
    args = ap.parse_args()
    real = args.shared / "data" / "real"
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


if __name__ == "__main__":
    main()
