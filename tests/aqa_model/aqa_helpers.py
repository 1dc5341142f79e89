"""Helpers of the AQA model tests (a unique module name: importable next to other test folders)."""

from __future__ import annotations

import dataclasses

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import preset


def micro_config(**overrides: object) -> AQAConfig:
    """The ``tiny`` preset with all three encoders on (DVE, SVE, HSE), cut to 16 frames of 16x16
    (3 clips of 8): a training step takes ~0.3 s. Whole-frame crops (``video_crop="frame"``), so
    that pose-free variants stay pose-free; the diver crop has its own tests."""
    base = dataclasses.replace(preset("tiny"), num_frames=16, frame_size=16, clip_len=8, clip_stride=4,
                               use_dve=True, use_sve=True, video_crop="frame", name="micro")
    return dataclasses.replace(base, **overrides).validate()

