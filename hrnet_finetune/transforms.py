"""Motion blur for diver crops: a registered mmpose transform (mmpose 1.3.2 has none without albumentations).

Divers rotate fast and broadcast frames smear their limbs along the motion. ``RandomMotionBlur``
convolves the (already cropped) image with a normalised line kernel of random length and
direction; keypoints are unchanged (a symmetric blur does not move the joint centre). Use it
after ``TopdownAffine`` so the kernel length is in network-input pixels and the cost is that of
a crop, not of a full frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS


def motion_blur_kernel(length: int, angle_deg: float) -> np.ndarray:
    """(length, length) float32 line kernel through the centre at ``angle_deg``, summing to 1.

    length: odd >= 1 (an even length is raised by one so the line is centred).
    """
    length = max(1, int(length))
    if length % 2 == 0:
        length += 1
    kernel = np.zeros((length, length), dtype=np.float32)
    kernel[length // 2, :] = 1.0
    c = (length - 1) / 2.0
    rot = cv2.getRotationMatrix2D((c, c), float(angle_deg), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length), flags=cv2.INTER_LINEAR)
    total = float(kernel.sum())
    if total <= 0:  # cannot happen for a centred line, kept for safety of the division
        kernel[length // 2, length // 2] = 1.0
        total = 1.0
    return kernel / total


@TRANSFORMS.register_module()
class RandomMotionBlur(BaseTransform):
    """Blur ``results['img']`` along a random direction with probability ``prob``.

    Required/modified key: ``img`` (H, W, C) uint8. Args: prob in [0, 1]; min_length and
    max_length: kernel length range in pixels (inclusive, odd lengths used). Randomness comes
    from numpy's global generator, which mmengine seeds per worker.
    """

    def __init__(self, prob: float = 0.3, min_length: int = 3, max_length: int = 9) -> None:
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        if not 1 <= min_length <= max_length:
            raise ValueError(f"need 1 <= min_length <= max_length, got {min_length}, {max_length}")
        self.prob = prob
        self.min_length = min_length
        self.max_length = max_length

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        length = int(np.random.randint(self.min_length, self.max_length + 1))
        angle = float(np.random.uniform(0.0, 180.0))
        results["img"] = cv2.filter2D(results["img"], -1, motion_blur_kernel(length, angle), borderType=cv2.BORDER_REFLECT)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob}, min_length={self.min_length}, max_length={self.max_length})"
