"""The ``hrnet`` pose backend: a thin adapter around :mod:`fdpose.hrnet_finetune.inference`.

The fine-tuned top-down model (mmpose, built through its registries, checkpoint loaded
weights-only) predicts the 16 MPII joints inside each box; mmpose's test pipeline adds its own
1.25x padding around the box, so no extra context is needed here. Stateless: ``reset()`` does
nothing. Confidences are the heatmap maxima, clipped to [0, 1] for the clip JSON. A degenerate
box (zero width or height) yields missing joints instead of an error, as the tracker may hand
over a clipped box at the frame edge.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional, Sequence

import numpy as np

from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.pipelines.pose.base import as_pose_boxes, check_image, missing_poses

log = logging.getLogger(__name__)


class HRNetPoseEstimator:
    """The ``hrnet`` backend of :class:`~.base.PoseEstimator` (``config`` None: the checkpoint's embedded one)."""

    def __init__(self, checkpoint: str | os.PathLike[str], config: Optional[str | os.PathLike[str]] = None,
                 device: str = "auto", flip_test: bool = True, batch_size: int = 32) -> None:
        from fdpose.hrnet_finetune.inference import load_pose_model

        self._pm: Any = load_pose_model(config, checkpoint, device)
        self.flip_test = bool(flip_test)
        self.batch_size = int(batch_size)

    @property
    def info(self) -> BackendInfo:
        import mmpose

        return BackendInfo(name="hrnet", version=f"mmpose {mmpose.__version__}", checkpoint=str(self._pm.checkpoint))

    def reset(self) -> None:
        """No per-clip state."""

    def estimate(self, image_bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """``(N, 16, 3)`` float64 ``[x, y, conf]`` image pixels for ``(N, 4)`` xyxy boxes (MPII order)."""
        return self.estimate_batch([check_image(image_bgr)], [as_pose_boxes(boxes)])[0]

    def estimate_many(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """``(N, 16, 3)`` for ``(image_bgr, box (4,))`` pairs from any frames (the runner's batched interface)."""
        if not crops:
            return missing_poses(0)
        return np.concatenate(self.estimate_batch([c[0] for c in crops], [np.asarray(c[1])[None, :4] for c in crops]))

    def estimate_batch(self, images: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Several frames in shared forward passes: one ``(N_t, 16, 3)`` array per frame."""
        from fdpose.hrnet_finetune.inference import estimate_many

        per_frame = [as_pose_boxes(b, f"boxes[{t}]") for t, b in enumerate(boxes)]
        crops: list[tuple[np.ndarray, np.ndarray]] = []
        where: list[tuple[int, int]] = []
        out = [missing_poses(len(b)) for b in per_frame]
        for t, (image, bx) in enumerate(zip(images, per_frame)):
            check_image(image, f"frame {t}")
            for i, box in enumerate(bx):
                if box[2] - box[0] > 0 and box[3] - box[1] > 0:
                    crops.append((image, box))
                    where.append((t, i))
        if crops:
            pred = np.asarray(estimate_many(self._pm, crops, self.flip_test, self.batch_size), dtype=np.float64)
            pred[..., 2] = np.clip(pred[..., 2], 0.0, 1.0)
            for (t, i), p in zip(where, pred):
                out[t][i] = p
        return out


def make_backend(cfg: Any) -> HRNetPoseEstimator:
    """Factory from the runner's ``RunConfig`` (duck-typed: pose_checkpoint, pose_config, device, flip_test,
    batch_size)."""
    from fdpose.errors import ConfigError

    if getattr(cfg, "pose_checkpoint", None) is None:
        raise ConfigError("--pose hrnet needs --pose-checkpoint (and --pose-config unless embedded)")
    return HRNetPoseEstimator(cfg.pose_checkpoint, getattr(cfg, "pose_config", None), getattr(cfg, "device", "auto"),
                              bool(getattr(cfg, "flip_test", True)), int(getattr(cfg, "batch_size", 32)))
