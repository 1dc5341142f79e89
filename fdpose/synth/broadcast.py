"""Broadcast features of the synthetic world: zoom, cuts, replays, walking officials, people in
the foreground, on-screen graphics and the false detections on the splash and the graphics.

Every feature is a :class:`~fdpose.synth.config.SynthConfig` field, off by default. Their random
draws come from their own stream (``clip_seed + (9,)``), so switching a feature on leaves the
dive, the execution, the score and the live camera pan of every clip as they were.

Views. Each output frame is a :class:`View`: the dive time ``t`` it shows (frames of the live
clip; fractional in the slow-motion replay), the world pixel at the image centre
(``px = s * x, py = -s * y``) and the zoom. An image pixel ``u`` sees the world pixel
``centre + (u - ((W - 1) / 2, (H - 1) / 2)) / zoom``. A live view at zoom 1 whose corner is an
integer is rendered by the exact integer crop of the old renderer (``View.corner``); any other
view is rendered from a canvas crop warped to the image (bilinear), and the ground truth goes
through the same affine map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import cv2
import numpy as np

from fdpose.synth.body import STAND, body_joints, place
from fdpose.synth.config import IMAGE_HEIGHT, IMAGE_WIDTH, SynthConfig
from fdpose.synth.detections import calibrated_miss_base  # noqa: F401 - re-exported, its old home
from fdpose.synth.motion import StageFrames
from fdpose.synth.render import Layer, PersonStyle, render_layer
from fdpose.synth.scene import CLOTHES, HAIR, SKIN_TONES

Box = tuple[float, float, float, float]

#: Dive time per output frame in the replay (half speed).
REPLAY_STEP = 0.5
#: Crop margin (canvas pixels) around a warped view, so bilinear sampling never reads outside.
WARP_PAD = 2


@dataclass(frozen=True)
class View:
    """What one output frame shows (see the module docstring)."""

    t: float
    centre: tuple[float, float]
    zoom: float
    segment: str  # "live" | "cut" | "replay"
    step: float = 1.0  # dive time per output frame
    corner: Optional[tuple[int, int]] = None  # integer top-left world pixel of a zoom-1 live view

    def window(self) -> tuple[float, float, float, float]:
        """World-pixel extent (x1, y1, x2, y2) of the pixel centres the image samples."""
        hx, hy = (IMAGE_WIDTH - 1) / 2 / self.zoom, (IMAGE_HEIGHT - 1) / 2 / self.zoom
        return self.centre[0] - hx, self.centre[1] - hy, self.centre[0] + hx, self.centre[1] + hy


def live_views(cam: np.ndarray) -> list[View]:
    """The old renderer's views: (N, 2) integer top-left corners, zoom 1."""
    cx, cy = (IMAGE_WIDTH - 1) / 2, (IMAGE_HEIGHT - 1) / 2
    return [View(float(f), (float(c[0]) + cx, float(c[1]) + cy), 1.0, "live", 1.0, (int(c[0]), int(c[1])))
            for f, c in enumerate(cam)]


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def zoom_curve(rng: np.random.Generator, n: int, amount: float) -> np.ndarray:
    """(n,) zoom per live frame: 1 at the start, a smooth move in (2 clips in 3) or out by up to
    ``amount`` of the focal length during the dive, partly back towards the end."""
    a = amount * float(rng.uniform(0.5, 1.0))
    sign = 1.0 if rng.random() < 2 / 3 else -1.0
    u = np.arange(n) / max(1, n - 1)
    start, rise = float(rng.uniform(0.1, 0.4)), float(rng.uniform(0.15, 0.35))
    back, fall = float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.15, 0.3))
    bump = _smoothstep((u - start) / rise) - back * _smoothstep((u - start - rise - 0.1) / fall)
    return (1.0 + a) ** (sign * bump)


def plan_views(
    cfg: SynthConfig,
    rng: np.random.Generator,
    frames: StageFrames,
    cam: np.ndarray,
    camera_path: Callable[[np.random.Generator], np.ndarray],
    diver_centre: Callable[[float], np.ndarray],
) -> list[View]:
    """Views of every output frame: the live clip (zoomed; after a cut, the second camera), then
    the replay.

    cam: (N, 2) the live camera's integer corners; camera_path(rng) -> (N, 2) another camera's
    corners over the same frames; diver_centre(t) -> (2,) the diver's centre in world pixels.
    """
    W, H = IMAGE_WIDTH, IMAGE_HEIGHT
    half = np.array([(W - 1) / 2, (H - 1) / 2])
    n = len(cam)
    views = live_views(cam)
    zoom = zoom_curve(rng, n, cfg.zoom) if cfg.zoom > 0 else np.ones(n)
    if rng.random() < cfg.cut_probability:
        cut = int(rng.integers(frames.t0 + 2, max(frames.t0 + 3, frames.t1 - 1)))
        second = camera_path(rng) + half
        z2 = float(rng.uniform(0.8, 1.6))
        for f in range(cut, n):
            views[f] = View(float(f), (float(second[f, 0]), float(second[f, 1])), z2 * float(zoom[f]), "cut")
    for f in range(n):
        if views[f].segment == "live" and zoom[f] != 1.0:
            views[f] = View(float(f), views[f].centre, float(zoom[f]), "live")
    if rng.random() < cfg.replay_probability:
        t_start = frames.t0 - float(rng.uniform(0.1, 0.3)) * frames.flight
        t_end = min(n - 1.0, frames.t1 + float(rng.uniform(4, 10)))
        count = int((t_end - t_start) / REPLAY_STEP) + 1
        z = float(rng.uniform(1.3, 1.8))
        offset = rng.normal(0.0, 12.0, 2)
        c = diver_centre(t_start) + offset
        for k in range(count):
            t = t_start + k * REPLAY_STEP
            c = c + 0.5 * (diver_centre(t) + offset - c)  # a tight, smooth follow
            views.append(View(t, (float(c[0]), float(c[1])), z, "replay", REPLAY_STEP))
    return views


def views_extent(views: list[View]) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) world pixels covering every view's window plus the warp padding."""
    win = np.array([v.window() for v in views])
    lo = np.floor(win[:, :2].min(axis=0)) - WARP_PAD
    hi = np.ceil(win[:, 2:].max(axis=0)) + WARP_PAD
    return lo.astype(np.int64), hi.astype(np.int64)


def crop_and_affine(view: View, origin: np.ndarray) -> tuple[int, int, int, int, Optional[np.ndarray]]:
    """Canvas crop (x0, y0, w, h) for ``view`` and the 2x3 map crop pixels -> image pixels
    (None for the exact integer crop of a zoom-1 live view). origin: canvas pixel of world (0, 0)."""
    if view.corner is not None:
        return int(view.corner[0] + origin[0]), int(view.corner[1] + origin[1]), IMAGE_WIDTH, IMAGE_HEIGHT, None
    x1, y1, x2, y2 = view.window()
    cx, cy = view.centre[0] + origin[0], view.centre[1] + origin[1]
    x0 = int(math.floor(x1 + origin[0])) - WARP_PAD
    y0 = int(math.floor(y1 + origin[1])) - WARP_PAD
    w = int(math.ceil(x2 + origin[0])) + WARP_PAD - x0 + 1
    h = int(math.ceil(y2 + origin[1])) + WARP_PAD - y0 + 1
    z = view.zoom
    m = np.array([[z, 0.0, z * (x0 - cx) + (IMAGE_WIDTH - 1) / 2], [0.0, z, z * (y0 - cy) + (IMAGE_HEIGHT - 1) / 2]])
    return x0, y0, w, h, m


def map_points(m: Optional[np.ndarray], xy: np.ndarray) -> np.ndarray:
    """(N, 2) crop pixels -> image pixels."""
    return xy if m is None else xy * m[0, 0] + m[:, 2]


def map_box(m: Optional[np.ndarray], box: Optional[Box]) -> Optional[Box]:
    if box is None or m is None:
        return box
    (x1, y1), (x2, y2) = map_points(m, np.array([box[:2], box[2:]], dtype=np.float64))
    return float(x1), float(y1), float(x2), float(y2)


def warp(m: np.ndarray, img: np.ndarray) -> np.ndarray:
    """Resample a crop (image or mask) to the output image size."""
    return cv2.warpAffine(img, m, (IMAGE_WIDTH, IMAGE_HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# ----------------------------------------------------------------------------- people who move


@dataclass(frozen=True)
class Walker:
    """An official, coach or a person in the foreground: feet at world (x0 + v * seconds, y),
    drawn at ``depth_scale`` x the diver's pixels per metre, walking (or swaying when v = 0)."""

    pid: str
    role: str
    x0: float
    y: float
    v: float  # m/s, signed
    depth_scale: float
    style: PersonStyle
    height: float
    yaw: float
    phase: float
    base_score: float

    def feet_x(self, seconds: float) -> float:
        return self.x0 + self.v * seconds

    def joints_world(self, seconds: float) -> np.ndarray:
        """(16, 3) world joints (metres, before the depth scale) relative to the feet."""
        stride = 2 * np.pi * (abs(self.v) / 1.4) * seconds + self.phase  # one gait cycle per 1.4 m
        amp = min(1.0, abs(self.v) / 0.8)
        s = np.sin(stride)
        p = STAND.with_(hip_r=22 * amp * s, hip_l=-22 * amp * s, knee_r=35 * amp * max(0.0, -s),
                        knee_l=35 * amp * max(0.0, s), shoulder_r=-18 * amp * s, shoulder_l=18 * amp * s,
                        elbow_r=15.0, elbow_l=15.0, arm_abd=8.0)
        sway = 0.0 if self.v else 2.0 * np.sin(0.8 * seconds + self.phase)
        w = place(body_joints(p, self.height), 1.0 if self.v >= 0 else -1.0, 0.0, sway, self.yaw, np.zeros(3), np.zeros(3))
        return w - np.array([0.0, w[:, 1].min(), 0.0])

    def layer(self, seconds: float, px_per_m: float, origin_px: np.ndarray) -> Layer:
        """The person's layer in the pixels where world (0, 0) is ``origin_px``."""
        w = self.joints_world(seconds)
        s = px_per_m * self.depth_scale
        feet = origin_px + px_per_m * np.array([self.feet_x(seconds), -self.y])
        xy = np.stack([feet[0] + s * w[:, 0], feet[1] - s * w[:, 1]], axis=1)
        return render_layer([xy], [w[:, 2]], s, self.style)


def _style(rng: np.random.Generator, role: str) -> PersonStyle:
    top = (30, 30, 30) if role == "official" else CLOTHES[int(rng.integers(len(CLOTHES)))]
    bottom = (40, 40, 40) if role == "official" else CLOTHES[int(rng.integers(len(CLOTHES)))]
    return PersonStyle(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], top, bottom, HAIR[int(rng.integers(len(HAIR)))])


def sample_walkers(cfg: SynthConfig, rng: np.random.Generator, entry_x: float) -> list[Walker]:
    """Officials and coaches on the pool deck (Poisson ``cfg.walkers``) and, in a share
    ``cfg.foreground_probability`` of the clips, one or two people near the camera at the entry
    (their feet 1.2-2.6 m below the water line on screen, 2-3x the diver's size: often cut by
    the image's lower border)."""
    out: list[Walker] = []
    for k in range(int(rng.poisson(cfg.walkers))):
        role = "official" if rng.random() < 0.6 else "coach"
        v = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.5))
        out.append(Walker(f"w{k}", role, entry_x + float(rng.uniform(-6.0, 6.0)), float(rng.uniform(0.0, 0.3)), v,
                          float(rng.uniform(0.85, 1.05)), _style(rng, role), float(rng.uniform(1.6, 1.9)),
                          float(rng.uniform(-30, 30)), float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0.55, 0.9))))
    if rng.random() < cfg.foreground_probability:
        for k in range(int(rng.integers(1, 3))):
            v = float(rng.choice([0.0, -0.3, 0.3]))
            out.append(Walker(f"f{k}", "foreground", entry_x + float(rng.uniform(-3.5, 3.5)), -float(rng.uniform(1.2, 2.6)),
                              v, float(rng.uniform(2.0, 3.0)), _style(rng, "foreground"), float(rng.uniform(1.6, 1.9)),
                              float(rng.uniform(-60, 60)), float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0.4, 0.85))))
    return out


def layer_mask(layer: Layer, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 coverage of ``layer`` on a frame of ``shape`` (alpha / 255)."""
    H, W = shape
    out = np.zeros((H, W), np.float32)
    h, w = layer.rgba.shape[:2]
    x0, y0 = max(0, layer.x0), max(0, layer.y0)
    x1, y1 = min(W, layer.x0 + w), min(H, layer.y0 + h)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = layer.rgba[y0 - layer.y0 : y1 - layer.y0, x0 - layer.x0 : x1 - layer.x0, 3] / 255.0
    return out


# ----------------------------------------------------------------------------- graphics


#: Fixed screen boxes (x1, y1, x2, y2) of the graphics, image pixels.
LOGO_BOX: Box = (IMAGE_WIDTH - 80.0, 8.0, IMAGE_WIDTH - 10.0, 30.0)
LOWER_THIRD_BOX: Box = (10.0, IMAGE_HEIGHT - 44.0, 250.0, IMAGE_HEIGHT - 12.0)
REPLAY_BOX: Box = (10.0, 8.0, 84.0, 30.0)


def graphics_boxes(view: View, frame: int, frames: StageFrames, n_live: int) -> list[tuple[str, Box]]:
    """(name, box) of the graphics on screen: the logo always, the lower third before the take-off
    ends (diver and dive) and from 5 frames after the entry to the end of the live clip (score),
    the REPLAY tag in the replay."""
    out: list[tuple[str, Box]] = [("logo", LOGO_BOX)]
    if view.segment == "replay":
        out.append(("replay", REPLAY_BOX))
    elif frame <= frames.t0 or frames.t1 + 5 <= frame < n_live:
        out.append(("lower_third", LOWER_THIRD_BOX))
    return out


def draw_graphics(img: np.ndarray, boxes: list[tuple[str, Box]], text: dict[str, str]) -> np.ndarray:
    """Draw the graphics (opaque panels with text); returns their (H, W) float32 coverage."""
    H, W = img.shape[:2]
    cover = np.zeros((H, W), np.float32)
    colours = {"logo": (40, 40, 160), "lower_third": (90, 40, 20), "replay": (20, 20, 20)}
    for name, (x1, y1, x2, y2) in boxes:
        p1, p2 = (int(x1), int(y1)), (int(x2), int(y2))
        cv2.rectangle(img, p1, p2, colours[name], -1)
        cv2.rectangle(img, p1, p2, (230, 230, 230), 1)
        cv2.putText(img, text.get(name, name.upper()), (p1[0] + 5, p2[1] - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (250, 250, 250), 1, cv2.LINE_AA)
        cover[p1[1] : p2[1] + 1, p1[0] : p2[0] + 1] = 1.0
    return cover


# ----------------------------------------------------------------------------- false detections


def mask_box(mask: np.ndarray, threshold: float = 0.3, min_pixels: int = 30) -> Optional[Box]:
    """xyxy of the pixels of ``mask`` above ``threshold`` (None when fewer than ``min_pixels``)."""
    ys, xs = np.nonzero(mask > threshold)
    if xs.size < min_pixels:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def false_boxes(rng: np.random.Generator, count: int, region: Box, person_like: bool) -> list[tuple[Box, float]]:
    """``count`` false detections inside ``region``: person-shaped sub-boxes (the splash's column)
    or the panel itself, jittered (graphics). Returns (xyxy, score)."""
    out: list[tuple[Box, float]] = []
    x1, y1, x2, y2 = region
    w, h = x2 - x1, y2 - y1
    for _ in range(count):
        if person_like:
            bh = min(h, max(8.0, h * float(rng.uniform(0.6, 1.0))))
            bw = min(w, bh * float(rng.uniform(0.35, 0.8)))
            bx = x1 + float(rng.uniform(0.0, max(0.0, w - bw)))
            box = (bx, y2 - bh, bx + bw, y2)
        else:
            j = rng.normal(0.0, 0.08, 4) * np.array([w, h, w, h])
            box = (x1 + j[0], y1 + j[1], x2 + j[2], y2 + j[3])
        out.append(((float(box[0]), float(box[1]), float(box[2]), float(box[3])), float(rng.uniform(0.15, 0.6))))
    return out
