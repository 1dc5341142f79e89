"""Camera motion, so that the tracker can work in scene coordinates.

Real-world assumption: broadcast cameras pan, tilt and zoom to follow the diver (they do not
roll), and most of the picture is the still scene (pool, stands, seated people). Between two
frames the scene then moves by one similarity ``x_t = s * x_(t-1) + d`` (zoom ``s``, shift
``d``); a hard cut to another camera breaks it.

:class:`CameraMotion` holds the accumulated transform ``image_t = scale[t] * scene + offset[t]``
(scene = frame-0 image coordinates) and per frame whether the step from t-1 was measured.
Two sources:

- ``pixels`` (:func:`pixel_step`, :class:`PixelCamera`): corners of frame t-1 outside every
  candidate box (people move; the scene does not), tracked into frame t with pyramidal
  Lucas-Kanade, a partial affine fit with RANSAC; zoom is its scale, rotation is dropped and the
  shift refitted without it. Fewer than ``min_inliers`` agreeing features (a cut, a blurred
  whip-pan, a textureless frame of water) leaves the step unknown (identity).
- ``boxes`` (:func:`vote_shifts`, the synth-era rule): each pair of similar-sized candidates in
  frames t-1 and t proposes its displacement as the shift; the proposal that brings the most
  candidates within ``cam_tol`` of their diagonal onto a candidate wins, the median displacement
  of its inliers is the shift (pan and tilt only: a zoom reads as people moving). Short runs of
  at most ``cam_fill_gap`` unknown frames between measured ones are interpolated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import diags
from fdpose.pipelines.tracking.borders import anchored_displacement, touches_border

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import CameraConfig, Params

__all__ = ["CameraMotion", "PixelCamera", "pixel_step", "vote_shifts", "estimate_camera", "work_scale"]


@dataclass
class CameraMotion:
    """Accumulated camera transform of a clip: ``image_t = scale[t] * scene + offset[t]``.

    scale: (T,) zoom of frame t relative to frame 0; offset: (T, 2) px; known: (T,) bool, the
    step from frame t-1 to t was measured (row 0 True).
    """

    scale: np.ndarray
    offset: np.ndarray
    known: np.ndarray
    step_scale: Optional[np.ndarray] = None  #: (T,) per-step zoom (row 0: 1), when built from steps
    step_shift: Optional[np.ndarray] = None  #: (T, 2) per-step shift, px

    @classmethod
    def identity(cls, n: int, known: bool = True) -> "CameraMotion":
        """No camera motion (``known``: whether "still" is a measurement or a default)."""
        k = np.full(n, known, dtype=bool)
        if n:
            k[0] = True
        return cls(np.ones(n), np.zeros((n, 2)), k)

    @classmethod
    def from_steps(cls, scale: np.ndarray, shift: np.ndarray, known: np.ndarray) -> "CameraMotion":
        """Accumulate per-step similarities ``x_t = scale[t] * x_(t-1) + shift[t]`` (row 0 unused)."""
        n = len(scale)
        s_cum, off = np.ones(n), np.zeros((n, 2))
        for t in range(1, n):
            s_cum[t] = scale[t] * s_cum[t - 1]
            off[t] = scale[t] * off[t - 1] + shift[t]
        return cls(s_cum, off, np.asarray(known, dtype=bool).copy(), np.asarray(scale, dtype=np.float64).copy(),
                   np.asarray(shift, dtype=np.float64).reshape(n, 2).copy())

    def __len__(self) -> int:
        return len(self.scale)

    def to_scene(self, points: np.ndarray, t: int) -> np.ndarray:
        """(K, 2) image points of frame t in scene coordinates."""
        return (np.asarray(points, dtype=np.float64) - self.offset[t]) / self.scale[t]

    def scene_step(self, start: np.ndarray, disp: np.ndarray, t0: int, t1: int) -> np.ndarray:
        """Scene motion of a point at image ``start`` in frame t0 that moved by ``disp`` px to t1."""
        if self.scale[t0] == 1.0 and self.scale[t1] == 1.0:  # (no zoom: the plain difference)
            return disp - (self.offset[t1] - self.offset[t0])
        return (start + disp - self.offset[t1]) / self.scale[t1] - (start - self.offset[t0]) / self.scale[t0]

    def steps_known(self, t0: int, t1: int) -> bool:
        """Every step from frame t0 to t1 was measured."""
        return bool(self.known[t0 + 1:t1 + 1].all())

    def check(self, n: int) -> None:
        if len(self.scale) != n or self.offset.shape != (n, 2) or len(self.known) != n:
            raise ValueError(f"camera motion covers {len(self.scale)} frames, the clip has {n}")


# ---- from pixels --------------------------------------------------------------------------

def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def pixel_step(prev: np.ndarray, cur: np.ndarray, boxes: Optional[np.ndarray], cfg: "CameraConfig"
               ) -> tuple[float, np.ndarray, bool]:
    """(zoom, (2,) shift, known) of the scene from image ``prev`` to ``cur`` (BGR or gray).

    boxes: optional (K, >=4) candidate boxes of ``prev``, masked out of the feature search.
    """
    import cv2

    a, b = _gray(prev), _gray(cur)
    h, w = a.shape[:2]
    mask = np.full((h, w), 255, dtype=np.uint8)
    for x1, y1, x2, y2 in (np.asarray(boxes)[:, :4] if boxes is not None and len(boxes) else []):
        mx, my = 0.1 * (x2 - x1), 0.1 * (y2 - y1)  # (a margin: the box cuts limbs and blur)
        mask[max(0, int(y1 - my)):max(0, int(y2 + my) + 1), max(0, int(x1 - mx)):max(0, int(x2 + mx) + 1)] = 0
    pts = cv2.goodFeaturesToTrack(a, maxCorners=cfg.max_features, qualityLevel=0.01, minDistance=7, mask=mask)
    if pts is None or len(pts) < cfg.min_inliers:
        return 1.0, np.zeros(2), False
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(a, b, pts, None, winSize=(21, 21), maxLevel=3)
    ok = status.reshape(-1) == 1
    p0, p1 = pts.reshape(-1, 2)[ok], nxt.reshape(-1, 2)[ok]
    if len(p0) < cfg.min_inliers:
        return 1.0, np.zeros(2), False
    m, inl = cv2.estimateAffinePartial2D(p0, p1, method=cv2.RANSAC, ransacReprojThreshold=cfg.ransac_px)
    if m is None or inl is None or int(inl.sum()) < cfg.min_inliers:
        return 1.0, np.zeros(2), False
    keep = inl.reshape(-1) == 1
    s = float(np.hypot(m[0, 0], m[1, 0]))
    # (no roll: the shift refitted for a pure zoom + shift over the inliers)
    d = np.mean(p1[keep] - s * p0[keep], axis=0)
    return s, d.astype(np.float64), True


def work_scale(shape: tuple[int, ...], cfg: "CameraConfig") -> float:
    """Resize factor that brings an ``(H, W, ...)`` frame's diagonal into the camera's working range
    [``work_min_diagonal``, ``work_max_diagonal``] (1.0 inside it): :func:`pixel_step`'s px settings
    (RANSAC tolerance, corner spacing, flow window) then mean the same share of the picture at any size."""
    diag = float(np.hypot(shape[0], shape[1]))
    if diag <= 0:
        return 1.0
    lo, hi = cfg.work_min_diagonal, cfg.work_max_diagonal
    return lo / diag if diag < lo else (hi / diag if diag > hi else 1.0)


class PixelCamera:
    """Incremental pixel camera: feed frames in order (with their candidate boxes), then
    :meth:`motion`. Lets the runner measure the camera while it decodes for the detector."""

    def __init__(self, cfg: "CameraConfig") -> None:
        self.cfg = cfg
        self._prev: Optional[np.ndarray] = None
        self._prev_boxes: Optional[np.ndarray] = None
        self._scale: list[float] = []
        self._shift: list[np.ndarray] = []
        self._known: list[bool] = []

    def add(self, image: np.ndarray, boxes: Optional[np.ndarray] = None) -> None:
        """Next frame (BGR or gray) and its (K, >=4) candidate boxes."""
        gray = _gray(image)
        f = work_scale(gray.shape, self.cfg)
        if f != 1.0:  # (measured at a working size, the shift returned in the frame's px)
            import cv2

            h, w = gray.shape[:2]
            gray = cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))),
                              interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
            if boxes is not None and len(boxes):
                boxes = np.asarray(boxes, dtype=np.float64)[:, :4] * f
        if self._prev is None or self._prev.shape != gray.shape:
            s, d, k = 1.0, np.zeros(2), self._prev is None
        else:
            s, d, k = pixel_step(self._prev, gray, self._prev_boxes, self.cfg)
            d = d / f
        self._scale.append(s)
        self._shift.append(d)
        self._known.append(k)
        self._prev, self._prev_boxes = gray, boxes

    def motion(self) -> CameraMotion:
        return CameraMotion.from_steps(np.array(self._scale), np.array(self._shift).reshape(-1, 2),
                                       np.array(self._known, dtype=bool))


def motion_from_frames(frames: Iterable[np.ndarray], cands: Sequence[np.ndarray], cfg: "CameraConfig"
                       ) -> CameraMotion:
    """Pixel camera of a whole clip: frames in order, cands[t] the candidates of frame t."""
    cam = PixelCamera(cfg)
    for t, image in enumerate(frames):
        cam.add(image, cands[t] if t < len(cands) else None)
    return cam.motion()


# ---- from the boxes (vote) ----------------------------------------------------------------

def vote_shifts(cands: Sequence[np.ndarray], cfg: "Params", image_size: Optional[tuple[int, int]] = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) image shift of the scene from frame t-1 to t and (T,) known flags (box vote)."""
    n = len(cands)
    shift = np.zeros((n, 2))
    known = np.zeros(n, dtype=bool)
    for t in range(1, n):
        a, b = cands[t - 1], cands[t]
        if len(a) < cfg.cam_min_inliers or len(b) < cfg.cam_min_inliers:
            continue
        disp, pair_ok = anchored_displacement(a, b, image_size)  # (Ka, Kb, 2), (Ka, Kb)
        da = diags(a)
        ratio = diags(b)[None, :] / da[:, None]
        # size only compared between uncut boxes (a cut box is smaller than its person)
        whole = ~touches_border(a, image_size)[:, None] & ~touches_border(b, image_size)[None, :]
        pair_ok &= (np.maximum(ratio, 1 / ratio) <= cfg.cam_size_ratio) | ~whole
        hyps = disp[pair_ok]  # (H, 2)
        if not len(hyps):
            continue
        # residual of every pair under every hypothesis, in diagonals of the frame t-1 box
        res = np.linalg.norm(disp[None] - hyps[:, None, None, :], axis=3) / da[None, :, None]
        res = np.where(pair_ok[None], res, np.inf).min(axis=2)  # (H, Ka): best partner per box
        inlier = res <= cfg.cam_tol
        count = inlier.sum(axis=1)
        # Ties (a regular row of spectators offers several) go to the smoothest camera.
        ref = shift[t - 1] if known[t - 1] else np.zeros(2)
        best = int(np.lexsort((np.linalg.norm(hyps - ref, axis=1), -count))[0])
        if count[best] < cfg.cam_min_inliers:
            continue
        rows = np.nonzero(inlier[best])[0]
        d = disp[rows] - hyps[best][None, None, :]
        cols = np.where(pair_ok[rows], np.linalg.norm(d, axis=2), np.inf).argmin(axis=1)
        shift[t] = np.median(disp[rows, cols], axis=0)
        known[t] = True
    _fill_gaps(shift, known, cfg.cam_fill_gap)
    return shift, known


def _fill_gaps(shift: np.ndarray, known: np.ndarray, max_gap: int) -> None:
    """Interpolate short runs of unknown shifts between two known ones, in place.

    A camera pans smoothly: a run of at most ``max_gap`` frames without a vote (the diver alone
    with one spectator, who disagree) between two measured frames is bridged linearly and
    counted as known. Without this the pan in those frames reads as motion of the spectators.
    """
    idx = np.nonzero(known)[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= max_gap + 1:
            for t in range(a + 1, b):
                w = (t - a) / (b - a)
                shift[t] = (1 - w) * shift[a] + w * shift[b]
                known[t] = True


#: backwards-compatible name of the box vote
estimate_camera = vote_shifts


def clip_motion(cands: Sequence[np.ndarray], cfg: "Params", image_size: Optional[tuple[int, int]],
                given: Optional[CameraMotion]) -> CameraMotion:
    """The camera motion the tracker uses: ``given`` (pixels) when the config asks for pixels
    and one was passed, the box vote for ``boxes`` (or pixels without frames), none when off."""
    n = len(cands)
    if cfg.camera_source == "none":
        return CameraMotion.identity(n)
    if cfg.camera_source == "pixels" and given is not None:
        given.check(n)
        if given.step_scale is None:
            return given
        # (a step the pixels could not measure - textureless water, a blurred whip-pan - takes
        # the box vote's shift when the vote has one; short runs left are interpolated)
        shift, known = vote_shifts(cands, dataclasses.replace(cfg, cam_fill_gap=0), image_size)
        scale, step = given.step_scale.copy(), given.step_shift.copy()
        have = given.known.copy()
        use = ~have & known
        step[use], scale[use], have[use] = shift[use], 1.0, True
        have[:1] = False
        zoom = np.log(scale)
        both = np.column_stack([step, zoom])
        _fill_gaps(both, have, cfg.cam_fill_gap)
        return CameraMotion.from_steps(np.exp(both[:, 2]), both[:, :2], have)
    shift, known = vote_shifts(cands, cfg, image_size)
    motion = CameraMotion.from_steps(np.ones(n), shift, known)
    motion.known[:1] = False if n else motion.known[:1]  # (the vote never measures frame 0's step)
    return motion
