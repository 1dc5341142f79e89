"""Where the two-stage splits (Table V's 2 and 2*) fall on the real FineDiving annotations.

    python benchmarks/stage_split_real.py [--annotations ../shared/data/finediving] [--frames 96] [--json]

For every fine-grained record with increasing, non-negative transits, the transition each setting learns
(``select_transitions``: the first transit for ``takeoff``, the last for ``entry``) mapped onto the
``--frames`` sampled frames as the dataset maps it (first sampled frame of the second stage). Reported:
the distribution of that position, and the share of transitions in the first half of the clip; with three
stages the code's decoding searches transition 1 in the first half and transition 2 in the second
(``decode_transitions``), so the shares outside those halves are ground truth it cannot reach. Two stages
decode over the whole clip.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from fdpose.aqa_model.data import select_transitions
from fdpose.aqa_model.segmentation import map_transitions_to_samples
from fdpose.finediving import load_annotations
from fdpose.sampling import aligned_indices


def measure(annotations: str, frames: int) -> dict[str, Any]:
    ann = load_annotations(annotations)
    pos: dict[str, list[int]] = {"takeoff": [], "entry": []}
    skipped = 0
    for record in ann.fine.values():
        t = np.asarray(record.steps_transit_frames)
        if len(t) < 2 or (t < 0).any() or (np.diff(t) <= 0).any():
            skipped += 1
            continue
        samples = aligned_indices(record.num_frames, None, frames)
        for split, out in pos.items():
            out.append(int(map_transitions_to_samples(select_transitions(t, 2, split), samples)[0]))
    half = frames // 2
    result: dict[str, Any] = {"records": len(pos["takeoff"]), "skipped": skipped, "frames": frames}
    for split, values in pos.items():
        v = np.asarray(values)
        result[split] = {"mean": round(float(v.mean()), 2), "median": float(np.median(v)),
                         "p5": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95)),
                         "min": int(v.min()), "max": int(v.max()),
                         "share_first_half": round(float((v < half).mean()), 4)}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--annotations", default="../shared/data/finediving")
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = measure(args.annotations, args.frames)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"{r['records']} records ({r['skipped']} skipped: negative or non-increasing transits), {r['frames']} samples")
    for split in ("takeoff", "entry"):
        s = r[split]
        print(f"{split:<8} mean {s['mean']:.2f}  median {s['median']:.0f}  p5-p95 {s['p5']:.0f}-{s['p95']:.0f}  "
              f"range {s['min']}-{s['max']}  in the first half {100 * s['share_first_half']:.2f}%")


if __name__ == "__main__":
    main()
