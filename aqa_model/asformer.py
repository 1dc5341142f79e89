"""ASFormer-style transition head (paper Table VI's "ASFormer" segmentation ablation).

ASFormer (Yi et al., BMVC 2021, github:ChinaYi/ASFormer) as a procedure-segmentation head: the same
contract as the other heads of :mod:`fdpose.aqa_model.segmentation`, per-frame features (B, T, C_in)
-> transition logits (B, T, K-1), each column a softmax over TIME (Eq. 7), decoded and supervised as
for the BiGRU head. HP-MCoRe's code carries the same head (6bce799 ``models/impl/asformer.py``, built by
``models/modules.py`` ``ASFormerPrediction``: 64 channels, 5 layers, 3 decoders, input channel dropout
0.3, behind ``--temporal_arch asformer``); its training step (``tools/helper.py``) indexes the head's
output as (B, T, K-1) and fails on ASFormer's stacked (S, B, T, K-1), so how the paper trained it is
not in the code. :class:`ASFormerSpec` holds the choices; the defaults are the code's.

* Encoder: input channels dropped whole in training (``channel_dropout``), a 1x1 conv to ``channels``,
  then ``layers`` blocks; block i has dilation and attention window ``w = 2^i``. A block: dilated 3-tap
  conv + ReLU (the feed-forward), instance norm, windowed self-attention added with weight alpha, 1x1
  conv, dropout, residual. Then a 1x1 conv to K-1 logits.
* Windowed attention (ASFormer's "sliding_att"), ``window``: ``"sliding"`` (HP-MCoRe's copy, whose fixed
  mask gives frame t the ``w`` frames ``[t - w//2, t - w//2 + w)``) or ``"block"`` (ASFormer's original
  mask: frames grouped in blocks of ``w``, every frame of block b attends ``[b w - w//2, (b+1) w + w//2)``);
  clipped to the clip. Query and key at half width (ASFormer's r1 = 2), value at half width, then ReLU +
  a 1x1 conv back. One head. Written here as full attention with (T, T) masks: T is 96, not thousands.
  The masking is ASFormer's soft one (:func:`soft_window_attention`: keys outside the window but in the
  block's span leak into the softmax's denominator with weight 1e-6), so that a checkpoint of the code
  computes the same here.
* Decoders (refinement stages): each reads the previous stage's prediction (see below) through a 1x1
  conv and runs ``layers`` blocks of the same shape whose attention is cross-attention: queries and keys
  from the decoder's own stream, values from the previous stage's features (the encoder's for the
  first decoder), as ASFormer's code wires it; alpha = exp(-3 s) for decoder s (0, 1, ...), so later
  decoders lean on their convolutions. Each decoder ends in its own 1x1 conv to K-1 logits.
* The previous prediction a decoder reads (``decoder_input``): ASFormer feeds class probabilities, a
  softmax over the classes of each frame; HP-MCoRe's copy does the same to the K-1 transition columns
  (``"columns"``; with K = 2 that is a constant 1, so the decoders learn from the previous features
  alone). ``"peak"``: each column's softmax over time (the loss's, ~1/T everywhere) divided by its
  maximum, a [0, 1] map that is 1 at the predicted transition frame.
* Loss (:func:`fdpose.aqa_model.segmentation.segmentation_loss_all`): ASFormer supervises every stage's
  output and sums the losses; here the transition CE of the encoder's and every decoder's logits,
  summed. ASFormer's smoothing term (T-MSE on neighbouring frames' class log-probabilities) has no
  counterpart for one-frame transition targets and is left out, as is its input channel dropout.
  The final (last decoder's) logits are the head's prediction.

No positional encoding (ASFormer's code has it switched off); the dilated convolutions carry order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from fdpose.aqa_model.config import AQAConfig
from fdpose.errors import ConfigError


@dataclass(frozen=True)
class ASFormerSpec:
    """The ASFormer head's choices (module docstring). The defaults are :class:`AQAConfig`'s ``asformer_*``
    defaults, the one place they are written (HP-MCoRe's ``ASFormerPrediction``)."""

    channels: int = AQAConfig.asformer_channels
    layers: int = AQAConfig.asformer_layers
    decoders: int = AQAConfig.asformer_decoders
    window: str = AQAConfig.asformer_window
    channel_dropout: float = AQAConfig.asformer_channel_dropout
    decoder_input: str = AQAConfig.asformer_decoder_input

    @classmethod
    def from_config(cls, cfg: AQAConfig) -> "ASFormerSpec":
        return cls(cfg.asformer_channels, cfg.asformer_layers, cfg.asformer_decoders, cfg.asformer_window,
                   cfg.asformer_channel_dropout, cfg.asformer_decoder_input)


def window_mask(num_frames: int, window: int, kind: str = "sliding",
                device: torch.device | None = None) -> torch.Tensor:
    """(T, T) bool: ``mask[i, j]`` = frame i may attend frame j. kind "sliding": j in [i - w//2, i - w//2 + w);
    "block": the block of ``window`` frames holding i, widened by window//2 each side."""
    idx = torch.arange(num_frames, device=device)
    if kind == "sliding":
        start = idx - window // 2
        end = start + window  # exclusive
    else:
        start = (idx // window) * window - window // 2  # (T,) first key of each query's window
        end = start + window + 2 * (window // 2)
    return (idx[None, :] >= start[:, None]) & (idx[None, :] < end[:, None])


class WindowedAttention(nn.Module):
    """Single-head windowed attention over time; x (B, C, T) gives q, k; values (B, C, T) -> (B, C, T)."""

    def __init__(self, channels: int, window: int, kind: str = "sliding") -> None:
        super().__init__()
        inner = max(channels // 2, 1)  # ASFormer's r1 = r2 = 2
        self.window, self.kind = window, kind
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
        return self.out(F.relu(torch.einsum("bij,bcj->bci", soft_window_attention(energy, self.window, self.kind), v)))


def soft_window_attention(energy: torch.Tensor, window: int, kind: str) -> torch.Tensor:
    """Attention weights (B, T, T) from energies (B, T, T) with ASFormer's arithmetic, which masks softly.

    Both ASFormer codes compute each query's softmax over its block's span (the ``block`` window, with the
    clip zero-padded to whole blocks and by window//2 at both ends), add log(mask + 1e-6) to the energies
    (mask 1 inside the query's window and the clip, 0 elsewhere), then multiply the softmax by the mask. So
    keys in the span but outside the window, and each zero-padded key (energy 0), still enter the
    denominator with weight 1e-6 x exp(energy): a small leak that grows with the energies. Reproduced
    here exactly: the padded keys are one extra column holding log(n_pad x 1e-6).
    """
    t = energy.shape[-1]
    span = window_mask(t, window, "block", energy.device)  # in-clip part of each query's span
    inside = window_mask(t, window, kind, energy.device) & span
    soft = energy + torch.log(inside.to(energy.dtype) + 1e-6)
    soft = soft.masked_fill(~span, float("-inf"))  # outside the span: not in the softmax at all
    n_pad = (window + 2 * (window // 2)) - span.sum(dim=1)  # (T,) zero-padded keys in each span
    pad = torch.log(n_pad.to(energy.dtype) * 1e-6).expand(*energy.shape[:-1])  # -inf where none
    weights = torch.cat([soft, pad.unsqueeze(-1)], dim=-1).softmax(dim=-1)[..., :t]
    return weights * inside.to(energy.dtype)


class ASFormerBlock(nn.Module):
    """Dilated conv feed-forward + instance norm + windowed (self or cross) attention + 1x1 conv, residual.

    x (B, C, T); values (B, C, T) for cross-attention (decoders), None for self-attention -> (B, C, T).
    """

    def __init__(self, channels: int, dilation: int, alpha: float, dropout: float, window: str = "sliding") -> None:
        super().__init__()
        self.feed_forward = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.norm = nn.InstanceNorm1d(channels, affine=False, track_running_stats=False)
        self.attention = WindowedAttention(channels, dilation, window)
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

    def __init__(self, in_dim: int, channels: int, out_dim: int, layers: int, alpha: float, dropout: float,
                 window: str = "sliding", channel_dropout: float = 0.0) -> None:
        super().__init__()
        # whole input channels dropped in training (ASFormer's channel_masking_rate, encoder only)
        self.channel_dropout = nn.Dropout1d(channel_dropout) if channel_dropout > 0 else nn.Identity()
        self.inp = nn.Conv1d(in_dim, channels, 1)
        self.blocks = nn.ModuleList(ASFormerBlock(channels, 2 ** i, alpha, dropout, window) for i in range(layers))
        self.out = nn.Conv1d(channels, out_dim, 1)

    def forward(self, x: torch.Tensor, values: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (logits (B, out_dim, T), features (B, channels, T))."""
        feat = self.inp(self.channel_dropout(x))
        for block in self.blocks:
            feat = block(feat, values)
        return self.out(feat), feat


def decoder_input(logits: torch.Tensor, kind: str) -> torch.Tensor:
    """(B, K-1, T) logits -> what the next decoder reads, (B, K-1, T) in (0, 1]: "columns" = softmax over
    the K-1 columns of each frame (the code); "peak" = softmax over time divided by its maximum."""
    if kind == "columns":
        return logits.softmax(dim=1)
    p = logits.softmax(dim=-1)
    return p / p.amax(dim=-1, keepdim=True)


class ASFormerHead(nn.Module):
    """Encoder + ``decoders`` refinement stages: features (B, T, C_in) -> logits (B, T, K-1) (the last stage's).

    :meth:`all_stages` gives every stage's logits (B, 1 + decoders, T, K-1) for the loss.
    """

    def __init__(self, in_dim: int, num_transitions: int, spec: ASFormerSpec = ASFormerSpec(),
                 dropout: float = 0.0) -> None:
        super().__init__()
        if spec.window not in ("sliding", "block") or spec.decoder_input not in ("columns", "peak"):
            raise ConfigError(f"ASFormer window must be sliding or block and decoder input columns or peak, "
                              f"got {spec.window!r}, {spec.decoder_input!r}")
        self.spec = spec
        self.encoder = _Stage(in_dim, spec.channels, num_transitions, spec.layers, 1.0, dropout, spec.window,
                              spec.channel_dropout)
        self.decoders = nn.ModuleList(_Stage(num_transitions, spec.channels, num_transitions, spec.layers,
                                             math.exp(-3 * s), dropout, spec.window) for s in range(spec.decoders))

    def all_stages(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C_in) -> (B, S, T, K-1) logits of the encoder and each decoder (S = 1 + decoders)."""
        logits, feat = self.encoder(x.transpose(1, 2))
        outs = [logits]
        for decoder in self.decoders:
            logits, feat = decoder(decoder_input(logits, self.spec.decoder_input), feat)
            outs.append(logits)
        return torch.stack(outs, dim=1).transpose(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.all_stages(x)[:, -1]
