"""The venue around the diver: background canvas, board/platform, crowd and judges, camera path.

One large background canvas per clip is drawn once in "canvas pixels"
(``canvas = origin + s * (x, -y)`` for world metres x, y); every frame is a crop of it at an
integer camera offset, so ground truth stays exact: ``image = canvas - offset``.
Spectators stand on tiered stands behind the pool, judges sit on the far deck; both are drawn
with the same articulated body renderer as the diver (upright, normal poses). A share of
them moves slightly (waving, swaying) and is drawn per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import cv2
import numpy as np

from fdpose.synth.body import SEATED, STAND, Posture, body_joints, place
from fdpose.synth.motion import Apparatus
from fdpose.synth.render import SHIFT, Layer, PersonStyle, render_layer

_F = 1 << SHIFT

SKIN_TONES = [(150, 180, 225), (120, 150, 200), (95, 125, 170), (70, 95, 135), (170, 195, 235)]
CLOTHES = [(40, 40, 40), (200, 200, 200), (160, 60, 30), (40, 40, 170), (60, 140, 60), (30, 160, 200),
           (120, 60, 120), (90, 90, 150), (210, 180, 150), (60, 90, 120)]
SUITS = [(70, 30, 20), (30, 30, 170), (25, 25, 25), (120, 110, 20), (130, 40, 110), (20, 90, 200)]
HAIR = [(20, 20, 25), (30, 45, 70), (40, 70, 120), (90, 90, 90)]


@dataclass
class Person:
    """A spectator or judge: world feet position (x, y) metres, scale (pixels per metre factor
    relative to the diver's), posture, yaw, style, and optional motion (amplitude, rate, phase)."""

    pid: str
    role: str
    x: float
    y: float
    depth_scale: float
    posture: Posture
    yaw: float
    style: PersonStyle
    height: float
    moving: bool = False
    wave: float = 0.0
    rate: float = 0.0
    phase: float = 0.0

    def joints_world(self, frame: float) -> np.ndarray:
        """(16, 3) world joints (metres, before the depth scale) at ``frame``."""
        p = self.posture
        sway = 0.0
        if self.moving:
            s = np.sin(2 * np.pi * self.rate * frame + self.phase)
            p = p.with_(shoulder_r=p.shoulder_r + self.wave * (0.5 + 0.5 * s), elbow_r=p.elbow_r + 0.3 * self.wave * s)
            sway = 2.5 * s
        j = body_joints(p, self.height)
        w = place(j, 1.0, 0.0, sway, self.yaw, np.zeros(3), np.zeros(3))
        return w - np.array([0.0, w[:, 1].min() - 0.0, 0.0])


@dataclass
class Venue:
    """Per-match look: colours, the crowd, the judges and the camera scale (pixels per metre)."""

    px_per_m: float
    wall_top: tuple[int, int, int]
    wall_bottom: tuple[int, int, int]
    water: tuple[int, int, int]
    stand_color: tuple[int, int, int]
    rows: int
    people: list[Person] = field(default_factory=list)
    sections: list[tuple[float, float]] = field(default_factory=list)


def _rgb(values: Iterable[float]) -> tuple[int, int, int]:
    """Three colour channels as ints (truncated, as int() does)."""
    r, g, b = (int(v) for v in values)
    return r, g, b


def sample_venue(rng: np.random.Generator, apparatus: Apparatus) -> Venue:
    """Colours, camera scale and crowd of one match (nobody stands behind the board's tower,
    which would have to hide them)."""
    tower = (-(apparatus.length + 1.8), -1.2)
    s = float(rng.uniform(32, 46) if apparatus.kind == "springboard" else rng.uniform(24, 34))
    wall_top = _rgb(rng.integers(90, 200, 3))
    wall_bottom = _rgb(v * 0.6 for v in wall_top)
    water = (int(rng.integers(150, 200)), int(rng.integers(110, 150)), int(rng.integers(20, 60)))
    stand = _rgb(rng.integers(50, 110, 3))
    rows = int(rng.integers(3, 6))
    venue = Venue(s, wall_top, wall_bottom, water, stand, rows)
    # Stand sections with walls between them; not every seat is taken.
    sections: list[tuple[float, float]] = []
    x = -16.0 + float(rng.uniform(0, 3))
    while x < 16.0:
        width = float(rng.uniform(5, 10))
        sections.append((x, x + width))
        x += width + float(rng.uniform(2.5, 6))
    venue.sections = sections
    n = 0
    for r in range(rows):
        y = 1.3 + 1.7 * r
        for a, b in sections:
            x = a + float(rng.uniform(0, 1.0))
            while x < b:
                if rng.random() < 0.5 and not tower[0] < x < tower[1]:
                    venue.people.append(_person(rng, f"s{n}", "spectator", x, y, float(rng.uniform(0.55, 0.8))))
                    n += 1
                x += float(rng.uniform(0.9, 2.0))
    k = 0
    for x0 in (tower[0] - 4.5, 4.0):
        for i in range(int(rng.integers(3, 5))):
            venue.people.append(_person(rng, f"j{k}", "judge", x0 + 1.2 * i + rng.uniform(-0.2, 0.2), 0.25,
                                        float(rng.uniform(0.85, 0.95))))
            k += 1
    return venue


def _person(rng: np.random.Generator, pid: str, role: str, x: float, y: float, scale: float) -> Person:
    top = CLOTHES[int(rng.integers(len(CLOTHES)))]
    bottom = CLOTHES[int(rng.integers(len(CLOTHES)))]
    if role == "judge":
        posture = SEATED.with_(shoulder_r=float(rng.uniform(10, 40)), shoulder_l=float(rng.uniform(10, 40)))
        top, bottom = (40, 40, 40), (60, 50, 40)
    else:
        arms = float(rng.uniform(-5, 25))
        posture = STAND.with_(shoulder_r=arms, shoulder_l=float(rng.uniform(-5, 25)), elbow_r=float(rng.uniform(0, 60)),
                              elbow_l=float(rng.uniform(0, 60)), arm_abd=float(rng.uniform(5, 20)))
    style = PersonStyle(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], top, bottom, HAIR[int(rng.integers(len(HAIR)))])
    moving = bool(rng.random() < 0.25)
    return Person(pid, role, float(x), float(y), scale, posture, float(rng.uniform(-120, -60)), style,
                  float(rng.uniform(1.6, 1.9)), moving, float(rng.uniform(20, 90)) if moving else 0.0,
                  float(rng.uniform(0.02, 0.08)), float(rng.uniform(0, 2 * np.pi)))


def person_layer(person: Person, frame: float, px_per_m: float, origin_px: np.ndarray) -> Layer:
    """The person's layer in canvas pixels (``origin_px``: canvas pixel of world (0, 0))."""
    w = person.joints_world(frame)
    s = px_per_m * person.depth_scale
    feet = origin_px + px_per_m * np.array([person.x, -person.y])
    xy = np.stack([feet[0] + s * w[:, 0], feet[1] - s * w[:, 1]], axis=1)
    return render_layer([xy], [w[:, 2]], s, person.style)


# ----------------------------------------------------------------------------- canvas


@dataclass
class Canvas:
    """The static background of one clip: image (Hc, Wc, 3) uint8 and the pixel of world (0, 0)."""

    image: np.ndarray
    origin: np.ndarray
    px_per_m: float



def build_canvas(venue: Venue, apparatus: Apparatus, size: tuple[int, int], origin: np.ndarray, rng: np.random.Generator) -> Canvas:
    """Draw wall, stands, water with lane ropes and the static part of the board/platform
    (people are drawn by the clip renderer, which records their boxes).

    size: (width, height) canvas pixels; origin: canvas pixel of world (0, 0).
    """
    Wc, Hc = size
    s = venue.px_per_m
    img = np.zeros((Hc, Wc, 3), np.uint8)
    surface = int(round(origin[1]))
    # Wall: vertical gradient.
    t = np.linspace(0.0, 1.0, max(1, surface))[:, None]
    grad = (1 - t) * np.array(venue.wall_top, np.float32) + t * np.array(venue.wall_bottom, np.float32)
    img[:surface] = grad[:Hc, None, :].astype(np.uint8)  # the surface can lie below a canvas that never sees the water
    # Stands: one band per row of spectators in each section, darker edges.
    for r in range(venue.rows):
        y0 = origin[1] - s * (1.3 + 1.7 * r + 1.5)
        y1 = origin[1] - s * (1.3 + 1.7 * r)
        shade = tuple(int(min(255, v * (0.85 + 0.05 * r))) for v in venue.stand_color)
        for a, b in venue.sections:
            xa, xb = int(origin[0] + s * a), int(origin[0] + s * b)
            cv2.rectangle(img, (xa, int(y0)), (xb, int(y1)), shade, -1)
            cv2.line(img, (xa, int(y1)), (xb, int(y1)), tuple(int(v * 0.6) for v in venue.stand_color), 2)
    # A banner above the stands.
    yb = int(origin[1] - s * (1.3 + 1.7 * venue.rows + 0.9))
    cv2.rectangle(img, (0, yb), (Wc - 1, yb + max(3, int(0.6 * s))), (30, 30, 120), -1)
    # Water: darker with depth, lane ropes receding below the surface.
    rows = Hc - surface
    if rows > 0:
        t = np.linspace(0.0, 1.0, rows)[:, None]
        col = (1 - 0.45 * t) * np.array(venue.water, np.float32)
        img[surface:] = col[:, None, :].astype(np.uint8)
        k, y = 1, surface + 6.0
        while y < Hc:
            colors = [(30, 30, 200), (240, 240, 240), (200, 120, 20)]
            dash = max(3, int(4 + k * 2))
            for i, x in enumerate(range(0, Wc, dash)):
                cv2.line(img, (x, int(y)), (min(Wc - 1, x + dash - 1), int(y)), colors[(i + k) % 3], 1 + k // 3)
            y += 8.0 * k
            k += 1
        cv2.line(img, (0, surface), (Wc - 1, surface), tuple(int(min(255, v * 1.3)) for v in venue.water), 1)
    _draw_static_board(img, apparatus, origin, s)
    # Light noise so the background is not flat (JPEG-like texture for detectors/pose models).
    textured = cv2.add(img, rng.integers(0, 6, img.shape, dtype=np.uint8))
    return Canvas(textured, origin.astype(np.float64), s)


def _draw_static_board(img: np.ndarray, app: Apparatus, origin: np.ndarray, s: float) -> None:
    def px(x: float, y: float) -> tuple[int, int]:
        return int(round(origin[0] + s * x)), int(round(origin[1] - s * y))

    concrete = (165, 170, 175)
    if app.kind == "platform":
        cv2.rectangle(img, px(-app.length, app.height), px(0.0, app.height - 0.35), concrete, -1)
        cv2.rectangle(img, px(-app.length, app.height), px(0.0, app.height - 0.05), (60, 120, 200), -1)
        cv2.rectangle(img, px(-app.length + 0.5, app.height - 0.35), px(-2.4, 0.0), (140, 145, 150), -1)
        for h in (7.5, 5.0):
            cv2.rectangle(img, px(-app.length - 1.0, h), px(-1.6, h - 0.3), concrete, -1)
    else:
        cv2.rectangle(img, px(-app.length - 0.4, app.height - 0.12), px(-app.length + 0.6, 0.0), (130, 135, 140), -1)
        cv2.rectangle(img, px(-2.7, app.height - 0.12), px(-2.2, 0.0), (100, 110, 120), -1)
        cv2.circle(img, px(-2.45, app.height - 0.16), max(2, int(0.12 * s)), (40, 40, 40), -1)


def draw_springboard(frame: np.ndarray, app: Apparatus, tip_deflection: float, origin_px: np.ndarray, s: float) -> None:
    """The flexing springboard plank (per frame); ``origin_px``: image pixel of world (0, 0)."""
    if app.kind != "springboard":
        return
    xs = np.linspace(-app.length, 0.0, 12)
    bend = tip_deflection * np.clip((xs + 2.45) / 2.45, 0.0, None) ** 2
    ys = app.height + bend - 0.06
    pts = np.stack([origin_px[0] + s * xs, origin_px[1] - s * ys], axis=1)
    cv2.polylines(frame, [np.round(pts * _F).astype(np.int32)], False, (225, 230, 235), max(2, int(0.12 * s)), cv2.LINE_AA, SHIFT)
