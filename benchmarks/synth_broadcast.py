"""What each broadcast feature of the synth world (``fdpose.synth.broadcast``) does to the simulated
detector and to the current diver tracker.

    OMP_NUM_THREADS=1 python benchmarks/synth_broadcast.py [--seed 0] [--videos 12] [--camera pixels|boxes] [--json]

For every variant (the plain world, each feature alone at its ``--broadcast`` preset strength,
then the whole preset) one world is generated with the same seed, so every variant shows the
same dives. Columns: the diver's miss rate over the frames where he is drawn, boxes per frame,
false positives per frame by source, and the tracking accuracy of
:func:`fdpose.pipelines.tracking.track_diver` with its defaults, overall and per segment
(live / cut / replay), with the camera motion measured from the frames' pixels as the runner
does (``--camera boxes``: the tracker's box vote instead). A frame is right when the chosen box overlaps the true diver box (IoU >=
0.5) where the detector found the diver, and no box is chosen elsewhere (the rule of
``tests/pipelines/test_pipeline_tracking_synth.py``; replay frames are scored by the same rule).
``entry rule``: the same, but replay frames are right when they get no box (issue 11: the track
ends at the entry; the replay shows the dive again after it), as ``benchmarks/tracker_ablation.py``.
The detector variant ``ssd-dev`` is the simulated detector calibrated on the real ``ssd``
(docs/detector.md); the broadcast preset uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fdpose.pipelines.detectors.file import FileDetector
from fdpose.synth.evaluate import tracking_correct
from fdpose.pipelines.tracking import TrackerConfig, iou, track_diver
from fdpose.pipelines.tracking.camera import motion_from_frames
from fdpose.synth.config import BROADCAST_PRESET, SynthConfig
from fdpose.synth.world import generate_world

VARIANTS: dict[str, dict[str, Any]] = {
    "off": {},
    "zoom": {"zoom": BROADCAST_PRESET["zoom"]},
    "cut": {"cut_probability": BROADCAST_PRESET["cut_probability"]},
    "replay": {"replay_probability": BROADCAST_PRESET["replay_probability"]},
    "walkers": {"walkers": BROADCAST_PRESET["walkers"]},
    "foreground": {"foreground_probability": BROADCAST_PRESET["foreground_probability"]},
    "graphics": {k: BROADCAST_PRESET[k] for k in ("graphics", "splash_false_positive_rate",
                                                  "graphics_false_positive_rate")},
    "detector ssd-dev": {k: BROADCAST_PRESET[k] for k in ("detector_profile", "false_positive_rate")},
    "broadcast": dict(BROADCAST_PRESET),
}


def measure(root: Path, camera: str = "pixels") -> dict[str, Any]:
    """Detector and tracker figures of one world (``camera``: pixels or boxes, see the docstring)."""
    cfg = TrackerConfig().with_(source=camera)
    detector = FileDetector(root / "detections")
    right: dict[str, list[int]] = {}
    drawn = missed = boxes = frames = replay_unboxed = 0
    # Wrong live frames by kind: the diver detected but no box chosen / another box chosen; the
    # diver not detected but a box chosen.
    wrong = {"found_none_chosen": 0, "found_other_chosen": 0, "not_found_box_chosen": 0}
    fps: dict[str, int] = {}
    for gt_path in sorted((root / "gt").rglob("*.json")):
        gt = json.loads(gt_path.read_text())
        n = gt["num_frames"]
        cands = detector.for_clip(f"{gt['match']}__{gt['idx']}").all_frames(n)
        cam = None
        if camera == "pixels":
            images = (cv2.imread(str(root / fr["image"])) for fr in gt["frames"])
            cam = motion_from_frames(images, cands, cfg.camera)
        res = track_diver(cands, cfg, image_size=(gt["image_width"], gt["image_height"]), camera=cam)
        correct = tracking_correct(gt, cands, res.boxes)
        for t, fr in enumerate(gt["frames"]):
            g = None if fr["diver"]["box"] is None else np.asarray(fr["diver"]["box"], dtype=float)
            detected = g is not None and len(cands[t]) > 0 and float(iou(g, cands[t].xyxy).max()) >= 0.5
            good = bool(correct[t])
            chosen = bool(np.isfinite(res.boxes[t, 0]))
            if not good and fr.get("segment") != "replay":
                kind = ("found_other_chosen" if chosen else "found_none_chosen") if detected else "not_found_box_chosen"
                wrong[kind] += 1
            if fr.get("segment") == "replay":
                replay_unboxed += int(not np.isfinite(res.boxes[t, 0]))
            r = right.setdefault(fr.get("segment", "live"), [0, 0])
            r[0] += int(good)
            r[1] += 1
            frames += 1
            boxes += len(cands[t])
            if g is not None:
                drawn += 1
                missed += not detected
            for d in fr.get("detections", []):
                if d["role"] == "false_positive":
                    fps[d["source"]] = fps.get(d["source"], 0) + 1
    ok = sum(v[0] for v in right.values())
    live_ok = sum(v[0] for k, v in right.items() if k != "replay")
    return {
        "frames": frames,
        "diver_miss_rate": round(missed / max(1, drawn), 3),
        "boxes_per_frame": round(boxes / max(1, frames), 2),
        "false_positives_per_frame": {k: round(v / frames, 3) for k, v in sorted(fps.items())},
        "tracking": round(ok / max(1, frames), 3),
        "tracking_by_segment": {k: round(v[0] / v[1], 3) for k, v in right.items()},
        "tracking_entry_rule": round((live_ok + replay_unboxed) / max(1, frames), 3),
        "wrong_live_frames": wrong,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--camera", choices=("pixels", "boxes"), default="pixels")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in VARIANTS.items():
            root = Path(tmp) / name.replace(" ", "_").replace("+", "_")
            generate_world(SynthConfig(videos=args.videos, seed=args.seed, write_video=False, **kw), root)
            rows[name] = measure(root, args.camera)
            if not args.json:
                r = rows[name]
                fp = ", ".join(f"{k} {v}" for k, v in r["false_positives_per_frame"].items()) or "-"
                seg = ", ".join(f"{k} {v}" for k, v in r["tracking_by_segment"].items())
                w = r["wrong_live_frames"]
                print(f"| {name} | {r['frames']} | {r['diver_miss_rate']} | {r['boxes_per_frame']} | {fp} | "
                      f"{r['tracking']} | {seg} | {r['tracking_entry_rule']} | {w['found_none_chosen']} / "
                      f"{w['found_other_chosen']} / {w['not_found_box_chosen']} |", flush=True)
    if args.json:
        json.dump({"seed": args.seed, "videos": args.videos, "camera": args.camera, "variants": rows}, sys.stdout,
                  indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
