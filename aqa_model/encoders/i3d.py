"""Dynamic visual encoder (DVE), method.md 3.1: Inception-I3D over overlapping clips.

For FineDiving the 96 frames are cut into 9 clips of 16 frames starting at 0, 10, ..., 80
(public code). Every clip goes through the Inception-I3D trunk (up to ``Mixed_5c``); the
trunk's temporal positions inside a clip are averaged, giving one feature map per clip. Three
"mixed convolution" layers then run along the clip axis before spatial max-pooling, widening
the temporal receptive field across clips. Our reading of "mixed convolution": a temporal
(3x1x1) and a spatial (1x3x3) convolution in parallel inside a 4x channel bottleneck,
summed, BatchNorm, residual, ReLU (:class:`MixedTemporalConv`).
With ``pool="avg"`` (HP-MCoRe's code) there are no mixed convolutions: each clip's map is
averaged over time and space to one vector. The per-clip features (B, N, C) are finally interpolated linearly from the clip centres onto
the T sampled frames so every stream shares one time axis (stage cutting works on frames).

Parameter names follow ``kinetics_i3d_pytorch`` (hassony2) so its ``model_rgb.pth`` loads from
a LOCAL path: ``conv3d_1a_7x7.conv3d.weight``, ``conv3d_1a_7x7.batch3d.running_mean``,
``mixed_3b.branch_0.conv3d.weight``, ``mixed_3b.branch_1.1.batch3d.bias``,
``mixed_3b.branch_3.1.conv3d.weight`` ...; the Kinetics classifier ``conv3d_0c_1x1.*`` is
ignored. Padding is TensorFlow "SAME", computed from the input size at run time. ``width``
scales every channel count (the ``tiny`` config uses 1/16).
"""

from __future__ import annotations

import logging
import math
import os
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


from fdpose.aqa_model.encoders.weights import load_i3d

log = logging.getLogger(__name__)

#: Inception-v1 mixed blocks: name, input block, branch widths (b0, b1a, b1b, b2a, b2b, b3).
_MIXED: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("mixed_5c", (384, 192, 384, 48, 128, 128)),
)
#: Max-pools (kernel, stride) inserted before the named mixed block.
_POOL_BEFORE = {"mixed_4b": ("maxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
                "mixed_5b": ("maxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2))}


def same_padding(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int]) -> list[int]:
    """TF 'SAME' padding for (T, H, W) as F.pad's (W_lo, W_hi, H_lo, H_hi, T_lo, T_hi)."""
    pads: list[int] = []
    for n, k, s in zip(reversed(size), reversed(kernel), reversed(stride)):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return pads


class Unit3D(nn.Module):
    """Conv3d (TF SAME) + BatchNorm3d (eps 1e-3, as the TF model) + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: Sequence[int] = (1, 1, 1),
                 stride: Sequence[int] = (1, 1, 1), relu: bool = True, use_bn: bool = True, bias: bool = False) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, stride=self.stride, bias=bias)
        self.batch3d = nn.BatchNorm3d(out_channels, eps=1e-3) if use_bn else None
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride)))
        if self.batch3d is not None:
            x = self.batch3d(x)
        return F.relu(x) if self.relu else x


class MaxPool3dSame(nn.Module):
    """Max-pool with TF SAME padding (padded cells never win)."""

    def __init__(self, kernel: Sequence[int], stride: Sequence[int]) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride), value=float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride)


class Mixed(nn.Module):
    """Inception block: 1x1 | 1x1->3x3x3 | 1x1->3x3x3 | maxpool->1x1, concatenated on channels."""

    def __init__(self, in_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3 = widths
        self.branch_0 = Unit3D(in_channels, b0)
        self.branch_1 = nn.Sequential(Unit3D(in_channels, b1a), Unit3D(b1a, b1b, (3, 3, 3)))
        self.branch_2 = nn.Sequential(Unit3D(in_channels, b2a), Unit3D(b2a, b2b, (3, 3, 3)))
        self.branch_3 = nn.Sequential(MaxPool3dSame((3, 3, 3), (1, 1, 1)), Unit3D(in_channels, b3))
        self.out_channels = b0 + b1b + b2b + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch_0(x), self.branch_1(x), self.branch_2(x), self.branch_3(x)], dim=1)


class InceptionI3D(nn.Module):
    """Inception-I3D trunk up to Mixed_5c: clips (N, 3, L, H, W) -> (N, C, L/8, H/32, W/32).

    C = 1024 at width 1.0. bn_eps: BatchNorm epsilon, 1e-3 as the TF model, 1e-5 in the PyTorch port
    HP-MCoRe's code runs (kinetics_i3d_pytorch keeps nn.BatchNorm3d's default).
    """

    def __init__(self, width: float = 1.0, bn_eps: float = 1e-3) -> None:
        super().__init__()

        def w(c: int) -> int:
            return max(1, int(round(c * width)))

        self.conv3d_1a_7x7 = Unit3D(3, w(64), (7, 7, 7), (2, 2, 2))
        self.maxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.conv3d_2b_1x1 = Unit3D(w(64), w(64))
        self.conv3d_2c_3x3 = Unit3D(w(64), w(192), (3, 3, 3))
        self.maxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        cin = w(192)
        self.order: list[str] = ["conv3d_1a_7x7", "maxPool3d_2a_3x3", "conv3d_2b_1x1", "conv3d_2c_3x3",
                                 "maxPool3d_3a_3x3"]
        for name, widths in _MIXED:
            if name in _POOL_BEFORE:
                pool_name, kernel, stride = _POOL_BEFORE[name]
                setattr(self, pool_name, MaxPool3dSame(kernel, stride))
                self.order.append(pool_name)
            block = Mixed(cin, [w(c) for c in widths])
            setattr(self, name, block)
            self.order.append(name)
            cin = block.out_channels
        self.out_channels = cin
        for m in self.modules():
            if isinstance(m, nn.BatchNorm3d):
                m.eps = bn_eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = getattr(self, name)(x)
        return x


def load_kinetics_i3d(model: InceptionI3D, path: str | os.PathLike[str]) -> None:
    """Load a Kinetics-400 RGB I3D file into the trunk: kinetics_i3d_pytorch's ``model_rgb.pth``
    (our names) or piergiaj's pytorch-i3d ``rgb_imagenet.pt``, recognised from the keys.

    The key maps, prefix stripping, classifier dropping and the one-line error naming the first
    key that does not fit live in :func:`fdpose.aqa_model.encoders.weights.load_i3d`.
    """
    load_i3d(model, path)


class MixedTemporalConv(nn.Module):
    """Bottlenecked mixed convolution: 1x1x1 reduce, temporal (3x1x1) + spatial (1x3x3) in
    parallel, 1x1x1 expand, BN, residual, ReLU. The 4x bottleneck keeps the three layers at
    ~1.3 M parameters each for C=1024 (a full 3x3x3 layer would cost 28 M).

    x: (B, C, N_clips, h, w) -> same shape.
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        mid = max(channels // reduction, 4)
        self.reduce = nn.Sequential(nn.Conv3d(channels, mid, 1, bias=False), nn.BatchNorm3d(mid), nn.ReLU())
        self.temporal = nn.Conv3d(mid, mid, (3, 1, 1), padding=(1, 0, 0), bias=False)
        self.spatial = nn.Conv3d(mid, mid, (1, 3, 3), padding=(0, 1, 1), bias=False)
        self.expand = nn.Sequential(nn.BatchNorm3d(mid), nn.ReLU(), nn.Conv3d(mid, channels, 1, bias=False),
                                    nn.BatchNorm3d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.reduce(x)
        return F.relu(x + self.expand(self.temporal(y) + self.spatial(y)))


def clip_to_frame_weights(clip_starts: Sequence[int], clip_len: int, num_frames: int) -> np.ndarray:
    """(T, N) linear-interpolation weights from clip centres to frames (held flat at the ends)."""
    centres = np.asarray(clip_starts, np.float64) + (clip_len - 1) / 2.0
    weights = np.zeros((num_frames, len(centres)), np.float32)
    for t in range(num_frames):
        if t <= centres[0]:
            weights[t, 0] = 1.0
        elif t >= centres[-1]:
            weights[t, -1] = 1.0
        else:
            n = int(np.searchsorted(centres, t, side="right") - 1)
            a = (t - centres[n]) / (centres[n + 1] - centres[n])
            weights[t, n], weights[t, n + 1] = 1.0 - a, a
    return weights


class DynamicVisualEncoder(nn.Module):
    """Video (B, T, 3, H, W) -> F_d per frame (B, T, C) and per clip (B, N, C)."""

    def __init__(self, num_frames: int = 96, clip_len: int = 16, clip_stride: int = 10, width: float = 1.0,
                 mixed_layers: int = 3, weights: str | None = None,
                 clip_starts: Sequence[int] | None = None, pool: str = "max", bn_eps: float = 1e-3) -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise ValueError(f"I3D pool must be max or avg, got {pool!r}")
        # "max": mixed convs across clips then spatial max-pool (paper text); "avg": the code's 3D
        # average pooling of each clip's Mixed_5c map (AvgPool3d over its whole 2x4x4 map at 112 px)
        self.pool = pool
        # explicit starts (MTL-AQA's 10 segments of 103 frames) or every clip_stride frames
        self.clip_starts = (list(clip_starts) if clip_starts
                            else list(range(0, num_frames - clip_len + 1, clip_stride)))
        self.clip_len = clip_len
        self.num_frames = num_frames
        self.i3d = InceptionI3D(width, bn_eps)
        if weights:
            load_kinetics_i3d(self.i3d, weights)
        else:
            log.warning("dynamic encoder: no I3D weights given, random initialisation")
        self.mixed = nn.Sequential(*(MixedTemporalConv(self.i3d.out_channels) for _ in range(mixed_layers)))
        self.register_buffer("frame_weights", torch.from_numpy(
            clip_to_frame_weights(self.clip_starts, clip_len, num_frames)), persistent=False)
        self.out_dim = self.i3d.out_channels

    def clip_features(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) -> (B, N_clips, C)."""
        b, t = video.shape[:2]
        if t != self.num_frames:
            raise ValueError(f"video must have {self.num_frames} frames, got {t}")
        x = video.transpose(1, 2)  # (B, 3, T, H, W)
        clips = torch.cat([x[:, :, s:s + self.clip_len] for s in self.clip_starts])  # (N*B, 3, L, H, W)
        fmap = self.i3d(clips).mean(dim=2)  # average the clip's own temporal positions
        n = len(self.clip_starts)
        if self.pool == "avg":  # then space: one vector per clip, clips never see each other
            return fmap.mean(dim=(-2, -1)).view(n, b, -1).transpose(0, 1)
        fmap = fmap.view(n, b, *fmap.shape[1:]).permute(1, 2, 0, 3, 4)  # (B, C, N, h, w)
        fmap = self.mixed(fmap)
        return fmap.amax(dim=(-2, -1)).transpose(1, 2)  # spatial max-pool -> (B, N, C)

    def to_frames(self, clip_features: torch.Tensor) -> torch.Tensor:
        """(B, N_clips, C) -> (B, T, C): linear from the clip centres onto the sampled frames."""
        return torch.einsum("tn,bnc->btc", self.frame_weights, clip_features)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.to_frames(self.clip_features(video))
