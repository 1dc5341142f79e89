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

Broadcast worlds can instead use a detector *profile* calibrated on a real detector
(:data:`PROFILES`, ``SynthConfig.detector_profile``; :func:`detect_clip`): the diver is missed at
the measured rate of each phase (take-off, flight, entry), the other people are detected at the
measured rate per frame with the measured persistence (a person detected on one frame is detected
on the next with probability ``people_stay``: officials who walk are followed by boxes that walk),
a second, looser box sits on the diver at the measured rate, and every score follows the
measured distribution above the real detector's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from fdpose.records import Boxes


@dataclass(frozen=True)
class DetectorModel:
    """Parameters of the simulated detector."""

    miss_rate: float = 0.08
    jitter: float = 0.04
    false_positive_rate: float = 0.15
    person_miss_rate: float = 0.05
    difficulty_miss: float = 0.35  #: extra diver miss probability at difficulty 1


@dataclass(frozen=True)
class ScoreModel:
    """Scores drawn from a normal distribution clipped to [lo, hi] (the measured min / max)."""

    mean: float
    sd: float
    lo: float
    hi: float

    def draw(self, rng: np.random.Generator) -> float:
        return float(np.clip(rng.normal(self.mean, self.sd), self.lo, self.hi))


@dataclass(frozen=True)
class DetectorProfile:
    """A simulated detector calibrated on a real one (see the module docstring).

    diver_miss_by_phase: the diver's miss rate over the frames where he is drawn, per phase
    (take-off: up to the first transit; flight: to the last transit; entry: after it).
    people_per_frame: mean boxes per frame on the other people in view (spectators, judges,
    officials, coaches, people in the foreground); solved per clip into a per-person rate.
    people_stay: probability that a person detected on a frame is detected on the next (the
    share of the real people boxes continuing one of the previous frame).
    duplicate_rate: probability of a second, looser box on the diver on a frame where he is found.
    people_min_height: people whose box is shorter (pixels) are never detected (the smallest real
    people box; the people rate is solved over the taller ones).
    """

    name: str
    diver_miss_by_phase: tuple[float, float, float]
    people_per_frame: float
    people_stay: float
    duplicate_rate: float
    diver_score: ScoreModel
    people_score: ScoreModel
    duplicate_score: ScoreModel
    people_min_height: float = 0.0


#: The ``ssd`` detector (threshold 0.3, stretch) on the two real dev clips, pooled over their 55
#: frames: ``python benchmarks/detector_real.py --fp-only`` (docs/detector.md). Diver missed on 3/6
#: take-off frames and 8/44 flight frames; the entry has one frame in view (missed): too few for a
#: rate, so the entry takes the overall rate 12/51. 46 boxes on people (0.836 a frame), 21 of them
#: continuing one of the previous frame (0.457); 6 duplicate boxes on the diver over the 39 frames
#: where he was found (0.154; one of them, armstand frame 8, sits on a frame where his own box was
#: missed: the profile puts every duplicate beside a found diver). Splash, graphics and other false boxes: none (4 frames of splash seen from
#: under water, 21 frames with a broadcaster logo), so the profile has none.
SSD_DEV = DetectorProfile(
    name="ssd-dev",
    diver_miss_by_phase=(3 / 6, 8 / 44, 12 / 51),
    people_per_frame=0.836,
    people_stay=21 / 46,
    duplicate_rate=6 / 39,
    diver_score=ScoreModel(0.465, 0.084, 0.305, 0.618),
    people_score=ScoreModel(0.365, 0.043, 0.300, 0.487),
    duplicate_score=ScoreModel(0.401, 0.071, 0.309, 0.529),
    people_min_height=31.0,  # the smallest people box: 31.2 px (455x256 clip A, 500x281 armstand)
)

#: Profiles by ``SynthConfig.detector_profile`` name.
PROFILES: dict[str, DetectorProfile] = {SSD_DEV.name: SSD_DEV}


#: One simulated box before it joins its frame's record: (xyxy, score, role, source).
SimBox = tuple[tuple[float, float, float, float], float, str, str]


@dataclass(frozen=True)
class FrameDetections:
    """The simulated detector's boxes of one frame, best score first, and the truth behind each box.

    boxes: the K boxes (:class:`fdpose.records.Boxes`, what a real detector would return).
    role: (K,) the role of the person a box sits on, or ``false_positive``.
    source: (K,) the person id, or what a false positive sits on: clutter / splash / graphics /
    diver_duplicate.
    """

    boxes: Boxes
    role: tuple[str, ...]
    source: tuple[str, ...]

    def __post_init__(self) -> None:
        if not len(self.role) == len(self.source) == len(self.boxes):
            raise ValueError(f"{len(self.boxes)} boxes with {len(self.role)} roles and {len(self.source)} sources")

    @classmethod
    def build(cls, items: Iterable[SimBox]) -> "FrameDetections":
        """From (xyxy, score, role, source) items, sorted by descending score (stable: ties keep their order)."""
        ordered = sorted(items, key=lambda d: -d[1])
        if not ordered:
            return cls(Boxes.empty(), (), ())
        return cls(Boxes(np.array([d[0] for d in ordered], dtype=np.float64).reshape(-1, 4),
                         np.array([d[1] for d in ordered], dtype=np.float64)),
                   tuple(d[2] for d in ordered), tuple(d[3] for d in ordered))

    def items(self) -> list[SimBox]:
        """The (xyxy, score, role, source) items, best first."""
        return [((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(s), r, src)
                for b, s, r, src in zip(self.boxes.xyxy, self.boxes.score, self.role, self.source)]

    def plus(self, extra: Iterable[SimBox]) -> "FrameDetections":
        """These boxes and ``extra`` ones, re-sorted by descending score."""
        return FrameDetections.build([*self.items(), *extra])

    def __len__(self) -> int:
        return len(self.boxes)

    def scores_of(self, roles: Iterable[str]) -> list[float]:
        """Scores of the boxes on people of these roles, best first."""
        keep = set(roles)
        return [float(s) for s, r in zip(self.boxes.score, self.role) if r in keep]

    def gt_json(self) -> list[dict[str, object]]:
        """The world's ``frames[].detections`` entries (box rounded to 0.01 px, score to 1e-4)."""
        return [{"box": [round(v, 2) for v in xyxy], "score": round(score, 4), "role": role, "source": source}
                for xyxy, score, role, source in self.items()]


def _jitter(rng: np.random.Generator, box: tuple[float, float, float, float], amount: float, W: int, H: int
            ) -> tuple[float, float, float, float] | None:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    n = rng.normal(0.0, amount, 4) * np.array([w, h, w, h])
    return _in_frame([x1 + n[0], y1 + n[1], x2 + n[2], y2 + n[3]], W, H)


def _in_frame(xyxy: list[float], W: int, H: int) -> tuple[float, float, float, float] | None:
    """The box clipped to the W x H frame, or None when less than 2 px of it is left on either axis."""
    a = np.clip(xyxy, 0, [W - 1, H - 1, W - 1, H - 1])
    if a[2] - a[0] < 2 or a[3] - a[1] < 2:
        return None
    return float(a[0]), float(a[1]), float(a[2]), float(a[3])


def detect_frame(
    rng: np.random.Generator,
    model: DetectorModel,
    persons: list[tuple[str, str, tuple[float, float, float, float], float]],
    diver_difficulty: float,
    size: tuple[int, int],
    diver_miss_base: float | None = None,
) -> FrameDetections:
    """Detections of one frame.

    persons: (id, role, xyxy, base_score) of every person box in view (the diver included).
    diver_difficulty: 0 (upright, sharp, fully in view) .. 1 (blurred, grouped, occluded, cut):
    lowers the diver's score and raises its miss rate.
    diver_miss_base: replaces ``model.miss_rate`` as the base of the diver's miss probability
    (a per-clip calibrated base, may be negative: the probability is clipped to 0..0.95).
    """
    W, H = size
    out: list[SimBox] = []
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
            out.append((jb, float(np.clip(score, 0.02, 0.995)), role, pid))
    for _ in range(int(rng.poisson(model.false_positive_rate))):
        w = float(rng.uniform(12, 45))
        h = float(w * rng.uniform(1.2, 2.6))
        x = float(rng.uniform(0, W - w))
        y = float(rng.uniform(0, H - h))
        out.append(((x, y, x + w, y + h), float(rng.uniform(0.05, 0.45)), "false_positive", "clutter"))
    return FrameDetections.build(out)


def calibrated_miss_base(difficulties: np.ndarray, target: float, slope: float) -> float:
    """Base ``a`` with ``mean(clip(a + slope * d, 0, 0.95)) == target`` over the frames where the
    diver is drawn (bisection; the mean is monotone in ``a``)."""
    if len(difficulties) == 0:
        return target
    lo, hi = -1.0 - slope, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(np.mean(np.clip(mid + slope * difficulties, 0.0, 0.95))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


#: One frame's input to :func:`detect_clip`: (persons, diver difficulty, phase 0/1/2); persons as in
#: :func:`detect_frame` (the diver, role ``"diver"``, among them while he is drawn).
FrameInput = tuple[list[tuple[str, str, tuple[float, float, float, float], float]], float, int]


def _duplicate(rng: np.random.Generator, box: tuple[float, float, float, float], W: int, H: int
               ) -> tuple[float, float, float, float] | None:
    """A second, looser box on the diver: each side scaled 0.8-2.2x around a centre moved by up to
    a quarter of the size (the five real ones beside a diver box: 0.56-2.26x its width, 0.82-1.84x
    its height; benchmarks/data/ssd_dev_false_positives.json)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + float(rng.uniform(-0.25, 0.25)) * w
    cy = (y1 + y2) / 2 + float(rng.uniform(-0.25, 0.25)) * h
    nw, nh = w * float(rng.uniform(0.8, 2.2)), h * float(rng.uniform(0.8, 2.2))
    return _in_frame([cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2], W, H)


def detect_clip(
    rng: np.random.Generator,
    profile: DetectorProfile,
    model: DetectorModel,
    inputs: list[FrameInput],
    size: tuple[int, int],
    diver_miss_overall: float | None = None,
) -> list[FrameDetections]:
    """Detections of every frame of a clip with a calibrated ``profile`` (see the module docstring).

    The diver's miss base is solved per phase over the frames where he is drawn so that the
    phase's miss rate is the profile's (or, with ``diver_miss_overall``, that overall rate over all
    of them); it still rises by ``model.difficulty_miss`` x the frame's difficulty. Each other
    person's detection is a two-state Markov chain whose stationary rate ``q`` makes the expected
    boxes per frame ``profile.people_per_frame`` over this clip. ``model.jitter`` jitters every
    box; ``model.false_positive_rate`` adds uniform clutter as in :func:`detect_frame`.
    """
    W, H = size
    slope = model.difficulty_miss
    drawn = [(f, diff, phase) for f, (persons, diff, phase) in enumerate(inputs)
             if any(role == "diver" for _, role, _, _ in persons)]
    base: dict[int, float] = {}
    for phase in (0, 1, 2):
        d = np.array([diff for _, diff, p in drawn if diver_miss_overall is not None or p == phase], dtype=np.float64)
        target = profile.diver_miss_by_phase[phase] if diver_miss_overall is None else diver_miss_overall
        base[phase] = calibrated_miss_base(d, target, slope)
    def eligible(role: str, box: tuple[float, float, float, float]) -> bool:
        return role != "diver" and box[3] - box[1] >= profile.people_min_height

    others = sum(sum(eligible(role, box) for _, role, box, _ in persons) for persons, _, _ in inputs)
    q = min(0.95, profile.people_per_frame * len(inputs) / others) if others else 0.0
    stay = profile.people_stay
    # Entering the detected state from the undetected one at this rate keeps the chain's
    # stationary share at q: q = q * stay + (1 - q) * enter.
    enter = min(1.0, q * (1.0 - stay) / (1.0 - q)) if q < 1.0 else 1.0
    on: set[str] = set()
    out: list[FrameDetections] = []
    for persons, diff, phase in inputs:
        dets: list[SimBox] = []
        now: set[str] = set()
        for pid, role, box, _ in persons:
            if role == "diver":
                if rng.random() < max(0.0, min(0.95, base[phase] + slope * diff)):
                    continue
                jb = _jitter(rng, box, model.jitter, W, H)
                if jb is None:
                    continue
                dets.append((jb, profile.diver_score.draw(rng), role, pid))
                if rng.random() < profile.duplicate_rate:
                    db = _duplicate(rng, box, W, H)
                    if db is not None:
                        dets.append((db, profile.duplicate_score.draw(rng), "false_positive", "diver_duplicate"))
                continue
            if not eligible(role, box) or rng.random() >= (stay if pid in on else enter):
                continue
            now.add(pid)
            jb = _jitter(rng, box, model.jitter, W, H)
            if jb is not None:
                dets.append((jb, profile.people_score.draw(rng), role, pid))
        on = now
        for _ in range(int(rng.poisson(model.false_positive_rate))):
            w = float(rng.uniform(12, 45))
            h = float(w * rng.uniform(1.2, 2.6))
            x, y = float(rng.uniform(0, W - w)), float(rng.uniform(0, H - h))
            dets.append(((x, y, x + w, y + h), profile.people_score.draw(rng), "false_positive", "clutter"))
        out.append(FrameDetections.build(dets))
    return out


def mot_lines(frame: int, dets: FrameDetections) -> list[str]:
    """MOT det lines ``frame,-1,x,y,w,h,score,-1,-1,-1`` of 0-based ``frame`` (written 1-based)."""
    lines = []
    for (x1, y1, x2, y2), score, _, _ in dets.items():
        lines.append(f"{frame + 1},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{score:.4f},-1,-1,-1")
    return lines


def parse_mot_line(line: str) -> tuple[int, tuple[float, float, float, float], float]:
    """(0-based frame, xyxy, score) from one MOT det line."""
    parts = line.strip().split(",")
    f, x, y, w, h, s = int(parts[0]), *map(float, parts[2:7])
    return f - 1, (x, y, x + w, y + h), s
