"""Helpers of the HRNet tests (not a test module): building small models and model-zoo-like checkpoints."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

#: 4 clips of ~50 frames: 3 train + 1 validation clip with --val-split 0.25.
WORLD = dict(videos=4, seed=3, frames=50, write_video=False)
RUN = dict(arch="hrnet-small", epochs=5, batch_size=16, input_size=(64, 64), val_share=0.25, workers=0, device="cpu")


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Train with one torch thread: on two cores shared with other jobs, two threads per process
    oversubscribe the CPU and run several times slower (measured: 26 vs 6 images/s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def build_small_model(out_channels: int = 16, input_size: tuple[int, int] = (64, 64)) -> Any:
    """A freshly initialised small top-down HRNet with ``out_channels`` joints (seeded)."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from fdpose.hrnet_finetune.config import load_arch_config, sync_codec

    init_default_scope("mmpose")
    cfg = load_arch_config("hrnet-small")
    sync_codec(cfg, input_size)
    cfg.model.head.out_channels = out_channels
    torch.manual_seed(1)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def save_coco_style_checkpoint(path: Path) -> Path:
    """Random 17-joint weights with numpy objects in ``meta`` (like mmpose model-zoo files)."""
    from mmengine.logging.history_buffer import HistoryBuffer

    model = build_small_model(out_channels=17)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # make weights distinguishable from a fresh init
    ckpt = {
        "meta": {"epoch": 210, "dataset_meta": {"sigmas": np.linspace(0.02, 0.1, 17), "flip_indices": np.arange(17)},
                 "seed": np.int64(3)},
        "state_dict": model.state_dict(),
        "message_hub": {"log_scalars": {"train/loss": HistoryBuffer([0.1, 0.05], [1, 1])}},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path
