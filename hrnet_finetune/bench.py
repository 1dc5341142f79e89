"""Training throughput of an architecture on real labelled frames: ``fdpose finetune-hrnet bench``.

Runs a few full training steps (data pipeline with augmentation, forward, backward, Adam) on the
frames of the given LabelMe folders and reports images per second, excluding warm-up steps.
The frames are exported to a temporary MPII folder exactly as a training run would.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from fdpose.errors import ConfigError
from fdpose.hrnet_finetune.config import TrainSettings, build_config, resolve_device
from fdpose.hrnet_finetune.data import export_split, read_folders

log = logging.getLogger(__name__)


@dataclass
class BenchResult:
    """Measured training speed: ``steps`` timed steps of ``batch_size`` images."""

    arch: str
    input_size: list[int]
    batch_size: int
    steps: int
    warmup_steps: int
    seconds: float
    images_per_s: float
    seconds_per_step: float
    parameters: int
    device: str
    threads: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def benchmark_training(arch: str, labelme_dirs: Sequence[Path], steps: int = 3, batch_size: int = 8,
                       input_size: Optional[tuple[int, int]] = None, device: str = "auto", warmup: int = 1,
                       seed: int = 0) -> BenchResult:
    """Time ``steps`` training steps after ``warmup`` untimed ones (see the module docstring)."""
    import torch
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmpose.registry import MODELS

    if steps < 1 or warmup < 0 or batch_size < 1:
        raise ConfigError(f"need steps >= 1, warmup >= 0, batch size >= 1; got {steps}, {warmup}, {batch_size}")
    frames = [f for root in read_folders(list(labelme_dirs)) for f in root]
    dev = resolve_device(device)
    with tempfile.TemporaryDirectory(prefix="fdpose_bench_") as tmp:
        export_split(frames, Path(tmp) / "train")
        settings = TrainSettings(list(labelme_dirs), Path(tmp), arch=arch, epochs=1, batch_size=batch_size,
                                 input_size=input_size, workers=0, device=dev, seed=seed)
        cfg = build_config(settings, Path(tmp), len(frames), dev)
        init_default_scope("mmpose")
        # The newest MMLogger is mmengine's "current" logger: keep its weight-init report off the console.
        MMLogger.get_instance(f"fdpose_bench_{id(settings)}", log_level="WARNING")
        torch.manual_seed(seed)
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.to(dev).train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        batches = itertools.cycle(loader)
        for _ in range(warmup):
            model.train_step(next(batches), optim)
        start = time.perf_counter()
        images = 0
        for _ in range(steps):
            batch = next(batches)
            model.train_step(batch, optim)
            images += len(batch["inputs"])
        if dev.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    size = [int(v) for v in cfg.codec["input_size"]]
    result = BenchResult(arch, size, batch_size, steps, warmup, seconds, images / seconds, seconds / steps,
                         sum(p.numel() for p in model.parameters()), dev, torch.get_num_threads())
    log.info("%s: %.2f images/s (%d steps of %d)", arch, result.images_per_s, steps, batch_size)
    return result
