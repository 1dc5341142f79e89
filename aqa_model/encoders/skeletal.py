"""Hierarchical skeletal encoder (HSE), method.md 3.1 (paper Eq. 3-5).

The skeleton hierarchy comes from :mod:`fdpose.skeleton` (no joint index is written here).
Two hierarchies are available:

* ``"rings"`` (public HP-MCoRe config, built on HD-GCN): the five rings around the thorax
  (``RINGS``). Edge set i joins ring i and ring i+1 and has three subsets: identity (self
  loops on both rings), forward/centrifugal (every joint of ring i -> every joint of ring
  i+1) and reverse/centripetal (every joint of ring i+1 -> every joint of ring i); the
  directed subsets are column-normalised. Adjacency shape (4, 3, 16, 16).
  Connecting *all* joints of adjacent levels is the paper's "adjacent-level expansion".
* ``"semantic"`` (paper text): the three motion-amplitude levels torso / intermediate /
  distal (``SEMANTIC_LEVELS``). Level l's graph gathers into the joints of level l along
  the physical ``BONES``: identity, centripetal (from a joint further from the centre joint)
  and centrifugal (from a joint nearer to it), column-normalised. Shape (3, 3, 16, 16).

Convention: ``A[v, u] != 0`` means joint u sends a message to joint v, i.e. a graph
convolution computes ``y[..., v] = sum_u x[..., u] * A[v, u]`` (einsum ``nctu,vu->nctv``).
"Column-normalised" means every non-empty column u of a directed subset sums to one.

One encoder block (Eq. 4-5): one graph-convolution branch per level (the three subsets, each
with its own 1x1 convolution, summed) plus a point-wise branch (1x1 convolution, no graph);
the branches are concatenated along channels and fused by a 1x1 convolution (Eq. 4). EdgeConv
(DGCNN) then works on the time-averaged per-joint features: each joint's k nearest joints in
feature space (over all 16 joints, so distant joints can relate), edge features
``[x_j - x_i, x_i]``, a shared 1x1 convolution and max aggregation over the k neighbours
(Eq. 5); the result is broadcast over time and added. A temporal convolution and a residual
close the block. The encoder returns per-frame features averaged over joints.
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

import numpy as np
import torch
from torch import nn

from fdpose.errors import ConfigError
from fdpose.skeleton import BONES, CENTER_JOINT, NUM_JOINTS, RINGS, SEMANTIC_LEVELS

SUBSETS = ("identity", "centrifugal", "centripetal")


def _column_normalise(a: np.ndarray) -> np.ndarray:
    """Divide every non-empty column by its sum (the public code's ``normalize_digraph``)."""
    col = a.sum(axis=0)
    out = a.copy()
    nz = col > 0
    out[:, nz] = a[:, nz] / col[nz]
    return out


def hierarchy_adjacency(groups: Sequence[Sequence[int]] = RINGS, num_joints: int = NUM_JOINTS) -> np.ndarray:
    """HD-GCN hierarchical edge sets between adjacent levels: (L-1, 3, V, V) float32.

    Subset 0 identity on levels i and i+1 (unnormalised 0/1), subset 1 forward
    (level i -> level i+1), subset 2 reverse (level i+1 -> level i), both column-normalised.
    """
    if len(groups) < 2:
        raise ConfigError("a hierarchy needs at least two levels")
    sets = []
    for i in range(len(groups) - 1):
        inner, outer = list(groups[i]), list(groups[i + 1])
        ident = np.zeros((num_joints, num_joints), np.float64)
        for j in inner + outer:
            ident[j, j] = 1.0
        fwd = np.zeros_like(ident)
        rev = np.zeros_like(ident)
        for u in inner:
            for v in outer:
                fwd[v, u] = 1.0  # u (inner) sends to v (outer): centrifugal
                rev[u, v] = 1.0  # v (outer) sends to u (inner): centripetal
        sets.append(np.stack([ident, _column_normalise(fwd), _column_normalise(rev)]))
    return np.stack(sets).astype(np.float32)


def bone_depth(center: int = CENTER_JOINT, bones: Sequence[tuple[int, int]] = BONES,
               num_joints: int = NUM_JOINTS) -> np.ndarray:
    """(V,) hop distance of every joint from ``center`` along the bones."""
    nbrs: dict[int, list[int]] = {j: [] for j in range(num_joints)}
    for a, b in bones:
        nbrs[a].append(b)
        nbrs[b].append(a)
    depth = np.full(num_joints, -1, np.int64)
    depth[center] = 0
    queue = deque([center])
    while queue:
        u = queue.popleft()
        for v in nbrs[u]:
            if depth[v] < 0:
                depth[v] = depth[u] + 1
                queue.append(v)
    return depth


def semantic_adjacency(levels: Sequence[Sequence[int]] = tuple(SEMANTIC_LEVELS.values()),
                       bones: Sequence[tuple[int, int]] = BONES, center: int = CENTER_JOINT,
                       num_joints: int = NUM_JOINTS) -> np.ndarray:
    """Per-semantic-level partitions (identity / centrifugal / centripetal): (L, 3, V, V) float32."""
    depth = bone_depth(center, bones, num_joints)
    sets = []
    for level in levels:
        members = set(level)
        ident = np.zeros((num_joints, num_joints), np.float64)
        out_ = np.zeros_like(ident)
        in_ = np.zeros_like(ident)
        for j in members:
            ident[j, j] = 1.0
        for a, b in bones:
            for u, v in ((a, b), (b, a)):
                if v not in members:
                    continue
                if depth[u] < depth[v]:
                    out_[v, u] = 1.0  # from nearer the centre outwards
                else:
                    in_[v, u] = 1.0  # from further out towards the centre
        sets.append(np.stack([ident, _column_normalise(out_), _column_normalise(in_)]))
    return np.stack(sets).astype(np.float32)


def skeletal_adjacency(hierarchy: str = "rings", levels: Sequence[int] = ()) -> np.ndarray:
    """The adjacency the encoder uses: all branches of ``hierarchy`` or the selected ``levels``."""
    if hierarchy == "rings":
        adj = hierarchy_adjacency(RINGS)
    elif hierarchy == "semantic":
        adj = semantic_adjacency()
    else:
        raise ConfigError(f"unknown skeletal hierarchy {hierarchy!r}")
    if levels:
        bad = [i for i in levels if not 0 <= i < adj.shape[0]]
        if bad or len(set(levels)) != len(levels):
            raise ConfigError(f"skeletal_levels {tuple(levels)} invalid for {adj.shape[0]} {hierarchy} branches")
        adj = adj[list(levels)]
    return adj


class LevelGraphConv(nn.Module):
    """One level's graph convolution (Eq. 3): sum over subsets of W_s (X A_s); adaptive A.

    x: (N, C_in, T, V) -> (N, C_out, T, V).
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency: np.ndarray) -> None:
        super().__init__()
        # Learnable, initialised from the hierarchy (as HD-GCN's adaptive PA).
        self.adjacency = nn.Parameter(torch.from_numpy(np.ascontiguousarray(adjacency)))
        self.convs = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(adjacency.shape[0]))
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = 0
        for s, conv in enumerate(self.convs):
            out = out + conv(torch.einsum("nctu,vu->nctv", x, self.adjacency[s]))
        return self.bn(out)


class EdgeConv(nn.Module):
    """DGCNN EdgeConv over joints (Eq. 5): kNN in feature space, [x_j - x_i, x_i], max over k.

    x: (N, C, V) -> (N, C_out, V).
    """

    def __init__(self, in_channels: int, out_channels: int, k: int) -> None:
        super().__init__()
        self.k = k
        self.mlp = nn.Sequential(
            nn.Conv2d(2 * in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.2),
        )

    def neighbours(self, x: torch.Tensor) -> torch.Tensor:
        """(N, V, k) indices of each joint's k nearest joints (itself included, distance 0)."""
        dist = torch.cdist(x.transpose(1, 2), x.transpose(1, 2))  # (N, V, V)
        k = min(self.k, x.shape[-1])
        return dist.topk(k, dim=-1, largest=False).indices

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, v = x.shape
        idx = self.neighbours(x.detach())  # the graph is a selection, not differentiated
        xt = x.transpose(1, 2)  # (N, V, C)
        nbr = torch.gather(xt.unsqueeze(1).expand(n, v, v, c), 2, idx.unsqueeze(-1).expand(-1, -1, -1, c))
        centre = xt.unsqueeze(2).expand_as(nbr)  # (N, V, k, C)
        edge = torch.cat([nbr - centre, centre], dim=-1).permute(0, 3, 1, 2)  # (N, 2C, V, k)
        return self.mlp(edge).max(dim=-1).values


class HierarchicalBlock(nn.Module):
    """Level-wise GCN branches + point-wise branch, concat + fuse (Eq. 4), EdgeConv (Eq. 5), TCN.

    x: (N, C_in, T, V) -> (N, C_out, T, V).
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency: np.ndarray,
                 edgeconv: bool, k: int, temporal_kernel: int) -> None:
        super().__init__()
        self.levels = nn.ModuleList(LevelGraphConv(in_channels, out_channels, a) for a in adjacency)
        self.pointwise = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        n_branches = len(self.levels) + 1
        self.fuse = nn.Sequential(
            nn.ReLU(), nn.Conv2d(n_branches * out_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
        )
        self.edgeconv = EdgeConv(out_channels, out_channels, k) if edgeconv else None
        pad = (temporal_kernel - 1) // 2
        self.temporal = nn.Sequential(
            nn.ReLU(), nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), padding=(pad, 0)),
            nn.BatchNorm2d(out_channels),
        )
        self.residual: nn.Module = (
            nn.Identity() if in_channels == out_channels
            else nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [level(x) for level in self.levels] + [self.pointwise(x)]
        y = self.fuse(torch.cat(branches, dim=1))
        if self.edgeconv is not None:
            y = y + self.edgeconv(y.mean(dim=2)).unsqueeze(2)  # per-joint, broadcast over time
        return self.relu(self.temporal(y) + self.residual(x))


def to_body_frame(pose: torch.Tensor) -> torch.Tensor:
    """Pixel poses -> body-relative poses, (B, T, 16, C) -> (B, T, 16, C).

    Every joint but the centre joint becomes its offset from the centre joint in the same
    frame; the centre joint keeps the trajectory (its offset from its first-frame position).
    Both are divided by the clip's body size (mean centre-to-joint distance over the clip).
    Why: in pixel coordinates the diver's position and the camera zoom dominate the variance
    and the batch normalisation, so the small execution cues (leg separation, knee bend,
    body angle at entry) vanish; in the body frame they are the signal, and the take-off
    height survives in the centre joint's trajectory. Channels past x, y (confidence) are kept.
    """
    xy = pose[..., :2]
    centre = xy[:, :, CENTER_JOINT:CENTER_JOINT + 1]  # (B, T, 1, 2)
    rel = xy - centre
    scale = rel.norm(dim=-1).mean(dim=(1, 2)).clamp_min(1e-3).view(-1, 1, 1, 1)  # (B, 1, 1, 1)
    trajectory = centre - centre[:, :1]
    rel = torch.cat([rel[:, :, :CENTER_JOINT], trajectory, rel[:, :, CENTER_JOINT + 1:]], dim=2)
    return torch.cat([rel / scale, pose[..., 2:]], dim=-1)


class HierarchicalSkeletalEncoder(nn.Module):
    """Pose sequence -> per-frame skeletal features F_p.

    pose: (B, T, 16, C_pose) pixel coordinates (+ confidence) -> (B, T, out_dim).
    """

    def __init__(self, pose_channels: int = 3, channels: Sequence[int] = (64, 64, 64, 64, 128),
                 hierarchy: str = "rings", levels: Sequence[int] = (), edgeconv: bool = True,
                 k: int = 5, temporal_kernel: int = 5, body_frame: bool = False) -> None:
        super().__init__()
        adjacency = skeletal_adjacency(hierarchy, levels)
        self.register_buffer("initial_adjacency", torch.from_numpy(adjacency), persistent=False)
        self.pose_channels = pose_channels
        self.body_frame = body_frame
        # Input normalisation over (joint, channel) pairs: pixel coordinates vary per video.
        self.data_bn = nn.BatchNorm1d(NUM_JOINTS * pose_channels)
        blocks = []
        cin = pose_channels
        for cout in channels:
            blocks.append(HierarchicalBlock(cin, cout, adjacency, edgeconv, k, temporal_kernel))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.out_dim = cin

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        b, t, v, c = pose.shape
        if v != NUM_JOINTS or c != self.pose_channels:
            raise ValueError(f"pose must be (B, T, {NUM_JOINTS}, {self.pose_channels}), got {tuple(pose.shape)}")
        if self.body_frame:
            pose = to_body_frame(pose)
        x = pose.permute(0, 2, 3, 1).reshape(b, v * c, t)
        x = self.data_bn(x).reshape(b, v, c, t).permute(0, 2, 3, 1)  # (B, C, T, V)
        x = self.blocks(x)
        return x.mean(dim=-1).transpose(1, 2)  # (B, T, C_out)
