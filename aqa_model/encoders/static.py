"""Static visual encoder (SVE), method.md 3.1: ResNet-50 per frame + multi-branch downsampling.

The ResNet is written here (torchvision is not a dependency) with torchvision's parameter
names (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0`` ...), so a
torchvision-format ResNet-50 state dict loads directly from a LOCAL file
(:func:`load_torchvision_resnet`); nothing is ever downloaded. Depth (blocks per stage) and
base width are parameters so the ``tiny`` config runs the same code small.

Multi-branch downsampling module (our reading of the paper's "one conv layer and three
downsampling layers at different spatial scales"): a 1x1 convolution reduces the ResNet map
(2048 -> out_dim/2 channels for ResNet-50; a 3x3 kernel there would cost 4.7 M parameters),
then three branches downsample it by strided convolutions with stride 1, 2 and 4 (kernel =
stride, local detail at three scales), each is max-pooled over space, and the three vectors
are concatenated and projected to ``out_dim``.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

import torch
from torch import nn


from fdpose.aqa_model.encoders.weights import load_matching, read_state_dict

log = logging.getLogger(__name__)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 conv): x (N, C_in, H, W) -> (N, 4*width, H/s, W/s)."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


class ResNet(nn.Module):
    """Bottleneck ResNet trunk without the classifier: (N, 3, H, W) -> (N, out_channels, H/32, W/32).

    layers=(3, 4, 6, 3), width=64 is ResNet-50 (2048 output channels).
    """

    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = width
        for i, blocks in enumerate(layers):
            stage_width = width * 2**i
            stage = []
            for b in range(blocks):
                stage.append(Bottleneck(cin, stage_width, stride=2 if (b == 0 and i > 0) else 1))
                cin = stage_width * Bottleneck.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
        self.num_stages = len(layers)
        self.out_channels = cin
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return x


def load_torchvision_resnet(model: ResNet, path: str | os.PathLike[str]) -> None:
    """Load a torchvision-format ResNet state dict from a local file into ``model``.

    Accepts a plain state dict or a checkpoint holding one under ``state_dict``/``model``;
    strips a ``module.`` prefix and ignores the classifier (``fc.*``). Any other missing or
    unexpected key, or a shape mismatch, is an :class:`InputError` naming the file.
    """
    obj = read_state_dict(path, "ResNet")
    state = {k.removeprefix("module."): v for k, v in obj.items() if not k.removeprefix("module.").startswith("fc.")}
    load_matching(model, state, path, "ResNet")


class MultiBranchDownsample(nn.Module):
    """One conv + three downsampling branches (stride 1, 2, 4) -> spatial max -> concat -> linear.

    x: (N, C_in, H, W) -> (N, out_dim).
    """

    def __init__(self, in_channels: int, out_dim: int, mid_channels: int | None = None,
                 scales: Sequence[int] = (1, 2, 4)) -> None:
        super().__init__()
        mid = mid_channels or max(out_dim // 2, 8)
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, mid, 1, bias=False),
                                    nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.scales = tuple(scales)
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(mid, mid, s, stride=s, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
            for s in self.scales
        )
        self.project = nn.Linear(mid * len(self.scales), out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        h, w = x.shape[-2:]
        feats = []
        for s, branch in zip(self.scales, self.branches):
            # A map smaller than the stride is padded up to it so every branch sees the frame.
            pad_h, pad_w = (-h) % s if h < s else 0, (-w) % s if w < s else 0
            y = nn.functional.pad(x, (0, pad_w, 0, pad_h)) if (pad_h or pad_w) else x
            feats.append(branch(y).amax(dim=(-2, -1)))
        return self.project(torch.cat(feats, dim=1))


class StaticVisualEncoder(nn.Module):
    """Per-frame ResNet + multi-branch downsampling: video (B, T, 3, H, W) -> F_s (B, T, out_dim)."""

    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), width: int = 64, out_dim: int = 512,
                 weights: str | None = None) -> None:
        super().__init__()
        self.resnet = ResNet(layers, width)
        if weights:
            load_torchvision_resnet(self.resnet, weights)
        else:
            log.warning("static encoder: no ResNet weights given, random initialisation")
        self.downsample = MultiBranchDownsample(self.resnet.out_channels, out_dim)
        self.out_dim = out_dim

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, t = video.shape[:2]
        fmap = self.resnet(video.flatten(0, 1))
        return self.downsample(fmap).view(b, t, -1)
