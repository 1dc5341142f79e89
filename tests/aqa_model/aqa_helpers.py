"""Helpers of the AQA model tests (a unique module name: importable next to other test folders)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from fdpose.aqa_model.config import AQAConfig, preset


def micro_config(**overrides: object) -> AQAConfig:
    """The ``tiny`` preset cut to 16 frames of 16x16 (3 clips of 8): a training step takes ~0.3 s."""
    base = dataclasses.replace(preset("tiny"), num_frames=16, frame_size=16, clip_len=8, clip_stride=4,
                               name="micro")
    return dataclasses.replace(base, **overrides).validate()


def shared_data_dir() -> Path | None:
    """``../shared/data`` next to the repository (or $FDPOSE_SHARED/data), None when absent."""
    env = os.environ.get("FDPOSE_SHARED")
    root = Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
    data = root / "data"
    return data if data.is_dir() else None
