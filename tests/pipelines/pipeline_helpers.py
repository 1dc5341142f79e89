"""Helpers of the pipeline runner tests (not a test module): a tiny random HRNet checkpoint."""

from __future__ import annotations

from pathlib import Path


def tiny_hrnet_checkpoint(path: Path, input_size: tuple[int, int] = (64, 64)) -> Path:
    """A seeded, randomly initialised 16-joint hrnet-small with its config embedded (meta.cfg)."""
    import torch
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from fdpose.hrnet_finetune.checkpoints import save_slim_checkpoint
    from fdpose.hrnet_finetune.config import load_arch_config, sync_codec

    init_default_scope("mmpose")
    cfg = load_arch_config("hrnet-small")
    sync_codec(cfg, input_size)
    cfg.model.head.out_channels = 16
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return save_slim_checkpoint(path, model.state_dict(), {"cfg": cfg.pretty_text})
