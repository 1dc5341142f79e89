"""Procedure segmentation (method.md 3.2, paper Eq. 6-7) and stage cutting.

A head maps per-frame features (B, T, C) to logits (B, T, K-1): one column per transition.
Each column is a softmax over *time* (Eq. 7): "which frame is transition i". Decoding follows
the public code: transition i is the argmax of column i restricted to the i-th part of the
clip, frames ``[i * P, (i + 1) * P)`` with ``P = round(T / (K-1))`` (the last part runs to T).
Training uses cross-entropy of each column against the ground-truth transition frame,
averaged over transitions, each weighted by ``segmentation_transition_weights`` (default equal;
the public codes' soft target holds 2 at the second transition, i.e. weights (1, 2)).

Heads (ablation "BiGRU > ASFormer > FC > TCN", paper Table VI): ``bigru`` (bidirectional GRU + FC,
the paper's), ``fc`` (per-frame linear layer, no temporal context), ``tcn`` (a single-stage
MS-TCN-like stack of dilated residual temporal convolutions), ``asformer`` (encoder + refinement
decoders of windowed attention, :mod:`fdpose.aqa_model.asformer`; every stage's output is
supervised, :func:`segmentation_loss_all`).

Stage cutting: K stages from K-1 transitions ``t_1 <= ... <= t_{K-1}``; stage k covers frames
``[b_k, b_{k+1}]`` (both ends included) with ``b_0 = 0``, ``b_K = T - 1``, ``b_k = t_k``.
Every stage is resampled to ``stage_len`` steps by linear interpolation with aligned corners
(the public code's ``F.interpolate(..., mode='linear', align_corners=True)``), so stages of
any length become fixed-size tensors and a one-frame stage becomes that frame repeated.
Gradients flow to the features; transitions are indices and carry none.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fdpose.aqa_model.asformer import ASFormerHead, ASFormerSpec
from fdpose.errors import ConfigError


class BiGRUHead(nn.Module):
    """Bi-GRU + FC: (B, T, C) -> logits (B, T, K-1) (Eq. 6)."""

    def __init__(self, in_dim: int, num_transitions: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.gru = nn.GRU(in_dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)  # the codes: 0.5 on the GRU outputs (training only)
        self.fc = nn.Linear(2 * hidden, num_transitions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.gru(x)[0]))


class FCHead(nn.Module):
    """Per-frame linear classifier (no temporal context): (B, T, C) -> (B, T, K-1)."""

    def __init__(self, in_dim: int, num_transitions: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_transitions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TCNHead(nn.Module):
    """Single-stage TCN: 1x1 in, dilated residual temporal convs (1, 2, 4, 8), 1x1 out."""

    def __init__(self, in_dim: int, num_transitions: int, hidden: int, dilations: Sequence[int] = (1, 2, 4, 8)) -> None:
        super().__init__()
        self.inp = nn.Conv1d(in_dim, hidden, 1)
        self.layers = nn.ModuleList(nn.Conv1d(hidden, hidden, 3, padding=d, dilation=d) for d in dilations)
        self.out = nn.Conv1d(hidden, num_transitions, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inp(x.transpose(1, 2))
        for layer in self.layers:
            y = y + F.relu(layer(y))
        return self.out(y).transpose(1, 2)


HEADS: tuple[str, ...] = ("bigru", "fc", "tcn", "asformer")


def build_head(kind: str, in_dim: int, num_transitions: int, hidden: int, dropout: float = 0.0,
               asformer: ASFormerSpec | None = None) -> nn.Module:
    """The named head; ``asformer``: the ASFormer head's sizes and choices (None: the defaults)."""
    if kind == "bigru":
        return BiGRUHead(in_dim, num_transitions, hidden, dropout)
    if kind == "fc":
        return FCHead(in_dim, num_transitions, hidden)
    if kind == "tcn":
        return TCNHead(in_dim, num_transitions, hidden)
    if kind == "asformer":
        return ASFormerHead(in_dim, num_transitions, asformer or ASFormerSpec(), dropout)
    raise ConfigError(f"unknown segmentation head {kind!r} (known: {', '.join(HEADS)})")


def decode_transitions(logits: torch.Tensor) -> torch.Tensor:
    """Argmax of transition i inside part i of the clip. logits (B, T, K-1) -> (B, K-1) long."""
    b, t, m = logits.shape
    part = max(int(round(t / m)), 1)
    out = torch.empty(b, m, dtype=torch.long, device=logits.device)
    for i in range(m):
        lo = min(i * part, t - 1)
        hi = t if i == m - 1 else max(min((i + 1) * part, t), lo + 1)
        out[:, i] = logits[:, lo:hi, i].argmax(dim=1) + lo
    return out


def segmentation_loss(logits: torch.Tensor, transitions: torch.Tensor,
                      weights: Sequence[float] = ()) -> torch.Tensor:
    """Mean over transitions of w_i * CE(softmax over time of column i, true frame t_i).

    logits (B, T, K-1); transitions (B, K-1) integer frames in [0, T). weights: one per
    transition (default all 1). The codes' soft target holds 1 at the first transition and 2 at the
    second, which is weights (1, 2) here.
    """
    b, t, m = logits.shape
    target = transitions.long().clamp(0, t - 1)
    per = F.cross_entropy(logits.permute(0, 2, 1).reshape(b * m, t), target.reshape(b * m), reduction="none")
    if weights:
        per = per.view(b, m) * torch.as_tensor(list(weights), dtype=per.dtype, device=per.device)
    return per.mean()


def segmentation_loss_all(logits: torch.Tensor, transitions: torch.Tensor, weights: Sequence[float] = (),
                          aux_logits: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`segmentation_loss` of the final logits (B, T, K-1) plus, summed, that of every earlier stage's
    logits aux_logits (B, S-1, T, K-1) (ASFormer's encoder and first decoders; None for one-stage heads)."""
    loss = segmentation_loss(logits, transitions, weights)
    if aux_logits is not None:
        for s in range(aux_logits.shape[1]):
            loss = loss + segmentation_loss(aux_logits[:, s], transitions, weights)
    return loss


def map_transitions_to_samples(transit_frames: Sequence[int] | np.ndarray,
                               sample_indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """GT transitions (FineDiving frames of the trimmed clip) -> positions in the sampled frames.

    FineDiving's ``steps_transit_frames[k]`` is the LAST frame of stage k; the model's
    transition is the first SAMPLED frame of stage k+1, i.e. the first sample after the
    transit frame (the public loader's ``transits + 1``; the last sample if none is after it).
    sample_indices: (T,) ascending frame numbers, e.g. linspace(first, last, 96) cast to int.
    Returns (K-1,) int64 positions in [0, T).
    """
    samples = np.asarray(sample_indices)
    pos = np.searchsorted(samples, np.asarray(transit_frames), side="right")
    return np.minimum(pos, len(samples) - 1).astype(np.int64)


def stage_bounds(transitions: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B, K-1) transitions -> (B, K+1) sorted, clamped boundaries b_0 = 0 ... b_K = T-1."""
    b = transitions.shape[0]
    t = transitions.to(torch.float32).clamp(0, num_frames - 1).sort(dim=1).values
    zeros = torch.zeros(b, 1, device=transitions.device)
    return torch.cat([zeros, t, zeros + (num_frames - 1)], dim=1)


def cut_stages(features: torch.Tensor, transitions: torch.Tensor, stage_len: int,
               half_open: bool = False, last_lead: int = 0) -> list[torch.Tensor]:
    """Cut (B, T, C) features into K stages of fixed length (linear, aligned corners).

    transitions: (B, K-1) frame indices (any numeric dtype). Returns K tensors (B, stage_len, C).
    half_open: stage k ends the frame BEFORE transition k+1 (the codes' ``seg_pool_1d``:
    ``[:t1], [t1:t2], [t2:]``) instead of on it; a stage never shrinks below one frame.
    last_lead: the last stage starts that many frames before its transition (HP-MCoRe's
    ``seg_pool_1d`` at 6bce799: ``[:t1+1], [t1:t2+1], [t2-1:]``, i.e. inclusive with last_lead 1).
    """
    b, t, c = features.shape
    bounds = stage_bounds(transitions.to(features.device), t)  # (B, K+1)
    frac = torch.linspace(0.0, 1.0, stage_len, device=features.device)
    stages = []
    last = bounds.shape[1] - 2
    for k in range(bounds.shape[1] - 1):
        start, end = bounds[:, k:k + 1], bounds[:, k + 1:k + 2]
        if half_open and k < last:
            end = torch.maximum(end - 1, start)
        if last_lead and k == last and transitions.shape[1] > 0:
            # from the transition itself, not its clamped bound: the code's x[:, :, t2 - 1:] on 9 clip vectors
            # with t2 = 9 (an entry predicted in the last clip, // 10) keeps the last vector alone
            raw = transitions.to(device=features.device, dtype=torch.float32).max(dim=1, keepdim=True).values
            start = (raw - last_lead).clamp(0, t - 1)
        pos = start + (end - start) * frac  # (B, L) fractional frame positions
        lo = pos.floor().long().clamp(0, t - 1)
        hi = (lo + 1).clamp(max=t - 1)
        w = (pos - lo.to(pos.dtype)).unsqueeze(-1)
        f_lo = torch.gather(features, 1, lo.unsqueeze(-1).expand(-1, -1, c))
        f_hi = torch.gather(features, 1, hi.unsqueeze(-1).expand(-1, -1, c))
        stages.append(f_lo * (1 - w) + f_hi * w)
    return stages


class ProcedureSegmenter(nn.Module):
    """Head + decoding: features (B, T, C) -> (logits (B, T, K-1), transitions (B, K-1))."""

    def __init__(self, kind: str, in_dim: int, num_stages: int, hidden: int, dropout: float = 0.0,
                 asformer: ASFormerSpec | None = None) -> None:
        super().__init__()
        if num_stages < 2:
            raise ConfigError("segmentation needs at least 2 stages")
        self.head = build_head(kind, in_dim, num_stages - 1, hidden, dropout, asformer)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.head(features)
        return logits, decode_transitions(logits.detach())

    def forward_stages(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features (B, T, C) -> (every stage's logits (B, S, T, K-1), the last stage's transitions (B, K-1)).
        S = 1 for single-stage heads, 1 + decoders for ASFormer."""
        if isinstance(self.head, ASFormerHead):
            logits = self.head.all_stages(features)
        else:
            logits = self.head(features)[:, None]
        return logits, decode_transitions(logits[:, -1].detach())
