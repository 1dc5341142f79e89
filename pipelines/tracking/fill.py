"""Short-gap fill: boxes interpolated between two boxes of the track (the ``fill`` refinement).

Real-world assumption: over a few frames the diver moves smoothly, so where the detector missed
him between two boxes of the track (a tucked diver in a fast tilt, motion blur) his box lies
near the line joining them. The known precedent is ByteTrack's offline interpolation of a
track's missing boxes. Applied after pass 2 to the chosen track:

- only between two consecutive boxes of the track at most ``fill_max_gap`` missed frames apart.
  Both are boxes of the one track: pass 2 chose the later one from the state the earlier one
  left (or both from the seed), so they form one chain; and the track has no box after the
  entry end, so no gap spans that end. Nor is a gap filled once the track has fallen
  ``entry_min_drop`` of its diagonals below the highest point it reached before the gap, nor
  any later gap (unless ``fill_after_fall``): the diver may have gone under in it, and the box after it is
  then someone else (the entry end comes only after ``entry_lost_frames`` missed frames);
- ``fill_space`` ``auto``: in scene coordinates (camera pan and zoom removed, each corner moved
  linearly in the scene and brought back into frame t) where every camera step over the gap was
  measured, in image coordinates where one was not - a camera following the diver through an
  unmeasured tilt keeps him near his image place, while his scene place in the far frame is
  off by the unmeasured motion. ``image`` / ``scene`` force one space.

Filled frames get the decision ``filled`` and the lower score of the two ends; their candidate
row stays -1. Measured on the real clips and on synth in docs/tracker.md.
"""

from __future__ import annotations

import numpy as np

from fdpose.pipelines.tracking.camera import CameraMotion
from fdpose.pipelines.tracking.config import FillConfig

__all__ = ["fill_gaps"]


def fill_gaps(boxes: np.ndarray, cam: CameraMotion, cfg: FillConfig, entry_min_drop: float = np.inf) -> list[int]:
    """Interpolate ``boxes`` ((T, 5), NaN rows: no box) in place; returns the frames filled.

    cam: the clip's camera motion (``image_t = scale[t] * scene + offset[t]``; ``known`` says
    which steps were measured). entry_min_drop: the fall (in the box's scene diagonals below the
    track's highest scene centre so far) after which no gap is filled.
    """
    have = np.flatnonzero(np.isfinite(boxes[:, 0]))
    filled: list[int] = []
    if not cfg.enabled or len(have) < 2:
        return filled
    # (scene centre height and diagonal of every box; y grows downwards)
    y = np.array([float(cam.to_scene(((boxes[t, :2] + boxes[t, 2:4]) / 2)[None], t)[0, 1]) for t in have])
    diag = np.hypot(boxes[have, 2] - boxes[have, 0], boxes[have, 3] - boxes[have, 1]) / cam.scale[have]
    fallen = (y - np.minimum.accumulate(y)) / np.maximum(diag, 1e-9) >= entry_min_drop
    # (once fallen, always: the diver does not rise again before the water; a track that later
    # climbs in the scene has moved on to someone else, or to a replay after a cut)
    fallen = np.logical_or.accumulate(fallen)
    for i, (a, b) in enumerate(zip(have[:-1].tolist(), have[1:].tolist())):
        if b - a < 2 or b - a - 1 > cfg.fill_max_gap or (fallen[i] and not cfg.fill_after_fall):
            continue
        scene = cfg.fill_space == "scene" or (cfg.fill_space == "auto" and cam.steps_known(a, b))
        for t in range(a + 1, b):
            w = (t - a) / (b - a)
            boxes[t, :4] = _between(boxes[a, :4], boxes[b, :4], a, b, t, w, cam if scene else None)
            boxes[t, 4] = min(boxes[a, 4], boxes[b, 4])
            filled.append(t)
    return filled


def _between(box_a: np.ndarray, box_b: np.ndarray, a: int, b: int, t: int, w: float,
             cam: CameraMotion | None) -> np.ndarray:
    """(4,) box of frame t at weight w from ``box_a`` (frame a) to ``box_b`` (frame b).

    cam None: linear in image px; else linear in scene coordinates, returned in frame t's px.
    """
    if cam is None:
        return (1 - w) * box_a + w * box_b
    sa = cam.to_scene(np.asarray(box_a, dtype=np.float64).reshape(2, 2), a)
    sb = cam.to_scene(np.asarray(box_b, dtype=np.float64).reshape(2, 2), b)
    return (((1 - w) * sa + w * sb) * cam.scale[t] + cam.offset[t]).reshape(4)

