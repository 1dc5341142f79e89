"""Repeated frames and frame rate on the synth worlds (docs/tracker_robustness.md, "Synth floor").

    OMP_NUM_THREADS=1 python benchmarks/synth_rate.py [--videos 4] [--seeds 0,1] [--worlds DIR] [--json]

Per world (plain and broadcast, each seed): the repeats the default finder
(:mod:`fdpose.pipelines.tracking.repeats`) calls on the rendered frames, and frames right
(:func:`fdpose.synth.evaluate.tracking_correct`) of the runner's entry
:func:`~fdpose.pipelines.tracking.clip.track_clip` (default :class:`TrackerConfig`, the pixel
camera, local re-detection with the real ``ssd`` on the renders, as ``tracker_ablation.py
--synth-redetect``): at the renders' 25 fps with no rate and with fps 25 and with the repeats
found; at half the rate (every second frame) with no rate and with fps 12.5
(``SeedConfig.init_rate_fps``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracker_ablation import CachedDetector, make_detector, make_world, synth_clips  # noqa: E402

from fdpose.pipelines.tracking import TrackerConfig  # noqa: E402
from fdpose.pipelines.tracking.camera import motion_from_frames  # noqa: E402
from fdpose.pipelines.tracking.clip import track_clip  # noqa: E402
from fdpose.pipelines.tracking.repeats import find_repeats  # noqa: E402
from fdpose.synth.evaluate import tracking_correct  # noqa: E402

CASES = ("25 fps, no rate", "25 fps, fps 25", "25 fps, repeats found", "half, no rate", "half, fps 12.5")


def score_world(root: Path, det: Any) -> dict[str, Any]:
    cfg = TrackerConfig()
    right = {c: [0, 0] for c in CASES}
    repeats: list[str] = []
    for gt, cands, _, get in synth_clips(root):
        n = len(cands)
        size = (gt["image_width"], gt["image_height"])
        src = find_repeats(get(list(range(n))), cfg.repeats)
        repeats += [f"{gt['match']}/{gt['idx']}:{t}" for t in np.flatnonzero(src != np.arange(n))]
        for step in (1, 2):
            keep = list(range(0, n, step))
            c = [cands[t] for t in keep]
            g = dict(gt, frames=[gt["frames"][t] for t in keep])
            cam = motion_from_frames(get(keep), c, cfg.camera)

            def frames(idx: list[int], keep: list[int] = keep, get: Any = get) -> list[np.ndarray]:
                return get([keep[i] for i in idx])
            runs = ({"25 fps, no rate": {}, "25 fps, fps 25": {"fps": 25.0}, "25 fps, repeats found": {"sources": src}}
                    if step == 1 else {"half, no rate": {}, "half, fps 12.5": {"fps": 12.5}})
            for case, kw in runs.items():
                r = track_clip(c, cfg, frames=frames, detector=det, image_size=size, camera=cam, **kw)
                ok = tracking_correct(g, r.candidates, r.track.boxes)
                right[case][0] += int(ok.sum())
                right[case][1] += len(ok)
    return {"right": right, "repeats": repeats}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--worlds", type=Path, default=None, help="keep the generated worlds here (reused when present)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    det = CachedDetector(make_detector("ssd"))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for broadcast in (False, True):
                label = f"{'broadcast' if broadcast else 'plain'} s{seed}"
                root = (args.worlds or Path(tmp)) / label.replace(" ", "_")
                make_world(root, seed, args.videos, broadcast)
                out[label] = score_world(root, det)
                print(f"{label}: done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print("| world | " + " | ".join(CASES) + " | repeats found |\n|---|" + "---|" * (len(CASES) + 1))
    for label, r in out.items():
        cells = [f"{a}/{b}" for a, b in (r["right"][c] for c in CASES)]
        print(f"| {label} | " + " | ".join(cells) + f" | {len(r['repeats'])}: {', '.join(r['repeats']) or '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
