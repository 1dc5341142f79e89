"""The repeat finder's statistic on the real dev clips (docs/tracker_robustness.md, "dup2, pulldown").

    OMP_NUM_THREADS=1 python benchmarks/repeat_stats.py [--shared ../shared/data]

For every frame of both dev clips: a repeat of it coded twice (JPEG 90/75, 50/35, 30/15), the same
picture under fresh sensor noise twice (sigma 2 grey levels), and the diver's GT box content moved
by 0.5 or 1 px (a still diver swaying) under sensor noise or JPEG 50. Per case the range over the
frames of the peak / noise ratio (max / max(median, noise_floor) of the absolute difference of the
96 px grey grids, :mod:`fdpose.pipelines.tracking.repeats`), of the mean difference and the largest
median (grey levels). Seeded: the figures repeat exactly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_robustness import REPO, _encoded, load_clips  # noqa: E402

from fdpose.pipelines.tracking import TrackerConfig  # noqa: E402
from fdpose.pipelines.tracking.repeats import _grid  # noqa: E402


def _moved(im: np.ndarray, box: np.ndarray, dx: float) -> np.ndarray:
    """``im`` with the content of ``box`` shifted right by ``dx`` px (sub-pixel, bilinear)."""
    import cv2

    h, w = im.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in np.clip(box[:4], 0, [w, h, w, h]))
    out = im.copy()
    if x2 - x1 >= 2 and y2 - y1 >= 2:
        out[y1:y2, x1:x2] = cv2.warpAffine(im[y1:y2, x1:x2], np.float32([[1, 0, dx], [0, 1, 0]]), (x2 - x1, y2 - y1),
                                           borderMode=cv2.BORDER_REPLICATE)
    return out


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args(argv)
    cfg = TrackerConfig().repeats
    rng = np.random.default_rng(0)

    def noisy(im: np.ndarray) -> np.ndarray:
        return np.clip(im.astype(np.float32) + rng.normal(0, 2, im.shape), 0, 255).astype(np.uint8)

    def stat(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
        d = np.abs(_grid(a, cfg.grid_width) - _grid(b, cfg.grid_width))
        med = float(np.median(d))
        return float(d.max()) / max(med, cfg.noise_floor), float(d.mean()), med

    rows: dict[str, list[tuple[float, float, float]]] = {}
    for clip in load_clips(args.shared).values():
        for im, g in zip(clip.images, clip.gt):
            for q1, q2 in ((90, 75), (50, 35), (30, 15)):
                rows.setdefault(f"repeat, JPEG {q1}/{q2}", []).append(stat(_encoded(im, q1), _encoded(im, q2)))
            rows.setdefault("same picture, sensor noise 2", []).append(stat(noisy(im), noisy(im)))
            if g is not None:
                for dx in (0.5, 1.0):
                    rows.setdefault(f"diver moved {dx} px, noise 2", []).append(stat(noisy(im), noisy(_moved(im, g, dx))))
                    rows.setdefault(f"diver moved {dx} px, JPEG 50", []).append(
                        stat(_encoded(im, 50), _encoded(_moved(im, g, dx), 50)))
    print("| case | frames | peak / noise | mean | largest median |\n|---|---|---|---|---|")
    for k, v in rows.items():
        a = np.array(v)
        print(f"| {k} | {len(a)} | {a[:, 0].min():.1f} - {a[:, 0].max():.1f} | {a[:, 1].min():.2f} - {a[:, 1].max():.2f} "
              f"| {a[:, 2].max():.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
