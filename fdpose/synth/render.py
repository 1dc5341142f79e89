"""Drawing: articulated bodies with volume, the splash, the occluder, compositing, motion blur.

Bodies are drawn into a small RGBA crop (premultiplied: OpenCV's anti-aliased drawing on a
zero background yields colour x coverage and alpha = 255 x coverage), then composited onto
the frame. The crop's alpha is the body's silhouette, which gives exact tight boxes.
Coordinates are pixels, x right, y down; sub-pixel positions are kept with OpenCV's ``shift``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from fdpose.skeleton import JOINT_INDEX
from fdpose.synth.body import THICKNESS

J = JOINT_INDEX
SHIFT = 3
_F = 1 << SHIFT

Color = tuple[int, int, int]


@dataclass(frozen=True)
class PersonStyle:
    """Colours (BGR) and size of one person. ``top`` covers the torso and upper arms, ``bottom``
    the legs (a diver's top and bottom are a swimsuit and skin)."""

    skin: Color
    top: Color
    bottom: Color
    hair: Color
    sleeves: bool = True


@dataclass
class Layer:
    """A premultiplied RGBA crop at (x0, y0) in frame/canvas pixels: rgba (h, w, 4) uint8."""

    rgba: np.ndarray
    x0: int
    y0: int

    def tight_box(self, margin: float) -> Optional[tuple[float, float, float, float]]:
        """Tight xyxy box of the silhouette (alpha > 0) in pixel-centre coordinates, + margin."""
        ys, xs = np.nonzero(self.rgba[:, :, 3])
        if xs.size == 0:
            return None
        return (self.x0 + xs.min() - 0.5 - margin, self.y0 + ys.min() - 0.5 - margin,
                self.x0 + xs.max() + 0.5 + margin, self.y0 + ys.max() + 0.5 + margin)


def _pt(p: np.ndarray, x0: int, y0: int) -> tuple[int, int]:
    return int(round((float(p[0]) - x0) * _F)), int(round((float(p[1]) - y0) * _F))


def _shade(c: Color, f: float) -> tuple[int, int, int, int]:
    return (int(c[0] * f), int(c[1] * f), int(c[2] * f), 255)


def crop_bounds(points: np.ndarray, pad: float) -> tuple[int, int, int, int]:
    """Integer (x0, y0, w, h) covering ``points`` (N, 2) with ``pad`` pixels around."""
    x0 = int(np.floor(points[:, 0].min() - pad))
    y0 = int(np.floor(points[:, 1].min() - pad))
    x1 = int(np.ceil(points[:, 0].max() + pad))
    y1 = int(np.ceil(points[:, 1].max() + pad))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def body_pad(px_per_m: float) -> float:
    return THICKNESS["head_h"] * px_per_m + 4.0


def draw_body(rgba: np.ndarray, xy: np.ndarray, depth: np.ndarray, px_per_m: float, style: PersonStyle,
              x0: int, y0: int) -> None:
    """Draw one body into ``rgba`` (crop origin x0, y0).

    xy: (16, 2) pixel positions; depth: (16,) toward the camera (bigger = nearer), used to draw
    far limbs first and shade them darker. px_per_m: pixels per metre at this person's depth.
    """
    def width(key: str) -> int:
        return max(2, int(round(THICKNESS[key] * px_per_m)))

    skin, top, bottom = style.skin, style.top, style.bottom
    z = [float(v) for v in depth]
    near = z[J["r_hip"]] + z[J["r_shoulder"]] >= z[J["l_hip"]] + z[J["l_shoulder"]]
    parts: list[tuple[float, str, tuple]] = []
    for side in ("r", "l"):
        is_near = (side == "r") == bool(near)
        f = 1.0 if is_near else 0.78
        legs = [("hip", "knee", "thigh", bottom), ("knee", "ankle", "shank", bottom if style.sleeves else skin)]
        arms = [("shoulder", "elbow", "upper_arm", top if style.sleeves else skin), ("elbow", "wrist", "forearm", skin)]
        for a, b, key, col in legs + arms:
            ia, ib = J[f"{side}_{a}"], J[f"{side}_{b}"]
            parts.append(((z[ia] + z[ib]) / 2, "limb", (ia, ib, width(key), _shade(col, f))))
    torso_z = (z[J["pelvis"]] + z[J["thorax"]]) / 2
    parts.append((torso_z, "torso", ()))
    parts.sort(key=lambda p: p[0])
    for _, kind, args in parts:
        if kind == "limb":
            ia, ib, w, col = args
            cv2.line(rgba, _pt(xy[ia], x0, y0), _pt(xy[ib], x0, y0), col, w, cv2.LINE_AA, SHIFT)
            continue
        # Torso: the hull of shoulders and hips plus a thick spine line (depth of the chest),
        # so the body keeps volume whether it is seen from the side or the front.
        quad = np.array([_pt(xy[J[n]], x0, y0) for n in ("r_shoulder", "l_shoulder", "l_hip", "r_hip")], np.int32)
        hull = cv2.convexHull(quad)
        cv2.fillConvexPoly(rgba, hull, _shade(top, 1.0), cv2.LINE_AA, SHIFT)
        cv2.line(rgba, _pt(xy[J["pelvis"]], x0, y0), _pt(xy[J["thorax"]], x0, y0), _shade(top, 1.0),
                 width("torso_depth"), cv2.LINE_AA, SHIFT)
        cv2.line(rgba, _pt(xy[J["r_hip"]], x0, y0), _pt(xy[J["l_hip"]], x0, y0), _shade(bottom if style.sleeves else top, 0.95),
                 width("thigh"), cv2.LINE_AA, SHIFT)
        cv2.line(rgba, _pt(xy[J["thorax"]], x0, y0), _pt(xy[J["upper_neck"]], x0, y0), _shade(skin, 0.95),
                 width("neck"), cv2.LINE_AA, SHIFT)
        _draw_head(rgba, xy, px_per_m, style, x0, y0)


def _draw_head(rgba: np.ndarray, xy: np.ndarray, px_per_m: float, style: PersonStyle, x0: int, y0: int) -> None:
    neck, top = xy[J["upper_neck"]], xy[J["head_top"]]
    axis = top - neck
    length = float(np.hypot(*axis))
    half_h = max(length / 2, THICKNESS["head_h"] * px_per_m * 0.3)
    half_w = THICKNESS["head_w"] * px_per_m / 2
    angle = float(np.degrees(np.arctan2(axis[1], axis[0]))) if length > 1e-6 else -90.0
    centre = (neck + top) / 2
    c = _pt(centre, x0, y0)
    axes = (int(round(half_h * _F)), int(round(half_w * _F)))
    cv2.ellipse(rgba, c, axes, angle, 0, 360, _shade(style.skin, 1.0), -1, cv2.LINE_AA, SHIFT)
    # Hair / cap on the crown half of the head.
    cv2.ellipse(rgba, c, axes, angle, -80, 80, _shade(style.hair, 1.0), -1, cv2.LINE_AA, SHIFT)


def render_layer(xy_list: list[np.ndarray], depth_list: list[np.ndarray], px_per_m: float,
                 style: PersonStyle) -> Layer:
    """A body layer; several poses (motion-blur sub-frames) are averaged into one layer.

    Returns the layer of the FIRST pose alone in ``Layer`` form when only one pose is given.
    """
    pts = np.concatenate(xy_list, axis=0)
    x0, y0, w, h = crop_bounds(pts, body_pad(px_per_m))
    if len(xy_list) == 1:
        rgba = np.zeros((h, w, 4), np.uint8)
        draw_body(rgba, xy_list[0], depth_list[0], px_per_m, style, x0, y0)
        return Layer(rgba, x0, y0)
    acc = np.zeros((h, w, 4), np.float32)
    buf = np.zeros((h, w, 4), np.uint8)
    for xy, dep in zip(xy_list, depth_list):
        buf[:] = 0
        draw_body(buf, xy, dep, px_per_m, style, x0, y0)
        acc += buf
    return Layer(np.round(acc / len(xy_list)).astype(np.uint8), x0, y0)


def composite(frame: np.ndarray, layer: Layer, clip_below_row: Optional[float] = None) -> None:
    """Premultiplied "over" of ``layer`` onto ``frame`` (H, W, 3) in place.

    clip_below_row: rows strictly below this y (pixel centres) are not drawn (under water).
    """
    H, W = frame.shape[:2]
    h, w = layer.rgba.shape[:2]
    fx0, fy0 = max(0, layer.x0), max(0, layer.y0)
    fx1, fy1 = min(W, layer.x0 + w), min(H, layer.y0 + h)
    if clip_below_row is not None:
        fy1 = min(fy1, int(np.floor(clip_below_row)) + 1)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    src = layer.rgba[fy0 - layer.y0 : fy1 - layer.y0, fx0 - layer.x0 : fx1 - layer.x0].astype(np.float32)
    dst = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    a = src[:, :, 3:4] / 255.0
    frame[fy0:fy1, fx0:fx1] = np.clip(dst * (1.0 - a) + src[:, :, :3] + 0.5, 0, 255).astype(np.uint8)


def clip_layer_rows(layer: Layer, last_row: float) -> Layer:
    """A copy of the layer with every row below ``last_row`` (frame y) cleared."""
    out = layer.rgba.copy()
    first_cleared = int(np.floor(last_row)) + 1 - layer.y0
    if first_cleared < out.shape[0]:
        out[max(0, first_cleared) :] = 0
    return Layer(out, layer.x0, layer.y0)


# ----------------------------------------------------------------------------- splash, occluder


@dataclass(frozen=True)
class Splash:
    """Entry splash: droplets (N, 5) [vx, vy (m/s), radius (m), delay (s), brightness] from one point."""

    x: float
    particles: np.ndarray
    size: float

    @classmethod
    def sample(cls, rng: np.random.Generator, x: float, size: float) -> "Splash":
        n = int(12 + 110 * size)
        speed = 1.0 + 5.5 * size
        ang = rng.uniform(np.radians(50), np.radians(130), n)
        v = speed * rng.uniform(0.3, 1.0, n)
        parts = np.stack([
            v * np.cos(ang) * 0.8, v * np.sin(ang), rng.uniform(0.03, 0.07 + 0.1 * size, n),
            rng.uniform(0.0, 0.15, n), rng.uniform(0.8, 1.0, n),
        ], axis=1)
        return cls(float(x), parts, float(size))

    def draw(self, frame: np.ndarray, seconds: float, origin_px: np.ndarray, px_per_m: float) -> np.ndarray:
        """Draw the splash ``seconds`` after contact; returns the (H, W) float32 coverage mask."""
        H, W = frame.shape[:2]
        mask = np.zeros((H, W), np.uint8)
        if seconds < 0:
            return mask.astype(np.float32)
        sx, sy = origin_px[0] + self.x * px_per_m, origin_px[1]
        # Foam on the surface: grows quickly, lingers.
        foam_w = (0.25 + 0.9 * self.size) * min(1.0, seconds / 0.25 + 0.2) * px_per_m
        foam_h = max(2.0, (0.08 + 0.25 * self.size) * px_per_m * max(0.0, 1.0 - seconds / 2.5))
        cv2.ellipse(mask, (int(round(sx * _F)), int(round(sy * _F))), (int(foam_w * _F), int(foam_h * _F)),
                    0, 0, 360, 230, -1, cv2.LINE_AA, SHIFT)
        p = self.particles
        t = np.maximum(seconds - p[:, 3], 0.0)
        px = sx + p[:, 0] * t * px_per_m
        py = sy - (p[:, 1] * t - 0.5 * 9.81 * t * t) * px_per_m
        alive = (t > 0) & (py <= sy + 1)
        for x, y, r, b in zip(px[alive], py[alive], p[alive, 2], p[alive, 4]):
            if -20 < x < W + 20 and -20 < y < H + 20:
                cv2.circle(mask, (int(round(x * _F)), int(round(y * _F))), max(_F, int(r * px_per_m * _F)),
                           int(255 * b), -1, cv2.LINE_AA, SHIFT)
        _blend_mask(frame, mask, (245, 240, 235))
        return mask.astype(np.float32) / 255.0


@dataclass(frozen=True)
class Occluder:
    """Something passing in front of the camera: a dark rounded bar moving horizontally.

    x(f) = x_mid + speed * (f - frame_mid) (image pixels); spans rows top..H.
    """

    frame_mid: int
    x_mid: float
    speed: float
    width: float
    top: float
    color: Color

    def draw(self, frame: np.ndarray, f: int) -> np.ndarray:
        """Draw at frame ``f``; returns the (H, W) float32 coverage mask (zeros when out of view)."""
        H, W = frame.shape[:2]
        cover = np.zeros((H, W), np.uint8)
        x = self.x_mid + self.speed * (f - self.frame_mid)
        if x + self.width < 0 or x - self.width > W:
            return cover.astype(np.float32)
        r = self.width / 2
        cv2.line(cover, (int(x * _F), int((self.top + r) * _F)), (int(x * _F), int((H + r) * _F)), 255,
                 max(2, int(self.width)), cv2.LINE_AA, SHIFT)
        _blend_mask(frame, cover, self.color)
        return cover.astype(np.float32) / 255.0


def _blend_mask(frame: np.ndarray, mask: np.ndarray, color: Color) -> None:
    """Blend a flat colour into ``frame`` with coverage ``mask`` (H, W) uint8, only where mask > 0."""
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return
    c = mask[y : y + h, x : x + w, None].astype(np.float32) / 255.0
    roi = frame[y : y + h, x : x + w].astype(np.float32)
    frame[y : y + h, x : x + w] = (roi * (1 - c) + np.array(color, np.float32) * c).astype(np.uint8)
