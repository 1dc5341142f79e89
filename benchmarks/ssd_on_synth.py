"""The real ``ssd`` detector on the synth world's frames, beside the simulated detector of the same
world: how far the renders are from the footage the simulated detector was calibrated on.

    OMP_NUM_THREADS=1 python benchmarks/ssd_on_synth.py [--seed 0] [--videos 12] [--json]

Two worlds of the same seed (no video): the plain world and the ``--broadcast`` preset. On every
frame the real detector (threshold 0.3, stretch; docs/detector.md) runs on the JPEG and its boxes
are sorted with the ground truth: the diver found when a box has IoU >= 0.3 with his box (the
rule of benchmarks/detector_real.py), other boxes on a person of ``persons[]`` (IoU >= 0.3), on
the graphics or the splash (half of the box inside them) or elsewhere. The same figures of the
world's own simulated detections (its MOT file) are printed beside them. Last, the persistence of
the simulated boxes on people, linked by the geometric rule used on the real clips
(``benchmarks/detector_real.py``'s ``persistence``). docs/synth_broadcast.md quotes the output.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import cv2
import numpy as np

from fdpose.metrics.boxes import iou
from fdpose.pipelines.detectors.file import FileDetector
from fdpose.pipelines.detectors.ssd import SSDConfig, SSDDetector
from fdpose.synth.config import BROADCAST_PRESET, SynthConfig
from fdpose.synth.world import generate_world

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_real import persistence  # noqa: E402 - the sibling benchmark's linking rule

PHASES = ("take_off", "flight", "entry")


def _inside(box: np.ndarray, region: Sequence[float]) -> float:
    """Share of ``box`` inside ``region`` (both xyxy)."""
    w = max(0.0, min(box[2], region[2]) - max(box[0], region[0]))
    h = max(0.0, min(box[3], region[3]) - max(box[1], region[1]))
    return w * h / max(1e-9, (box[2] - box[0]) * (box[3] - box[1]))


def sort_boxes(fr: dict[str, Any], boxes: np.ndarray) -> tuple[Optional[bool], dict[str, int]]:
    """(diver found, or None when he is not drawn; other boxes by kind) of one GT frame."""
    g = fr["diver"]["box"]
    hit = -1
    if g is not None and len(boxes):
        u = iou(np.asarray(g, dtype=float), boxes[:, :4])
        hit = int(u.argmax()) if float(u.max()) >= 0.3 else -1
    people = np.array([q["box"] for q in fr["persons"] if q["role"] != "diver"], dtype=float).reshape(-1, 4)
    kinds = {"people": 0, "diver_second": 0, "graphics": 0, "splash": 0, "other": 0}
    for k, b in enumerate(boxes):
        if k == hit:
            continue
        if len(people) and float(iou(b[:4], people).max()) >= 0.3:
            kinds["people"] += 1
        elif g is not None and _inside(np.asarray(g, dtype=float), b[:4]) > 0.5:
            kinds["diver_second"] += 1  # another box holding most of the diver
        elif any(_inside(b, gr["box"]) > 0.5 for gr in fr.get("graphics", [])):
            kinds["graphics"] += 1
        elif fr.get("splash_box") and _inside(b, fr["splash_box"]) > 0.5:
            kinds["splash"] += 1
        else:
            kinds["other"] += 1
    return (None if g is None else hit >= 0), kinds


def measure(root: Path, detect: Any) -> dict[str, Any]:
    """Figures of one world for one detector: ``detect(gt, frame_index, frame) -> (K, 5)``."""
    frames = 0
    miss = {p: [0, 0] for p in PHASES}
    kinds: dict[str, int] = {}
    runs: list[int] = []  # runs of consecutive drawn frames where the diver is missed
    for gt_path in sorted((root / "gt").rglob("*.json")):
        gt = json.loads(gt_path.read_text())
        t0, t1 = gt["stages"]["steps_transit_frames"][0], gt["stages"]["steps_transit_frames"][-1]
        run = 0
        for t, fr in enumerate(gt["frames"]):
            found, k = sort_boxes(fr, detect(gt, t, fr))
            if found is False:
                run += 1
            elif run:
                runs.append(run)
                run = 0
            frames += 1
            for name, v in k.items():
                kinds[name] = kinds.get(name, 0) + v
            if found is not None:
                dt = fr.get("dive_time", t)
                m = miss[PHASES[0 if dt <= t0 else 1 if dt <= t1 else 2]]
                m[0] += int(not found)
                m[1] += 1
        if run:
            runs.append(run)
    drawn = sum(v[1] for v in miss.values())
    return {"miss_runs": {"runs": len(runs), "mean": round(float(np.mean(runs)), 2) if runs else 0.0,
                          "one_frame": round(float(np.mean(np.array(runs) == 1)), 2) if runs else 0.0,
                          "longest": max(runs, default=0)},"frames": frames, "diver_missed": round(sum(v[0] for v in miss.values()) / max(1, drawn), 3),
            "diver_missed_by_phase": {p: round(v[0] / v[1], 3) if v[1] else None for p, v in miss.items()},
            "boxes_per_frame": {k: round(v / frames, 3) for k, v in kinds.items()}}


def people_persistence(root: Path) -> dict[str, Any]:
    """The simulated people boxes' persistence over a world's clips, linked as on the real clips."""
    spans: list[int] = []
    boxes = cont = 0
    for gt_path in sorted((root / "gt").rglob("*.json")):
        gt = json.loads(gt_path.read_text())
        frames = [{"frame": t, "false_positives": [{"box": d["box"], "kind": "people"} for d in fr["detections"]
                                                   if d["role"] not in ("diver", "false_positive")]}
                  for t, fr in enumerate(gt["frames"])]
        r = persistence(frames, ("people",))
        boxes += r["boxes"]
        cont += r["continuing_previous_frame"]
        spans += r["track_frames"]
    return {"boxes": boxes, "continuing": round(cont / max(1, boxes), 3), "tracks": len(spans),
            "mean_track_frames": round(float(np.mean(spans)), 2) if spans else 0.0, "longest": max(spans, default=0),
            "one_frame_tracks": round(float(np.mean(np.array(spans) == 1)), 2) if spans else 0.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    ssd = SSDDetector(SSDConfig())
    rows = []
    pers: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for world, extra in (("plain", {}), ("broadcast", dict(BROADCAST_PRESET))):
            root = Path(tmp) / world
            generate_world(SynthConfig(videos=args.videos, seed=args.seed, write_video=False, **extra), root)
            files = FileDetector(root / "detections")
            cache: dict[str, list[np.ndarray]] = {}

            def simulated(gt: dict[str, Any], t: int, fr: dict[str, Any], files: FileDetector = files,
                          cache: dict[str, list[np.ndarray]] = cache) -> np.ndarray:
                clip = f"{gt['match']}__{gt['idx']}"
                if clip not in cache:
                    cache[clip] = [b.rows() for b in files.for_clip(clip).all_frames(gt["num_frames"])]
                return cache[clip][t]

            def real(gt: dict[str, Any], t: int, fr: dict[str, Any], root: Path = root) -> np.ndarray:
                return ssd.detect_one(cv2.imread(str(root / fr["image"]))).rows()

            for name, fn in (("simulated", simulated), ("real ssd", real)):
                rows.append({"world": world, "detector": name, **measure(root, fn)})
            if world == "broadcast":
                pers = people_persistence(root)
    if args.json:
        print(json.dumps({"seed": args.seed, "videos": args.videos, "rows": rows, "people_persistence": pers}, indent=1))
        return 0
    print("| world | detector | frames | diver missed | take-off / flight / entry | miss runs: mean frames, share of 1, "
          "longest | boxes / frame: people, second box on the diver, graphics, splash, other |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ph = " / ".join("-" if v is None else str(v) for v in r["diver_missed_by_phase"].values())
        b = r["boxes_per_frame"]
        mr = r["miss_runs"]
        print(f"| {r['world']} | {r['detector']} | {r['frames']} | {r['diver_missed']} | {ph} | {mr['mean']}, "
              f"{mr['one_frame']}, {mr['longest']} | {b['people']}, "
              f"{b['diver_second']}, {b['graphics']}, {b['splash']}, {b['other']} |")
    print(f"\nbroadcast world, simulated people boxes linked as on the real clips: {pers['boxes']} boxes, "
          f"{pers['continuing']} continuing one of the previous frame, {pers['tracks']} tracks of "
          f"{pers['mean_track_frames']} frames on average ({pers['one_frame_tracks']} of one frame, longest "
          f"{pers['longest']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
