"""Re-acquisition in the image after a gap (the ``reacquire`` refinement of pass 2).

Real-world assumption: a broadcast camera follows the diver. Where its motion between the last
diver box and frame t was not measured (a fast tilt whose blurred frames give too few agreeing
features, :mod:`fdpose.pipelines.tracking.camera`), the scene coordinates of frame t are off by
the unmeasured motion, and the scene gate (jump, confirmation) refuses the diver found again
after the gap; the camera kept him, however, near his last place in the *image*. So, only while
some camera step between the last box and t is unknown, a candidate is also admissible when

- its image centre lies within ``image_reach`` of the last box's image diagonals from the last
  box's image centre, at most ``reacquire_max_gap`` frames later, and its image size passes the
  size gate of that gap;
- no known person explains it: its tracklet is not static, not a short still one and not
  excluded (seen beside the diver);
- the track has not yet fallen towards the water (forward passes: the entry end's ``fallen``):
  after the fall a gap may be the entry, and whoever stands at the diver's last image place
  after a cut (the underwater camera, a replay) is not the diver.

The confirmation rule (a lone box after more than ``confirm_gap`` missed frames needs a
tracklet) stays for every other candidate. Measured on the real armstand clip and on synth in
docs/tracker.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fdpose.metrics.boxes import centres, diags

if TYPE_CHECKING:
    from fdpose.pipelines.tracking.config import Params

__all__ = ["image_reacquire"]


def image_reacquire(cfg: "Params", last_box: np.ndarray, gap: int, boxes: np.ndarray, camera_known: bool,
                    fallen: bool, person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((K,) bool admissible by the image rule, (K,) image distance in last-box diagonals).

    last_box: (>=4,) the last diver box ``[x1, y1, x2, y2, ...]`` (image px of its own frame);
    gap: frames since it; boxes: (K, >=5) candidates ``[x1, y1, x2, y2, conf]`` of frame t;
    camera_known: every camera step from the last box's frame to t was measured (the rule is
    then idle: the scene gates hold); fallen: the track has fallen towards the water;
    person: (K,) bool, a known person explains the candidate (static, short still or excluded
    tracklet, another tracklet than the track's).
    """
    k = len(boxes)
    last = np.asarray(last_box, dtype=np.float64)[None, :4]
    d_last = max(float(diags(last)[0]), 1.0)
    dist = np.linalg.norm(centres(boxes) - centres(last)[0], axis=1) / d_last if k else np.zeros(0)
    if camera_known or fallen or gap > cfg.reacquire_max_gap or not k:
        return np.zeros(k, dtype=bool), dist
    ratio = diags(boxes) / d_last
    ok = ((dist <= cfg.reacquire_reach) & (np.maximum(ratio, 1 / ratio) <= cfg.size_gate(gap))
          & (boxes[:, 4] >= cfg.min_conf) & ~person)
    return ok, dist
