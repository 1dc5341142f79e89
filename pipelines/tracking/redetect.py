"""Local re-detection: run the person detector again on a crop around the track's prediction.

Real-world assumptions (each switchable in :class:`~fdpose.pipelines.tracking.config.RedetectConfig`):

- *The detector misses the diver because of how it sees the whole frame, not because the diver is
  absent.* A whole-frame SSD stretches a 16:9 frame into its 300x300 input: a diver standing in a
  handstand (about 30x183 px in a 500x281 frame) becomes about 10:1 tall while SSD's anchors stop
  at 3:1, and he is small. A crop around the predicted box, shaped so that the box's aspect in the
  input falls inside [``min_aspect``, 1 / ``min_aspect``], shows him at a shape and size the
  network was trained on. Person detectors rarely see people upside down: the crop is also tried
  rotated by 180 degrees (``rotate``), its boxes mapped back to frame pixels.
- *A real person is found at the same place whatever the crop's context; a box invented by the
  upscaled crop scales with it.* On the real armstand clip the SSD returns a box about as large as
  any crop it is given around a small blurred diver (crops 1.3 / 1.6 / 2.0 times the diver: boxes
  about 1.2 / 1.5 / 1.9 times him). So each crop is run at two contexts (``contexts``) and a box is
  kept only when the two runs agree (IoU >= ``agree_iou``); the box kept is their mean.
- *Between two boxes of the track the diver is near the line joining them in scene coordinates*
  (camera pan and zoom removed); before the first box the diver stands on the board or platform,
  where the first box is (``extend_start`` frames back). *After the track's last box the diver is
  in the water* (issue 11: the track ends at the entry): no frame after it is searched.
- A re-detected box only joins the frame's candidates (the tracker still decides), and only when
  it lies within ``max_shift`` diagonals of the prediction with a size ratio within
  ``max_size_ratio``.

- *Thin-box refinement* (``refine_thin``, off by default: measured in docs/tracker.md): a
  whole-frame box much taller than its anchors allow (``refine_aspect`` in the stretched input)
  is too wide; the crop search's box replaces it (:func:`refine_thin`).

Cost: only frames where a detection's neighbour or the track has no box, 1 to 4 detector runs
each (:func:`local_boxes`). docs/tracker.md has the measurements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import iou
from fdpose.pipelines.tracking.camera import CameraMotion
from fdpose.pipelines.tracking.config import RedetectConfig, TrackerConfig
from fdpose.pipelines.tracking.tracker import TrackResult, track_diver
from fdpose.pipelines.tracking.verify import stretched_aspect, verify_kept
from fdpose.records import Boxes

log = logging.getLogger(__name__)

#: ``frames(indices) -> images``: the clip's ``(H, W, 3)`` uint8 BGR frames at those indices.
FrameGetter = Callable[[list[int]], list[np.ndarray]]


# ---- geometry ---------------------------------------------------------------------------------

def crop_window(box: np.ndarray, context: float, min_aspect: float) -> tuple[int, int, int, int]:
    """Integer crop ``(x0, y0, x1, y1)`` (may extend past the image) centred on ``box`` ``[x1, y1, x2, y2]``.

    The long side is ``context`` times the box's long side; the short side is chosen so that the
    box's aspect (w / h) after stretching the crop to a square lies in [min_aspect, 1 / min_aspect]
    (a 30x183 box with min_aspect 0.5: a crop about 3 times narrower than high), but never under
    ``context`` times the box's short side.
    """
    b = np.asarray(box, dtype=np.float64)[:4]
    bw, bh = max(b[2] - b[0], 1.0), max(b[3] - b[1], 1.0)
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    aspect = bw / bh
    target = min(max(aspect, min_aspect), 1.0 / min_aspect)
    if aspect < 1:  # tall: height from the context, width so the stretched box reaches the target
        ch = context * bh
        cw = max(ch * aspect / target, context * bw)
    else:
        cw = context * bw
        ch = max(cw * target / aspect, context * bh)
    x0, y0 = int(round(cx - cw / 2)), int(round(cy - ch / 2))
    return x0, y0, x0 + max(1, int(round(cw))), y0 + max(1, int(round(ch)))


def cut(image: np.ndarray, window: tuple[int, int, int, int], rotate: bool) -> np.ndarray:
    """The ``(y1 - y0, x1 - x0, 3)`` crop of ``image`` (zeros outside it), rotated 180 degrees if asked."""
    x0, y0, x1, y1 = window
    h, w = image.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0) + image.shape[2:], dtype=image.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return np.ascontiguousarray(out[::-1, ::-1]) if rotate else out


def to_frame(boxes: Boxes | np.ndarray, window: tuple[int, int, int, int], rotate: bool) -> np.ndarray:
    """Boxes found in :func:`cut`'s crop (a detector's :class:`~fdpose.records.Boxes`, or ``(K, 5)``
    rows) -> ``(K, 5)`` rows in frame pixels (scores kept).

    Continuous pixel coordinates: a 180-degree rotation of a W x H crop maps x to W - x and y to
    H - y, so a box ``[x1, y1, x2, y2]`` becomes ``[W - x2, H - y2, W - x1, H - y1]``.
    """
    x0, y0, x1, y1 = window
    out = Boxes.from_rows(boxes, "boxes found in a crop").rows()
    if rotate:
        w, h = x1 - x0, y1 - y0
        out[:, :4] = np.stack([w - out[:, 2], h - out[:, 3], w - out[:, 0], h - out[:, 1]], axis=1)
    out[:, [0, 2]] += x0
    out[:, [1, 3]] += y0
    return out


def _diag(b: np.ndarray) -> float:
    return float(np.hypot(b[2] - b[0], b[3] - b[1]))


# ---- where to look ------------------------------------------------------------------------------

def predictions(track: TrackResult, camera: Optional[CameraMotion], cfg: RedetectConfig) -> dict[int, np.ndarray]:
    """Frame -> predicted ``(4,)`` box for the frames the track leaves empty inside its span.

    Inside: linear in scene coordinates between the track boxes on either side, for gaps of at
    most ``max_gap`` frames. Before the first box: that box, fixed in the scene, for
    ``extend_start`` frames. Nothing after the last box (the entry).
    """
    boxes = track.boxes
    n = len(boxes)
    have = np.flatnonzero(np.isfinite(boxes[:, 0]))
    if len(have) == 0:
        return {}
    cam = camera if camera is not None and len(camera) == n else CameraMotion.identity(n)

    def scene(t: int) -> np.ndarray:
        return cam.to_scene(boxes[t, :4].reshape(2, 2), t)

    def image(pts: np.ndarray, t: int) -> np.ndarray:
        return (pts * cam.scale[t] + cam.offset[t]).reshape(4)

    out: dict[int, np.ndarray] = {}
    for t in range(max(0, have[0] - cfg.extend_start), have[0]):
        out[t] = image(scene(int(have[0])), t)
    for a, b in zip(have[:-1], have[1:]):
        if b - a < 2 or b - a - 1 > cfg.max_gap:
            continue
        sa, sb = scene(int(a)), scene(int(b))
        for t in range(int(a) + 1, int(b)):
            w = (t - a) / (b - a)
            out[t] = image((1 - w) * sa + w * sb, t)
    return out


# ---- the search -------------------------------------------------------------------------------

def local_boxes(detector: Any, image: np.ndarray, pred: np.ndarray, cfg: RedetectConfig) -> np.ndarray:
    """``(K, 5)`` verified person boxes near ``pred`` in frame pixels, best score first.

    Boxes count only within ``max_shift`` diagonals of ``pred`` at a size ratio within
    ``max_size_ratio``. Per orientation (upright, then rotated 180 degrees only when upright found
    nothing) the crop is run at the first context; only when that finds a box is it run at the
    second, and a box kept when a box of the second overlaps it by ``agree_iou`` (their mean, the
    lower score). 1 to 4 detector runs per search.
    """
    found: list[np.ndarray] = []
    d = max(_diag(pred), 1.0)
    pc = np.array([(pred[0] + pred[2]) / 2, (pred[1] + pred[3]) / 2])

    def near(boxes: np.ndarray) -> np.ndarray:
        c = (boxes[:, :2] + boxes[:, 2:4]) / 2
        ratio = np.maximum(np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 1.0) / d
        return boxes[(np.hypot(*(c - pc).T) <= cfg.max_shift * d) & (ratio <= cfg.max_size_ratio)
                     & (ratio >= 1 / cfg.max_size_ratio)]

    for rotate in ((False, True) if cfg.rotate else (False,)):
        win = crop_window(pred, cfg.contexts[0], cfg.min_aspect)
        a = near(to_frame(detector.detect_one(cut(image, win, rotate)), win, rotate))
        if len(a) == 0:  # (the second context only confirms: skip it when the first found nothing)
            continue
        b = a
        if len(cfg.contexts) > 1:
            win = crop_window(pred, cfg.contexts[1], cfg.min_aspect)
            b = to_frame(detector.detect_one(cut(image, win, rotate)), win, rotate)
        for box in a:
            if len(b) == 0:
                break
            v = iou(box[:4], b[:, :4])
            k = int(np.argmax(v))
            if v[k] >= cfg.agree_iou:
                found.extend(near(np.r_[(box[:4] + b[k, :4]) / 2, min(box[4], b[k, 4])][None]))
        if found:  # (upright found him: the rotated crop is not needed)
            break
    if not found:
        return np.zeros((0, 5))
    out = np.asarray(found)
    return out[np.argsort(-out[:, 4], kind="stable")]


def _covered(cands: np.ndarray, pred: np.ndarray, cfg: RedetectConfig, reach: Optional[float] = None) -> bool:
    """True when a candidate lies within ``reach`` (default ``max_shift``) diagonals of ``pred``
    at a size ratio within ``max_size_ratio``."""
    if len(cands) == 0:
        return False
    d = max(_diag(pred), 1.0)
    c = (cands[:, :2] + cands[:, 2:4]) / 2
    dist = np.hypot(*(c - (pred[:2] + pred[2:4]) / 2).T)
    ratio = np.hypot(cands[:, 2] - cands[:, 0], cands[:, 3] - cands[:, 1]) / d
    r = cfg.max_shift if reach is None else reach
    return bool(np.any((dist <= r * d) & (ratio <= cfg.max_size_ratio) & (ratio >= 1 / cfg.max_size_ratio)))


def _move(box: np.ndarray, t: int, u: int, cam: CameraMotion) -> np.ndarray:
    """``box`` of frame t placed at the same scene place in frame u, ``(4,)``."""
    return (cam.to_scene(box[:4].reshape(2, 2), t) * cam.scale[u] + cam.offset[u]).reshape(4)


def grow(cands: list[np.ndarray], frames: FrameGetter, detector: Any, camera: Optional[CameraMotion],
         cfg: RedetectConfig, stats: "RedetectStats") -> list[np.ndarray]:
    """Extend every candidate into the neighbouring frames where nothing was detected near it.

    Real-world assumption: a person detected in frame t is still near the same scene place in
    frames t - 1 and t + 1 (10-30 fps); when the detector found nothing there, the whole-frame
    view missed him (the handstand diver, found in 4 of 17 frames). A neighbour with a candidate
    of similar size within ``grow_cover`` diagonals is not searched: a person moving fast (the
    diver in flight, up to a diagonal a frame) was detected there, only displaced, and a
    search at his old place finds a poorer box that competes with the right one. Round by round (one decode
    pass each, ``grow_steps`` rounds) every box found or grown last round is placed in its two
    neighbours and searched with :func:`local_boxes` unless a candidate already covers it; at most
    ``grow_budget`` searches per frame of the clip. Returns the grown ``T x (K_t, 5)`` candidates.
    """
    n = len(cands)
    cam = camera if camera is not None and len(camera) == n else CameraMotion.identity(n)
    frontier = [(t, b) for t, c in enumerate(cands) for b in c]
    budget = int(cfg.grow_budget * n)
    for _ in range(cfg.grow_steps):
        todo: dict[int, list[np.ndarray]] = {}
        for t, b in frontier:
            for u in (t - 1, t + 1):
                if 0 <= u < n:
                    pred = _move(b, t, u, cam)
                    pending = np.array([np.r_[p, 1.0] for p in todo.get(u, [])]).reshape(-1, 5)
                    if not _covered(cands[u], pred, cfg, cfg.grow_cover) and not _covered(pending, pred, cfg):
                        todo.setdefault(u, []).append(pred)
        frontier = []
        order = sorted(todo)
        if not order or len(stats.searched) >= budget:
            break
        for u, img in zip(order, frames(order)):
            for pred in todo[u]:
                if len(stats.searched) >= budget:
                    break
                stats.searched.append(u)
                got = local_boxes(detector, img, pred, cfg)
                if len(got) and not _covered(cands[u], got[0, :4], cfg):
                    cands[u] = np.concatenate([cands[u], got[:1]], axis=0)
                    stats.added.append(u)
                    frontier.append((u, got[0]))
        stats.rounds += 1
        if not frontier:
            break
    return cands


def refine_thin(cands: list[np.ndarray], frames: FrameGetter, detector: Any, cfg: RedetectConfig,
                stats: "RedetectStats") -> list[np.ndarray]:
    """Replace whole-frame boxes thinner than the detector's anchors by the crop search's box.

    Real-world assumption: a whole-frame SSD stretches the frame into its square input, where a
    person standing on his hands is about 10:1 tall while its anchors stop at 3:1; its box for him
    is then too wide (the armstand's handstand: 61 px for a 30 px diver, IoU 0.48 with him). A box
    whose height / width in the stretched input is at least ``refine_aspect`` is searched again
    with :func:`local_boxes` around itself (a crop shaped to bring it within the anchors' range,
    two contexts that must agree) and replaced by the box found when that overlaps it by IoU >=
    ``refine_iou`` (the same person). Returns the candidates ``T x (K_t, 5)``.
    """
    todo = {}
    for t, c in enumerate(cands):
        rows = [j for j in range(len(c)) if c[j, 3] - c[j, 1] > 0 and c[j, 2] - c[j, 0] > 0]
        if rows:
            todo[t] = rows
    if not todo:
        return cands
    order = sorted(todo)
    for t, img in zip(order, frames(order)):
        size = (img.shape[1], img.shape[0])
        for j in todo[t]:
            box = cands[t][j]
            if stretched_aspect(box, size) < cfg.refine_aspect:
                continue
            stats.searched.append(t)
            got = local_boxes(detector, img, box[:4], cfg)
            if len(got):
                v = iou(box[:4], got[:, :4])
                k = int(np.argmax(v))
                if v[k] >= cfg.refine_iou:
                    cands[t] = cands[t].copy()
                    cands[t][j, :4] = got[k, :4]
                    stats.refined.append(t)
    return cands


@dataclass
class RedetectStats:
    """What the re-detection did on one clip."""

    searched: list[int] = field(default_factory=list)  #: frames searched (each ``2 * len(orientations)`` runs)
    added: list[int] = field(default_factory=list)  #: frames that gained a candidate
    refined: list[int] = field(default_factory=list)  #: frames where a thin box was replaced (:func:`refine_thin`)
    rounds: int = 0
    verified: list[int] = field(default_factory=list)  #: frames whose kept box the crop check changed (:mod:`.verify`)


def track_with_redetect(cands: Sequence[Boxes | np.ndarray], config: TrackerConfig, frames: Optional[FrameGetter],
                        detector: Any, *, image_size: Optional[tuple[int, int]] = None,
                        camera: Optional[CameraMotion] = None, **kwargs: Any
                        ) -> tuple[TrackResult, list[np.ndarray], RedetectStats]:
    """:func:`track_diver`, then up to ``rounds`` times: re-detect where the track has no box
    (:func:`predictions`), add the boxes found to the candidates and track again.

    cands: T :class:`~fdpose.records.Boxes` (the detectors' output) or ``(K_t, 5)`` rows; the
    search works on the rows. Returns the final track, the (possibly grown) candidates
    ``T x (K_t, 5)`` rows and the stats.
    Without frames, a detector with ``detect_one`` or with the section disabled it is
    :func:`track_diver` alone; then, with frames and such a detector, the crop check of the kept
    boxes (``verify`` section, :mod:`fdpose.pipelines.tracking.verify`) whether this section is on or not.
    """
    cfg = config.redetect
    rows = [Boxes.from_rows(c, f"candidates of frame {t}").rows() for t, c in enumerate(cands)]
    stats = RedetectStats()
    active = cfg.enabled and frames is not None and hasattr(detector, "detect_one")
    if active and cfg.refine_thin:
        assert frames is not None
        rows = refine_thin(rows, frames, detector, cfg, stats)
    if active and cfg.grow_steps > 0:
        assert frames is not None
        rows = grow(rows, frames, detector, camera, cfg, stats)
    track = track_diver(rows, config, image_size=image_size, camera=camera, **kwargs)
    if frames is None or not hasattr(detector, "detect_one"):
        return track, rows, stats
    if not active:
        stats.verified = _verify(track, rows, frames, detector, config, image_size)
        return track, rows, stats
    tried: set[int] = set()
    for _ in range(cfg.rounds):
        todo = {t: p for t, p in predictions(track, camera, cfg).items() if t not in tried}
        if not todo:
            break
        stats.rounds += 1
        order = sorted(todo)
        images = frames(order)
        added = 0
        for t, img in zip(order, images):
            tried.add(t)
            stats.searched.append(t)
            got = local_boxes(detector, img, todo[t], cfg)
            if len(got):
                rows[t] = np.concatenate([rows[t], got[:1]], axis=0)
                stats.added.append(t)
                added += 1
        if not added:
            break
        track = track_diver(rows, config, image_size=image_size, camera=camera, **kwargs)
    log.info("re-detection: %d frames searched, %d gained a box", len(stats.searched), len(stats.added))
    stats.verified = _verify(track, rows, frames, detector, config, image_size)
    return track, rows, stats


def _verify(track: TrackResult, rows: list[np.ndarray], frames: FrameGetter, detector: Any,
            config: TrackerConfig, image_size: Optional[tuple[int, int]]) -> list[int]:
    """The crop check of the kept boxes (:mod:`fdpose.pipelines.tracking.verify`, with this
    module's search); the frames whose box it changed."""
    return verify_kept(track, rows, frames, lambda image, box: local_boxes(detector, image, box, config.redetect),
                       config.verify, image_size).changed
