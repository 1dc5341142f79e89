"""A simulated person detector, written in MOT-challenge detection format.

One line per box: ``frame,-1,x,y,w,h,score,-1,-1,-1`` with ``frame`` 1-BASED (MOT convention:
line frame 1 is image ``00000.jpg``), (x, y) the top-left corner and (w, h) the size in
pixels, boxes clipped to the image, lines sorted by frame then descending score.

The model mimics what the paper describes (method.md 2.2): upright spectators and judges are
detected confidently, while the diver's score drops when the body is blurred (fast rotation),
grouped (tuck/pike), occluded or partly out of view, so on some frames a spectator outscores
the diver. The diver is also missed at ``miss_rate`` (+ more when blurred/occluded), every box
is jittered by ``jitter`` x its size, and false positives appear at ``false_positive_rate``
per frame with low scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectorModel:
    """Parameters of the simulated detector."""

    miss_rate: float = 0.08
    jitter: float = 0.04
    false_positive_rate: float = 0.15
    person_miss_rate: float = 0.05
    difficulty_miss: float = 0.35  #: extra diver miss probability at difficulty 1


@dataclass(frozen=True)
class Detection:
    """One box: frame index (0-based inside the program), xyxy and score, and its source role."""

    frame: int
    xyxy: tuple[float, float, float, float]
    score: float
    role: str
    source: str = ""  #: person id, or what a false positive sits on: clutter / splash / graphics


def _jitter(rng: np.random.Generator, box: tuple[float, float, float, float], amount: float, W: int, H: int
            ) -> tuple[float, float, float, float] | None:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    n = rng.normal(0.0, amount, 4) * np.array([w, h, w, h])
    a = np.clip([x1 + n[0], y1 + n[1], x2 + n[2], y2 + n[3]], [0, 0, 0, 0], [W - 1, H - 1, W - 1, H - 1])
    if a[2] - a[0] < 2 or a[3] - a[1] < 2:
        return None
    return float(a[0]), float(a[1]), float(a[2]), float(a[3])


def detect_frame(
    rng: np.random.Generator,
    model: DetectorModel,
    frame: int,
    persons: list[tuple[str, str, tuple[float, float, float, float], float]],
    diver_difficulty: float,
    size: tuple[int, int],
    diver_miss_base: float | None = None,
) -> list[Detection]:
    """Detections of one frame.

    persons: (id, role, xyxy, base_score) of every person box in view (the diver included).
    diver_difficulty: 0 (upright, sharp, fully in view) .. 1 (blurred, grouped, occluded, cut):
    lowers the diver's score and raises its miss rate.
    diver_miss_base: replaces ``model.miss_rate`` as the base of the diver's miss probability
    (a per-clip calibrated base, may be negative: the probability is clipped to 0..0.95).
    """
    W, H = size
    out: list[Detection] = []
    for pid, role, box, base in persons:
        if role == "diver":
            base_miss = model.miss_rate if diver_miss_base is None else diver_miss_base
            miss = max(0.0, min(0.95, base_miss + model.difficulty_miss * diver_difficulty))
            score = 0.95 - 0.7 * diver_difficulty + rng.normal(0.0, 0.05)
        else:
            area = (box[2] - box[0]) * (box[3] - box[1])
            miss = model.person_miss_rate + (0.5 if area < 120 else 0.0)
            score = base + rng.normal(0.0, 0.03)
        if rng.random() < miss:
            continue
        jb = _jitter(rng, box, model.jitter, W, H)
        if jb is not None:
            out.append(Detection(frame, jb, float(np.clip(score, 0.02, 0.995)), role, pid))
    for _ in range(int(rng.poisson(model.false_positive_rate))):
        w = float(rng.uniform(12, 45))
        h = float(w * rng.uniform(1.2, 2.6))
        x = float(rng.uniform(0, W - w))
        y = float(rng.uniform(0, H - h))
        out.append(Detection(frame, (x, y, x + w, y + h), float(rng.uniform(0.05, 0.45)), "false_positive", "clutter"))
    out.sort(key=lambda d: -d.score)
    return out


def mot_lines(dets: list[Detection]) -> list[str]:
    """MOT det lines ``frame,-1,x,y,w,h,score,-1,-1,-1`` (frame 1-based)."""
    lines = []
    for d in dets:
        x1, y1, x2, y2 = d.xyxy
        lines.append(f"{d.frame + 1},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{d.score:.4f},-1,-1,-1")
    return lines


def parse_mot_line(line: str) -> tuple[int, tuple[float, float, float, float], float]:
    """(0-based frame, xyxy, score) from one MOT det line."""
    parts = line.strip().split(",")
    f, x, y, w, h, s = int(parts[0]), *map(float, parts[2:7])
    return f - 1, (x, y, x + w, y + h), s
