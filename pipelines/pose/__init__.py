"""Pose backends behind one protocol (:class:`~.base.PoseEstimator`): boxes in, MPII-16 joints out.

- :mod:`.base`: the protocol, the ``(N, 16, 3)`` ``[x, y, conf]`` contract and box/image checks.
- :mod:`.crop`: exact crop / rotation geometry (image <-> crop affine maps, upright angles).
- :mod:`.mediapipe`: BlazePose (inside the mediapipe wheel) on an orientation-normalised crop,
  mapped from 33 landmarks to MPII-16 by a documented rule.
- :mod:`.hrnet`: adapter around :mod:`fdpose.hrnet_finetune.inference` (the fine-tuned HRNet).

Backends import their frameworks lazily, so importing this package stays cheap.
"""

from fdpose.pipelines.pose.base import PoseEstimator, as_pose_boxes, check_image, missing_poses

__all__ = ["PoseEstimator", "as_pose_boxes", "check_image", "missing_poses"]
