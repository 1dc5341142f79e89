"""Helpers of the AQA model tests (a unique module name: importable next to other test folders)."""

from __future__ import annotations

import dataclasses

from fdpose.aqa_model.config import AQAConfig, preset


def micro_config(**overrides: object) -> AQAConfig:
    """The ``tiny`` preset cut to 16 frames of 16x16 (3 clips of 8): a training step takes ~0.3 s."""
    base = dataclasses.replace(preset("tiny"), num_frames=16, frame_size=16, clip_len=8, clip_stride=4,
                               name="micro")
    return dataclasses.replace(base, **overrides).validate()

