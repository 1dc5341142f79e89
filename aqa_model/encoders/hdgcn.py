"""HD-GCN skeletal encoder as HP-MCoRe's code builds it (method.md 3.8, commit 6bce799 ``models/HDGCN.py``).

The ``hpmcore`` preset's skeletal branch (``skeletal_encoder="hdgcn"``); the paper-text encoder is
:class:`fdpose.aqa_model.encoders.skeletal.HierarchicalSkeletalEncoder`. Written from reading the
code, not copied. Shapes: pose (B, T, 16, C) pixel coordinates (the code feeds x, y: C = 2) ->
per-frame features (B, T, 128) (mean over joints of the last unit).

Structure:

* input BatchNorm over the (joint, channel) pairs (``data_bn``), then five TCN-GCN units of widths
  64, 64, 64, 64, 128 (the first without residual, the last with a 1x1 conv + BN residual);
* a unit = hierarchical graph convolution (:class:`HDGraphConv`) -> multi-scale temporal
  convolution (:class:`MultiScaleTemporalConv`) + residual, ReLU;
* :class:`HDGraphConv`: for each of the 4 hierarchy edge sets of :func:`hierarchy_adjacency` (five
  rings around the thorax, adjacency (4, 3, 16, 16), learnable), a 1x1 down-projection to
  C/4 channels, then three subset graph convolutions (identity, forward, reverse; 1x1 conv + BN
  each) and an EdgeConv branch (k = 5 nearest joints in feature space on time-averaged
  features), concatenated back to C channels. The 4 edge-set outputs are merged by attention over
  the hierarchy (:class:`HierarchyAttention`, the code's ``AHA``: per edge set, the mean feature
  of its two rings, an EdgeConv (k = 1) across the edge sets, a sigmoid gate per channel and edge
  set; summed) in every unit but the first, which sums them; BN (initialised at 1e-6, so a unit
  starts as its residual), residual, ReLU.
* ``num_classes`` > 0 adds the code's classifier head (Linear(128, classes) on the clip mean); it
  is built there but its loss is never added, so it only counts parameters and is not returned.

The code's ``AHA`` indexes the rings with 1-based NTU indices minus one although the FineDiving
rings are 0-based (joint 0 becomes -1, i.e. joint 15): ``aha_joint_offset=-1`` keeps that; 0
uses the rings as written.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from fdpose.aqa_model.encoders.skeletal import EdgeConv, hierarchy_adjacency
from fdpose.skeleton import NUM_JOINTS, RINGS

#: widths of the code's five units (base 64, last 2 x 64)
HDGCN_WIDTHS: tuple[int, ...] = (64, 64, 64, 64, 128)


def _init_conv_bn(module: nn.Module, bn_scale: float = 1.0) -> None:
    """The code's init: 2D convs Kaiming-normal (fan_out) with zero bias, BatchNorm weight ``bn_scale``, bias 0
    (1D convs keep PyTorch's default, as the code's loop only visits ``nn.Conv2d``)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.constant_(m.weight, bn_scale)
            nn.init.zeros_(m.bias)


class TemporalConv(nn.Module):
    """(k x 1) dilated temporal conv without bias + a separate bias + BN: (N, C, T, V) -> (N, C', T, V)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, dilation: int = 1) -> None:
        super().__init__()
        pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel, 1), padding=(pad, 0), dilation=(dilation, 1),
                              bias=False)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x) + self.bias)


class MultiScaleTemporalConv(nn.Module):
    """Four branches of C/4 channels: two dilated temporal convs (dilations 1, 2), a 3-frame max-pool
    and a 1x1 conv, concatenated (no residual, as the code calls it). (N, C, T, V) -> same shape."""

    def __init__(self, channels: int, kernel: int = 5, dilations: Sequence[int] = (1, 2)) -> None:
        super().__init__()
        n_branches = len(dilations) + 2
        if channels % n_branches:
            raise ValueError(f"temporal conv width {channels} must divide by {n_branches} branches")
        c = channels // n_branches

        def head() -> list[nn.Module]:
            return [nn.Conv2d(channels, c, 1), nn.BatchNorm2d(c), nn.ReLU()]

        self.branches = nn.ModuleList(nn.Sequential(*head(), TemporalConv(c, c, kernel, d)) for d in dilations)
        self.branches.append(nn.Sequential(*head(), nn.MaxPool2d((3, 1), 1, (1, 0)), nn.BatchNorm2d(c)))
        self.branches.append(nn.Sequential(nn.Conv2d(channels, c, 1), nn.BatchNorm2d(c)))
        # the code's weights_init: BN weights ~ N(1, 0.02)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class HierarchyAttention(nn.Module):
    """Attention over the L edge sets (the code's AHA): (N, C, L, T, V) -> (N, C, T, V)."""

    def __init__(self, channels: int, edge_set_joints: Sequence[Sequence[int]]) -> None:
        super().__init__()
        inter = channels // 4
        self.edge_set_joints = [list(j) for j in edge_set_joints]
        self.down = nn.Sequential(nn.Conv2d(channels, inter, 1), nn.BatchNorm2d(inter), nn.ReLU())
        self.edge = EdgeConv(inter, inter, k=1)
        self.aggregate = nn.Conv1d(inter, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, l_sets = x.shape[:3]
        xt = self.down(x.amax(dim=3))  # max over time -> (N, C/4, L, V)
        nodes = torch.stack([xt[:, :, i, joints].mean(dim=-1) for i, joints in enumerate(self.edge_set_joints)],
                            dim=2)  # (N, C/4, L): one node per edge set
        gate = torch.sigmoid(self.aggregate(self.edge(nodes))).view(n, c, l_sets, 1, 1)
        return (x * gate).sum(dim=2)


class HDGraphConv(nn.Module):
    """Per edge set: 1x1 down to C/4, three subset graph convs + EdgeConv(k); merged over the edge sets.

    x (N, C_in, T, V) -> (N, C_out, T, V). adjacency (L, 3, V, V), learnable.
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency: np.ndarray, attention: bool,
                 edge_set_joints: Sequence[Sequence[int]], k: int = 5) -> None:
        super().__init__()
        n_sets, n_subsets = adjacency.shape[:2]
        inter = out_channels // (n_subsets + 1)
        self.adjacency = nn.Parameter(torch.from_numpy(np.ascontiguousarray(adjacency, np.float32)))
        self.down = nn.ModuleList(nn.Sequential(nn.Conv2d(in_channels, inter, 1), nn.BatchNorm2d(inter), nn.ReLU())
                                  for _ in range(n_sets))
        self.subsets = nn.ModuleList(
            nn.ModuleList(nn.Sequential(nn.Conv2d(inter, inter, 1), nn.BatchNorm2d(inter)) for _ in range(n_subsets))
            for _ in range(n_sets))
        self.edges = nn.ModuleList(EdgeConv(inter, inter, k) for _ in range(n_sets))
        self.attention = HierarchyAttention(out_channels, edge_set_joints) if attention else None
        self.residual: nn.Module = (nn.Identity() if in_channels == out_channels else
                                    nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)))
        self.bn = nn.BatchNorm2d(out_channels)
        _init_conv_bn(self)
        nn.init.constant_(self.bn.weight, 1e-6)  # the unit starts as its residual (code: bn_init(self.bn, 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        per_set = []
        for i, (down, subsets, edge) in enumerate(zip(self.down, self.subsets, self.edges)):
            xd = down(x)
            ys = [conv(torch.einsum("nctu,vu->nctv", xd, self.adjacency[i, s])) for s, conv in enumerate(subsets)]
            ys.append(edge(xd.mean(dim=2)).unsqueeze(2).expand(-1, -1, t, -1))  # per joint, repeated over time
            per_set.append(torch.cat(ys, dim=1))
        out = torch.stack(per_set, dim=2)  # (N, C, L, T, V)
        out = self.attention(out) if self.attention is not None else out.sum(dim=2)
        return torch.relu(self.bn(out) + self.residual(x))


class TCNGCNUnit(nn.Module):
    """relu(MSTCN(HDGraphConv(x)) + residual(x)); residual: none (first unit), identity, or 1x1 conv + BN."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: np.ndarray, attention: bool, residual: bool,
                 edge_set_joints: Sequence[Sequence[int]], k: int, temporal_kernel: int) -> None:
        super().__init__()
        self.gcn = HDGraphConv(in_channels, out_channels, adjacency, attention, edge_set_joints, k)
        self.tcn = MultiScaleTemporalConv(out_channels, temporal_kernel)
        self.residual: nn.Module | None = None
        if residual:
            self.residual = (nn.Identity() if in_channels == out_channels else
                             nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)))
            _init_conv_bn(self.residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        return torch.relu(y + self.residual(x) if self.residual is not None else y)


class HDGCNEncoder(nn.Module):
    """pose (B, T, 16, C) -> (B, T, out_dim): the code's HD-GCN (module docstring)."""

    def __init__(self, pose_channels: int = 2, widths: Sequence[int] = HDGCN_WIDTHS, k: int = 5,
                 temporal_kernel: int = 5, num_classes: int = 0, aha_joint_offset: int = -1) -> None:
        super().__init__()
        adjacency = hierarchy_adjacency(RINGS)  # (4, 3, 16, 16)
        # AHA's node of edge set i: the joints of rings i and i+1 (shifted as the code shifts them)
        edge_set_joints = [[(j + aha_joint_offset) % NUM_JOINTS for j in RINGS[i] + RINGS[i + 1]]
                           for i in range(len(RINGS) - 1)]
        self.pose_channels = pose_channels
        self.data_bn = nn.BatchNorm1d(NUM_JOINTS * pose_channels)
        units = []
        cin = pose_channels
        for i, cout in enumerate(widths):
            units.append(TCNGCNUnit(cin, cout, adjacency, attention=i > 0, residual=i > 0,
                                    edge_set_joints=edge_set_joints, k=k, temporal_kernel=temporal_kernel))
            cin = cout
        self.units = nn.Sequential(*units)
        self.out_dim = cin
        self.classifier: nn.Linear | None = None
        if num_classes:
            self.classifier = nn.Linear(cin, num_classes)
            nn.init.normal_(self.classifier.weight, 0.0, math.sqrt(2.0 / num_classes))

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        b, t, v, c = pose.shape
        if v != NUM_JOINTS or c != self.pose_channels:
            raise ValueError(f"pose must be (B, T, {NUM_JOINTS}, {self.pose_channels}), got {tuple(pose.shape)}")
        x = self.data_bn(pose.permute(0, 2, 3, 1).reshape(b, v * c, t))
        x = x.reshape(b, v, c, t).permute(0, 2, 3, 1)  # (B, C, T, V)
        return self.units(x).mean(dim=-1).transpose(1, 2)  # (B, T, out_dim)
