"""How well a synthetic dive is executed, and the judges' scores that follow from it.

Each clip samples execution parameters from a latent diver quality ``q ~ N(0, 1)`` (so faults
are correlated, as in real competitions) plus independent noise. Every parameter changes the
rendering (see :mod:`fdpose.synth.motion` and the splash drawing), so the score is learnable
from the video and the poses:

========================  ==========================================  =====================
parameter                 what it changes in the rendering            judge penalty (points)
========================  ==========================================  =====================
takeoff_height_m          apex height of the flight                   1.5 * clip((1.0 - h) / 0.7, 0, 1)
rotation_error_deg        over (+) / under (-) rotation: body angle   0.075 * |e|
                          from vertical at water contact
kickout_delay             late (+) / early (-) opening, flight share  8 * |d|
leg_separation_deg        scissor angle between the legs in flight    0.045 * sep
knee_bend_deg             knee flexion in pike / straight / entry     0.035 * bend
splash_size (0..1)        size of the entry splash                    2.2 * splash
failed (rare)             a flat, badly over/under-rotated landing    + 8
========================  ==========================================  =====================

Judges: 7 judges, ``score_j = 10 - sum(penalties) + bias_j + noise_j`` (bias ~ N(0, 0.2) per
judge and clip, noise ~ N(0, 0.3)), rounded to the nearest 0.5 and clipped to 0..10.
``dive_score = (sum of the middle three judge scores) x difficulty`` rounded to 2 decimals
(the real 7-judge rule, :func:`fdpose.finediving.official_score`).
The coefficients are tuned so the score distribution resembles real FineDiving
(real: mean 66.4, std 15.2; middle-three judge mean 7.13, std 1.38).

``form_faults`` (``SynthConfig.form_faults``, off by default: worlds made without it are unchanged)
draws the in-flight body-position faults wider and more tied to the diver's quality
(:data:`FORM_FAULTS`), with the same penalty per degree. Why: judges deduct for legs apart and bent
knees over the whole flight (method.md: execution is judged on take-off, flight position and
entry), and these faults are what a pose carries over many frames; in the default world they are a
few degrees (mean ~5), below what an estimated pose resolves, so the score rests mostly on the
entry angle at water contact and the splash, which the poses barely show (docs/demo_aqa.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fdpose.finediving import official_score

NUM_JUDGES = 7

#: Penalty coefficients (judge points); written to world.json as part of the recipe.
PENALTY_COEFFICIENTS: dict[str, float] = {
    "takeoff_height": 1.5,  # x clip((1.0 - h) / 0.7, 0, 1)
    "rotation_error": 0.075,  # per degree
    "kickout_delay": 8.0,  # per unit of flight share
    "leg_separation": 0.045,  # per degree
    "knee_bend": 0.035,  # per degree
    "splash": 2.2,  # x splash size
    "failed": 8.0,
}
JUDGE_BIAS_STD = 0.2
JUDGE_NOISE_STD = 0.3
FAIL_PROBABILITY = 0.004

#: ``form_faults`` worlds: (base, per unit of quality, floor, ceiling) of the half-normal sigma (degrees)
#: of the leg separation and the knee bend, and their caps; the default world's values are in
#: :func:`sample_execution` (6 - 3q and 7 - 3.5q, caps 45 and 60).
FORM_FAULTS: dict[str, tuple[float, float, float, float, float]] = {
    "leg_separation": (12.0, 8.0, 1.0, 40.0, 60.0),
    "knee_bend": (14.0, 9.0, 1.0, 45.0, 70.0),
}


@dataclass(frozen=True)
class Execution:
    """Per-clip execution parameters (see the module table)."""

    quality: float
    takeoff_height_m: float
    rotation_error_deg: float
    kickout_delay: float
    leg_separation_deg: float
    knee_bend_deg: float
    splash_size: float
    failed: bool

    @property
    def entry_angle_deviation_deg(self) -> float:
        """Body angle from vertical at water contact."""
        return abs(self.rotation_error_deg)

    def to_dict(self) -> dict[str, Any]:
        d = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        d["entry_angle_deviation_deg"] = round(self.entry_angle_deviation_deg, 4)
        return d


def _form_fault(rng: np.random.Generator, name: str, qc: float) -> float:
    base, per_q, lo, hi, cap = FORM_FAULTS[name]
    return float(min(abs(rng.normal(0.0, np.clip(base - per_q * qc, lo, hi))), cap))


def sample_execution(rng: np.random.Generator, difficulty: float, form_faults: bool = False) -> Execution:
    """Draw one clip's execution. Harder dives are slightly less clean on average.

    ``form_faults``: leg separation and knee bend from :data:`FORM_FAULTS` (same number of draws in
    the same order, so only those two values differ from the default world's for the same rng)."""
    q = float(rng.normal()) - 0.25 * (difficulty - 3.0)
    qc = float(np.clip(q, -2.5, 2.5))
    height = float(np.clip(0.85 + 0.2 * qc + 0.15 * rng.normal(), 0.35, 1.6))
    rot_sigma = float(np.clip(14.0 - 3.5 * qc, 4.0, 30.0))
    rotation = float(rng.normal(0.0, rot_sigma))
    kickout = float(np.clip(rng.normal(0.0, max(0.01, 0.03 - 0.01 * qc)), -0.12, 0.12))
    if form_faults:
        legs = _form_fault(rng, "leg_separation", qc)
        knees = _form_fault(rng, "knee_bend", qc)
    else:
        legs = float(min(abs(rng.normal(0.0, np.clip(6.0 - 3.0 * qc, 0.5, 25.0))), 45.0))
        knees = float(min(abs(rng.normal(0.0, np.clip(7.0 - 3.5 * qc, 0.5, 30.0))), 60.0))
    splash = float(np.clip(0.3 + 0.012 * abs(rotation) - 0.06 * qc + 0.07 * rng.normal(), 0.03, 1.0))
    failed = bool(rng.random() < FAIL_PROBABILITY)
    if failed:
        rotation = float(rng.choice([-1.0, 1.0]) * rng.uniform(60.0, 95.0))
        splash = 1.0
    return Execution(q, height, rotation, kickout, legs, knees, splash, failed)


def penalties(ex: Execution) -> dict[str, float]:
    """Judge-point deductions per fault (the recipe in the module docstring)."""
    c = PENALTY_COEFFICIENTS
    out = {
        "takeoff_height": c["takeoff_height"] * float(np.clip((1.0 - ex.takeoff_height_m) / 0.7, 0.0, 1.0)),
        "rotation_error": c["rotation_error"] * abs(ex.rotation_error_deg),
        "kickout_delay": c["kickout_delay"] * abs(ex.kickout_delay),
        "leg_separation": c["leg_separation"] * ex.leg_separation_deg,
        "knee_bend": c["knee_bend"] * ex.knee_bend_deg,
        "splash": c["splash"] * ex.splash_size,
        "failed": c["failed"] if ex.failed else 0.0,
    }
    return {k: round(v, 4) for k, v in out.items()}


def judge_scores(rng: np.random.Generator, pens: dict[str, float]) -> list[float]:
    """Seven judge scores: 10 - penalties + per-judge bias and noise, to the nearest 0.5, in 0..10."""
    base = 10.0 - sum(pens.values())
    raw = base + rng.normal(0.0, JUDGE_BIAS_STD, NUM_JUDGES) + rng.normal(0.0, JUDGE_NOISE_STD, NUM_JUDGES)
    return [float(v) for v in np.clip(np.round(raw * 2.0) / 2.0, 0.0, 10.0)]


def dive_score(scores: list[float], difficulty: float) -> float:
    """Sum of the middle three of seven judge scores x difficulty (2 decimals)."""
    return official_score(scores, difficulty)


def recipe(form_faults: bool = False) -> dict[str, Any]:
    """The scoring recipe as data (written to world.json; the ``form_faults`` entry only when on)."""
    out: dict[str, Any] = {
        "latent_quality": "q ~ N(0,1) - 0.25 * (difficulty - 3); faults are drawn from q plus noise",
        "penalties": {
            "takeoff_height": "1.5 * clip((1.0 - takeoff_height_m) / 0.7, 0, 1)",
            "rotation_error": "0.075 * |rotation_error_deg| (= entry angle deviation from vertical)",
            "kickout_delay": "8 * |kickout_delay|",
            "leg_separation": "0.045 * leg_separation_deg",
            "knee_bend": "0.035 * knee_bend_deg",
            "splash": "2.2 * splash_size",
            "failed": f"8 when the dive failed (probability {FAIL_PROBABILITY})",
        },
        "coefficients": dict(PENALTY_COEFFICIENTS),
        "judges": {
            "count": NUM_JUDGES,
            "score": "clip(round_to_0.5(10 - sum(penalties) + bias_j + noise_j), 0, 10)",
            "bias_std": JUDGE_BIAS_STD,
            "noise_std": JUDGE_NOISE_STD,
        },
        "dive_score": "round((sum of the middle three of 7 judge scores) * difficulty, 2)",
    }
    if form_faults:
        out["form_faults"] = {
            "leg_separation_deg": "min(|N(0, clip(12 - 8 q, 1, 40))|, 60)",
            "knee_bend_deg": "min(|N(0, clip(14 - 9 q, 1, 45))|, 70)",
            "entry_line_up": "the somersault rotation slows to 10% after the kick-out, so the entry angle "
                             "shows over the last flight frames",
        }
    return out
