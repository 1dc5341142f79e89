"""Which box the track keeps when several candidates lie on the diver: a crop check of the kept box.

Real-world assumptions (each switchable in :class:`~fdpose.pipelines.tracking.config.VerifyConfig`):

- *Two whole-frame boxes that overlap nearly as much as the detector's non-maximum suppression
  allows are one person.* The SSD's NMS drops a box overlapping a better one by IoU > 0.5, so a
  loose and a tight box of one person survive together just under it (real clip A, frames 23
  and 32: the smaller box entirely inside the larger). A candidate overlapping the kept box by
  IoU >= ``same_iou`` is taken as such a second box. Another person seen inside the diver's box is
  behind him, farther from the camera and smaller, so his box covers a small part of the diver's
  (spectators in the stand show through the diver's box on the synth renders; the figures are in
  docs/tracker.md).
- *Those boxes disagree because the whole frame gives the detector few pixels of the diver; a crop
  gives it more.* A 455x256 frame stretched into the SSD's 300x300 input leaves a 60x80 px diver
  about 40x95 input pixels, in a shape (often beyond the anchors' 3:1) the network boxes loosely.
  Eq. 25 then picks among the two by centre distance, confidence and size, none of which says
  which box fits the body. So where two boxes lie on the diver, the detector is asked again on crops around
  each of them (:func:`~fdpose.pipelines.tracking.redetect.local_boxes`: the crop shaped to the
  anchors' range, two contexts that must agree, so a box that scales with the crop is refused),
  and the kept box becomes the mean of the verified boxes that lie on the same person (IoU >=
  ``same_iou`` with the kept box; searching around each box and averaging takes out the pull of
  the crop's own placement).
- *A box thinner than the anchors is too wide* (``thin_aspect``: the anchors' 3:1; 0: off): a handstand is
  about 10:1 in the stretched input while the anchors stop at 3:1 (real armstand, frame 1:
  61 px wide for a 30 px diver). Such a kept box is checked the same way even when it is alone,
  and replaced only by a narrower verified box that keeps most of it (IoU >= ``thin_iou``).

Only the kept boxes are checked, after the track is final: the choice of the person is the
tracker's (the check cannot move the track to someone else, nor change how pass 1 links), only
the box drawn around him changes. A frame where no verified box lies on the same person keeps
its box. The verified box replaces the kept candidate's row (the track's ``candidate_index``
still points at it). Needs the clip's frames and a one-image detector, as re-detection does
(the search settings are the ``redetect`` section's); without them it does nothing.
Measurements: docs/tracker.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import numpy as np

from fdpose.metrics.boxes import iou
from fdpose.pipelines.tracking.config import VerifyConfig
from fdpose.pipelines.tracking.pass2 import TrackDecision
from fdpose.pipelines.tracking.tracker import TrackResult

__all__ = ["VerifyStats", "same_person", "stretched_aspect", "verify_kept"]

log = logging.getLogger(__name__)

#: ``search(image, box) -> (K, 5)`` verified boxes near ``box`` (``[x1, y1, x2, y2]``) in frame pixels.
Search = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: ``frames(indices) -> images``: the clip's ``(H, W, 3)`` frames at those indices.
Frames = Callable[[list[int]], list[np.ndarray]]


@dataclass
class VerifyStats:
    """What the check did on one clip: frames checked (searched) and frames whose box changed."""

    checked: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)


def same_person(box: np.ndarray, others: np.ndarray, min_iou: float) -> np.ndarray:
    """(K,) bool: ``others`` ``(K, >=4)`` overlapping ``box`` ``(>=4,)`` by IoU >= ``min_iou``."""
    if not len(others):
        return np.zeros(0, dtype=bool)
    return iou(box[:4], others[:, :4]) >= min_iou


def stretched_aspect(box: np.ndarray, size: tuple[int, int]) -> float:
    """Height / width of ``box`` in the detector's square input (the frame ``size`` = (w, h) stretched)."""
    w, h = size
    return float(((box[3] - box[1]) / h) / max((box[2] - box[0]) / w, 1e-9))


#: frames fetched at a time: a long clip's checked frames are never all in memory at once
FETCH_CHUNK = 32


def _fetched(order: list[int], frames: Frames) -> Iterator[tuple[int, np.ndarray]]:
    """``(t, image)`` for the frames ``order``, fetched ``FETCH_CHUNK`` at a time."""
    for start in range(0, len(order), FETCH_CHUNK):
        part = order[start:start + FETCH_CHUNK]
        yield from zip(part, frames(part))


def verify_kept(track: TrackResult, cands: list[np.ndarray], frames: Frames, search: Search,
                cfg: VerifyConfig, image_size: Optional[tuple[int, int]] = None) -> VerifyStats:
    """Check the track's kept boxes where several candidates lie on the diver (module docstring);
    ``track.boxes`` and the kept rows of ``cands`` (T ``(K_t, 5)`` rows) are changed in place.
    Filled boxes (no detection) are left alone. image_size: the frames' ``(width, height)``, so
    that only the frames with a thin kept box are fetched (None: read off each fetched frame)."""
    stats = VerifyStats()
    if not cfg.enabled:
        return stats
    todo: dict[int, list[np.ndarray]] = {}  # frame -> the boxes to search around (the kept box first)
    for t, row in enumerate(track.candidate_index):
        if row < 0 or track.decisions[t] == TrackDecision.FILLED:
            continue
        c = cands[t]
        kept = c[row]
        mask = same_person(kept, c, cfg.same_iou)
        mask[row] = False
        if mask.any():
            todo[t] = [kept[:4]] + [b[:4] for b in c[mask]]
        elif cfg.thin_aspect > 0 and (image_size is None or stretched_aspect(kept, image_size) >= cfg.thin_aspect):
            todo[t] = [kept[:4]]  # (without the frame size: checked on the image, below)
    if not todo:
        return stats
    order = sorted(todo)
    for t, image in _fetched(order, frames):
        row = int(track.candidate_index[t])
        kept = cands[t][row]
        thin = len(todo[t]) == 1
        if thin and stretched_aspect(kept, (image.shape[1], image.shape[0])) < cfg.thin_aspect:
            continue
        stats.checked.append(t)
        found = []
        for box in todo[t]:
            got = search(image, box)
            if len(got):
                on = same_person(kept, got, cfg.same_iou)
                if thin:  # (the assumption: the whole-frame box is too wide; a wider crop box is no correction,
                    # nor one that keeps little of it: a part of the body)
                    on &= (got[:, 2] - got[:, 0] < kept[2] - kept[0]) & same_person(kept, got, cfg.thin_iou)
                on = got[on]
                if len(on):
                    found.append(on[0])  # (the best-scored verified box of this search)
        if not found:
            continue
        boxes = np.asarray(found)
        new = np.r_[boxes[:, :4].mean(axis=0), boxes[:, 4].min()]
        cands[t] = cands[t].copy()  # (in place of the kept row: pass 1's per-row arrays keep their length)
        cands[t][row] = new
        track.boxes[t] = new
        stats.changed.append(t)
    log.info("kept-box check: %d frames checked, %d boxes changed", len(stats.checked), len(stats.changed))
    return stats
