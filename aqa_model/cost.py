"""Parameter counts and FLOPs of a configured model (method.md 3.5 cost note).

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (counts matmuls and
convolutions: 2 FLOPs per multiply-add; element-wise ops, GRU internals outside its matmuls
and pooling are not counted). The per-video and per-pair parts are measured separately:

* ``encode``: one video through encoders, segmentation, cutting, reducers and fusion;
* ``compare``: one (query, exemplar) pair through the decoders and MLPs;
* ``per_query_cached`` = encode + N * compare (exemplar encodings computed once and reused);
* ``per_query_uncached`` = N * (2 * encode + compare) (the public code, which re-encodes the
  query and each of the N exemplars for every vote);
* ``train_step_forward`` = 2 * encode + 2 * compare (one pair, both regression directions).

With ``device="meta"`` nothing is computed, only shapes: the ``full`` model is counted in
seconds on CPU.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.model import HPMCoRe
from fdpose.skeleton import NUM_JOINTS


@dataclass(frozen=True)
class CostReport:
    """Parameter counts (total and per top-level component) and FLOPs (batch 1)."""

    config: str
    params_total: int
    params_by_component: dict[str, int]
    flops_encode: int
    flops_compare: int
    num_exemplars: int

    @property
    def flops_per_query_cached(self) -> int:
        return self.flops_encode + self.num_exemplars * self.flops_compare

    @property
    def flops_per_query_uncached(self) -> int:
        return self.num_exemplars * (2 * self.flops_encode + self.flops_compare)

    @property
    def flops_train_step_forward(self) -> int:
        return 2 * (self.flops_encode + self.flops_compare)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = asdict(self)
        out.update(flops_per_query_cached=self.flops_per_query_cached,
                   flops_per_query_uncached=self.flops_per_query_uncached,
                   flops_train_step_forward=self.flops_train_step_forward)
        return out


def parameter_counts(model: torch.nn.Module) -> dict[str, int]:
    """Trainable parameters per top-level child module (children without any are omitted)."""
    counts = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    return {k: v for k, v in counts.items() if v}


def _inputs(cfg: AQAConfig, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    video = torch.zeros(1, cfg.num_frames, 3, cfg.frame_size, cfg.frame_size, device=device)
    pose = torch.zeros(1, cfg.num_frames, NUM_JOINTS, cfg.pose_channels, device=device)
    return video, pose


def model_cost(config: AQAConfig, num_exemplars: int = 10, device: str | torch.device = "meta") -> CostReport:
    """Build ``config`` on ``device`` and measure parameters and batch-1 FLOPs."""
    dev = torch.device(device)
    quiet = logging.getLogger("fdpose.aqa_model.encoders")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # random-init warnings are expected here
    try:
        with dev:
            model = HPMCoRe(config)
    finally:
        quiet.setLevel(level)
    model = model.to(dev).eval()  # tensors built from numpy (adjacency, weights) start on the CPU
    video, pose = _inputs(config, dev)
    # Transitions are given so the meta device never has to decode an argmax.
    step = config.num_frames // config.num_stages
    transitions = torch.tensor([[step * (i + 1) for i in range(config.num_transitions)]], device=dev)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            enc = model.encode(video, pose, transitions)
        flops_encode = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            model.compare(enc, enc, torch.zeros(1, device=dev))
        flops_compare = counter.get_total_flops()
    by_component = parameter_counts(model)
    return CostReport(config.name, sum(by_component.values()), by_component, int(flops_encode),
                      int(flops_compare), num_exemplars)
