"""A frame-level 2D backbone with a plain temporal shift (``backbone="frame2d"``; the former ``mcore``).

A RegNetY-style CNN run on every frame, with a temporal-shift module (TSM, Lin et al. 2019)
at the start of every block's residual branch: 1/``shift_div`` of the channels take the
previous frame's values and another 1/``shift_div`` the next frame's (zeros at the clip
ends), so 2D convolutions mix information across time at no extra parameters. MCoRe's code
uses RegNetY-002 with gate-shift modules instead: that network is
:mod:`fdpose.aqa_model.encoders.regnet` (what the ``mcore`` preset uses now); this gate-less
variant stays as an ablation with the RegNetY-002 widths (24, 56, 152, 368), depths (1, 1, 4, 7),
group width 8, SE ratio 0.25.

video (B, T, 3, H, W) -> per-frame features (B, T, widths[-1]).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def temporal_shift(x: torch.Tensor, num_frames: int, shift_div: int) -> torch.Tensor:
    """Shift channel groups along time. x: (B*T, C, H, W) -> same shape.

    Channels [0, C/div) take frame t-1's values, [C/div, 2C/div) frame t+1's, the rest stay.
    """
    if shift_div <= 0:
        return x
    bt, c, h, w = x.shape
    x = x.view(bt // num_frames, num_frames, c, h, w)
    fold = max(c // shift_div, 1)
    out = torch.zeros_like(x)
    out[:, 1:, :fold] = x[:, :-1, :fold]  # from the past
    out[:, :-1, fold:2 * fold] = x[:, 1:, fold:2 * fold]  # from the future
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(bt, c, h, w)


class SqueezeExcite(nn.Module):
    """Channel attention: (N, C, H, W) -> same shape."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(self.fc1(x.mean(dim=(-2, -1), keepdim=True)))
        return x * torch.sigmoid(self.fc2(s))


class ShiftYBlock(nn.Module):
    """RegNetY block (1x1, grouped 3x3, SE, 1x1) with a temporal shift before the first conv."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, group_width: int,
                 shift_div: int, se_ratio: float = 0.25) -> None:
        super().__init__()
        groups = max(out_channels // min(group_width, out_channels), 1)
        self.shift_div = shift_div
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1,
                                             groups=groups, bias=False),
                                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
        self.se = SqueezeExcite(out_channels, max(int(in_channels * se_ratio), 1))
        self.conv3 = nn.Sequential(nn.Conv2d(out_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        y = self.conv1(temporal_shift(x, num_frames, self.shift_div))
        y = self.conv3(self.se(self.conv2(y)))
        return F.relu(y + self.shortcut(x))


class Frame2DBackbone(nn.Module):
    """Per-frame RegNetY-like CNN with temporal shift: (B, T, 3, H, W) -> (B, T, out_dim)."""

    def __init__(self, widths: Sequence[int] = (24, 56, 152, 368), depths: Sequence[int] = (1, 1, 4, 7),
                 group_width: int = 8, stem: int = 32, shift_div: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(stem), nn.ReLU(inplace=True))
        blocks = []
        cin = stem
        for width, depth in zip(widths, depths):
            for d in range(depth):
                blocks.append(ShiftYBlock(cin, width, 2 if d == 0 else 1, group_width, shift_div))
                cin = width
        self.blocks = nn.ModuleList(blocks)
        self.out_dim = cin

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, t = video.shape[:2]
        x = self.stem(video.flatten(0, 1))
        for block in self.blocks:
            x = block(x, t)
        return x.mean(dim=(-2, -1)).view(b, t, -1)
