"""Throughput of track-and-estimate on synthetic clips, per stage, per pose backend.

    python benchmarks/pipeline.py WORLD --pose hrnet --pose-checkpoint CKPT [--clips 3] [--json]

WORLD is an ``fdpose synth`` output (frames + simulated detections). For each backend the
full pipeline runs on the first ``--clips`` clips (outputs in a temporary folder); then the
pose model alone is timed on the same crops (the tracked boxes of the same frames, images
decoded beforehand), and the ratio whole-pipeline time / pose-model-only time is the
overhead the pipeline adds. Prints a table and, with ``--json``, JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fdpose.pipelines.clip_json import read_clip_json
from fdpose.pipelines.frames import discover_clips
from fdpose.pipelines.runner import RunConfig, make_pose, process_clip, make_detector, STAGES


def bench(world: Path, pose: str, checkpoint: Path | None, clips: int, device: str) -> dict:
    sources = discover_clips([world / "frames"])[:clips]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = RunConfig(out=Path(tmp), detections=world / "detections", pose=pose, pose_checkpoint=checkpoint,
                        device=device)
        t0 = time.perf_counter()
        backend = make_pose(cfg)
        load = time.perf_counter() - t0
        detector = make_detector(cfg)
        outcomes = []
        t0 = time.perf_counter()
        for src in sources:
            outcomes.append(process_clip(src, cfg, detector, backend))
        whole = time.perf_counter() - t0
        crops = []
        for src in sources:
            clip = read_clip_json(Path(tmp) / f"{src.clip_id}.json")
            for f in src.iter_frames():
                if np.isfinite(clip.boxes[f.frame_index, 0]):
                    crops.append((f.image, clip.boxes[f.frame_index, :4]))
        t0 = time.perf_counter()
        for i in range(0, len(crops), cfg.batch_size):
            backend.estimate_many(crops[i:i + cfg.batch_size])
        pose_only = time.perf_counter() - t0
    frames = sum(o.frames for o in outcomes)
    stages = {s: sum(o.seconds[s] for o in outcomes) for s in STAGES}
    return {"pose": pose, "clips": len(outcomes), "frames": frames, "crops": len(crops), "model_load_s": round(load, 3),
            "stages_frames_per_s": {s: (round(frames / v, 1) if v > 0 else None) for s, v in stages.items()},
            "pipeline_frames_per_s": round(frames / whole, 2), "pose_only_crops_per_s": round(len(crops) / pose_only, 2),
            "pipeline_s": round(whole, 3), "pose_only_s": round(pose_only, 3),
            "overhead_ratio": round(whole / pose_only, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("world", type=Path)
    ap.add_argument("--pose", action="append", choices=["hrnet", "mediapipe"], help="repeatable; default hrnet")
    ap.add_argument("--pose-checkpoint", type=Path)
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    rows = [bench(a.world, p, a.pose_checkpoint, a.clips, a.device) for p in (a.pose or ["hrnet"])]
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'backend':<10}{'frames':>7}" + "".join(f"{s:>12}" for s in STAGES) + f"{'pipeline':>10}{'pose-only':>11}{'ratio':>7}")
    for r in rows:
        st = r["stages_frames_per_s"]
        print(f"{r['pose']:<10}{r['frames']:>7}" + "".join(f"{(st[s] or 0):>12.1f}" for s in STAGES)
              + f"{r['pipeline_frames_per_s']:>10.1f}{r['pose_only_crops_per_s']:>11.1f}{r['overhead_ratio']:>7.2f}")
    print("(frames/s; pose-only in crops/s; ratio = whole-pipeline time / pose-model-only time on the same crops)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
