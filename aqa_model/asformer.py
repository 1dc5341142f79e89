"""ASFormer-style transition head (paper Table VI's "ASFormer" segmentation ablation).

ASFormer (Yi et al., BMVC 2021, github:ChinaYi/ASFormer) as a procedure-segmentation head: the same
contract as the other heads of :mod:`fdpose.aqa_model.segmentation`, per-frame features (B, T, C_in)
-> transition logits (B, T, K-1), each column a softmax over TIME (Eq. 7), decoded and supervised as
for the BiGRU head.

* Encoder: a 1x1 conv to ``channels``, then ``layers`` blocks; block i has dilation and attention window
  ``w = 2^i``. A block: dilated 3-tap conv + ReLU (the feed-forward), instance norm, windowed
  self-attention added with weight alpha, 1x1 conv, dropout, residual. Then a 1x1 conv to K-1 logits.
* Windowed attention (ASFormer's "sliding_att"): frames are grouped in blocks of ``w``; every frame of
  block b attends to the frames ``[b w - w//2, (b+1) w + w//2)`` (its block widened by ``w//2`` each side,
  clipped to the clip). Query and key at half width (ASFormer's r1 = 2), value at half width, then ReLU +
  a 1x1 conv back. One head. Written here as full attention with a (T, T) mask: T is 96, not thousands.
* Decoders (refinement stages): each reads the previous stage's prediction (see below) through a 1x1
  conv and runs ``layers`` blocks of the same shape whose attention is cross-attention: queries and keys
  from the decoder's own stream, values from the previous stage's features (the encoder's for the
  first decoder), as ASFormer's code wires it; alpha = exp(-3 s) for decoder s (0, 1, ...), so later
  decoders lean on their convolutions. Each decoder ends in its own 1x1 conv to K-1 logits.
* The previous prediction a decoder reads: ASFormer feeds class probabilities (softmax over classes,
  in [0, 1]). Here a column is a softmax over time, whose values are ~1/T; each column is divided by
  its maximum, so the decoder sees a [0, 1] map that is 1 at the predicted transition frame.
* Loss (:func:`fdpose.aqa_model.segmentation.segmentation_loss_all`): ASFormer supervises every stage's
  output and sums the losses; here the transition CE of the encoder's and every decoder's logits,
  summed. ASFormer's smoothing term (T-MSE on neighbouring frames' class log-probabilities) has no
  counterpart for one-frame transition targets and is left out, as is its input channel dropout.
  The final (last decoder's) logits are the head's prediction.

No positional encoding (ASFormer's code has it switched off); the dilated convolutions carry order.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def window_mask(num_frames: int, window: int, device: torch.device | None = None) -> torch.Tensor:
    """(T, T) bool: ``mask[i, j]`` = frame i may attend frame j (block of ``window`` widened by window//2)."""
    idx = torch.arange(num_frames, device=device)
    start = (idx // window) * window - window // 2  # (T,) first key of each query's window
    end = start + window + 2 * (window // 2)  # exclusive
    return (idx[None, :] >= start[:, None]) & (idx[None, :] < end[:, None])


class WindowedAttention(nn.Module):
    """Single-head windowed attention over time; x (B, C, T) gives q, k; values (B, C, T) -> (B, C, T)."""

    def __init__(self, channels: int, window: int) -> None:
        super().__init__()
        inner = max(channels // 2, 1)  # ASFormer's r1 = r2 = 2
        self.window = window
        # a window of one frame attends to itself alone (weight 1 whatever q, k): ASFormer still builds
        # q/k there, which never get a gradient; they are left out, the output is the same
        self.query = nn.Conv1d(channels, inner, 1) if window > 1 else None
        self.key = nn.Conv1d(channels, inner, 1) if window > 1 else None
        self.value = nn.Conv1d(channels, inner, 1)
        self.out = nn.Conv1d(inner, channels, 1)

    def forward(self, x: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        v = self.value(values)  # (B, c, T)
        if self.query is None or self.key is None:
            return self.out(F.relu(v))
        q, k = self.query(x), self.key(x)
        energy = torch.einsum("bci,bcj->bij", q, k) / math.sqrt(q.shape[1])  # (B, T, T)
        mask = window_mask(x.shape[-1], self.window, x.device)
        attn = energy.masked_fill(~mask, float("-inf")).softmax(dim=-1)  # every row keeps itself: no NaN
        return self.out(F.relu(torch.einsum("bij,bcj->bci", attn, v)))


class ASFormerBlock(nn.Module):
    """Dilated conv feed-forward + instance norm + windowed (self or cross) attention + 1x1 conv, residual.

    x (B, C, T); values (B, C, T) for cross-attention (decoders), None for self-attention -> (B, C, T).
    """

    def __init__(self, channels: int, dilation: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.feed_forward = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.norm = nn.InstanceNorm1d(channels, affine=False, track_running_stats=False)
        self.attention = WindowedAttention(channels, dilation)
        self.conv = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)
        self.alpha = alpha

    def forward(self, x: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
        out = F.relu(self.feed_forward(x))
        normed = self.norm(out)
        out = self.alpha * self.attention(normed, normed if values is None else values) + out
        return x + self.dropout(self.conv(out))


class _Stage(nn.Module):
    """1x1 conv in -> blocks with dilations 1, 2, 4, ... -> 1x1 conv to logits. (B, C_in, T) -> two (B, ., T)."""

    def __init__(self, in_dim: int, channels: int, out_dim: int, layers: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.inp = nn.Conv1d(in_dim, channels, 1)
        self.blocks = nn.ModuleList(ASFormerBlock(channels, 2 ** i, alpha, dropout) for i in range(layers))
        self.out = nn.Conv1d(channels, out_dim, 1)

    def forward(self, x: torch.Tensor, values: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (logits (B, out_dim, T), features (B, channels, T))."""
        feat = self.inp(x)
        for block in self.blocks:
            feat = block(feat, values)
        return self.out(feat), feat


def _peak_map(logits: torch.Tensor) -> torch.Tensor:
    """(B, K-1, T) logits -> softmax over time divided by its maximum: (B, K-1, T) in (0, 1]."""
    p = logits.softmax(dim=-1)
    return p / p.amax(dim=-1, keepdim=True)


class ASFormerHead(nn.Module):
    """Encoder + ``decoders`` refinement stages: features (B, T, C_in) -> logits (B, T, K-1) (the last stage's).

    :meth:`all_stages` gives every stage's logits (B, 1 + decoders, T, K-1) for the loss.
    """

    def __init__(self, in_dim: int, num_transitions: int, channels: int = 64, layers: int = 7,
                 decoders: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = _Stage(in_dim, channels, num_transitions, layers, 1.0, dropout)
        self.decoders = nn.ModuleList(_Stage(num_transitions, channels, num_transitions, layers, math.exp(-3 * s),
                                             dropout) for s in range(decoders))

    def all_stages(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C_in) -> (B, S, T, K-1) logits of the encoder and each decoder (S = 1 + decoders)."""
        logits, feat = self.encoder(x.transpose(1, 2))
        outs = [logits]
        for decoder in self.decoders:
            logits, feat = decoder(_peak_map(logits), feat)
            outs.append(logits)
        return torch.stack(outs, dim=1).transpose(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.all_stages(x)[:, -1]
