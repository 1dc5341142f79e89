"""Hierarchical skeletal encoder: adjacency facts (method.md 3.1), EdgeConv, shapes, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fdpose.aqa_model.encoders.skeletal import (EdgeConv, HierarchicalSkeletalEncoder, bone_depth,
                                                hierarchy_adjacency, semantic_adjacency, skeletal_adjacency)
from fdpose.errors import ConfigError
from fdpose.skeleton import JOINT_INDEX, RINGS, SEMANTIC_LEVELS

J = JOINT_INDEX


def test_ring_adjacency_shape_and_normalisation() -> None:
    a = hierarchy_adjacency()
    assert a.shape == (4, 3, 16, 16) and a.dtype == np.float32
    for i in range(4):
        for s in (1, 2):  # directed subsets: each non-empty column sums to one
            cols = a[i, s].sum(axis=0)
            assert np.allclose(cols[cols > 0], 1.0)
        members = set(RINGS[i]) | set(RINGS[i + 1])
        assert set(np.flatnonzero(np.diag(a[i, 0]))) == members  # identity on both rings
        assert np.count_nonzero(a[i, 0]) == len(members)


def test_ring_adjacency_hand_checked_entries() -> None:
    a = hierarchy_adjacency()
    thorax = J["thorax"]
    # edge set 0: thorax -> {pelvis, upper_neck, shoulders}, 4 targets -> 1/4 each
    for name in ("pelvis", "upper_neck", "r_shoulder", "l_shoulder"):
        assert a[0, 1, J[name], thorax] == pytest.approx(0.25)
        assert a[0, 2, thorax, J[name]] == pytest.approx(1.0)  # reverse: one target per column
    assert a[0, 1, J["head_top"], thorax] == 0.0  # head_top is ring 2, not in edge set 0
    # edge set 1: ring 1 (4 joints) -> ring 2 (5 joints)
    assert a[1, 1, J["head_top"], J["pelvis"]] == pytest.approx(0.2)
    assert a[1, 2, J["pelvis"], J["head_top"]] == pytest.approx(0.25)
    # edge set 3: ring 3 -> ring 4 (ankles): 2 targets per column, 4 back
    assert a[3, 1, J["l_ankle"], J["r_wrist"]] == pytest.approx(0.5)
    assert a[3, 2, J["r_knee"], J["r_ankle"]] == pytest.approx(0.25)
    assert a[3, 0, J["thorax"], J["thorax"]] == 0.0


def test_semantic_adjacency() -> None:
    a = semantic_adjacency()
    assert a.shape == (3, 3, 16, 16)
    depth = bone_depth()
    assert depth[J["thorax"]] == 0 and depth[J["r_ankle"]] == 4 and depth[J["head_top"]] == 2
    torso, inter, distal = 0, 1, 2
    assert set(np.flatnonzero(np.diag(a[torso, 0]))) == set(SEMANTIC_LEVELS["torso"])
    # r_knee (intermediate) gathers from r_hip outwards (centrifugal) and from r_ankle inwards
    assert a[inter, 1, J["r_knee"], J["r_hip"]] == pytest.approx(1.0)
    assert a[inter, 2, J["r_knee"], J["r_ankle"]] == pytest.approx(1.0)
    assert a[distal, 1, J["l_wrist"], J["l_elbow"]] == pytest.approx(1.0)
    assert a[distal, 2].sum() == 0.0  # nothing lies beyond the distal joints
    # thorax's column in the torso centrifugal subset spreads over its 4 torso neighbours
    assert a[torso, 1, J["pelvis"], J["thorax"]] == pytest.approx(0.25)


def test_level_selection() -> None:
    assert skeletal_adjacency("rings", (0, 2)).shape == (2, 3, 16, 16)
    assert np.array_equal(skeletal_adjacency("rings", (3,))[0], hierarchy_adjacency()[3])
    with pytest.raises(ConfigError, match="skeletal_levels"):
        skeletal_adjacency("rings", (4,))


def test_edgeconv_knn_and_max_aggregation() -> None:
    conv = EdgeConv(1, 1, k=2)
    x = torch.tensor([[[0.0, 1.0, 5.0, 5.5]]])  # (N=1, C=1, V=4) points on a line
    idx = conv.neighbours(x)[0]
    assert idx[:, 0].tolist() == [0, 1, 2, 3]  # itself first (distance 0)
    assert idx[:, 1].tolist() == [1, 0, 3, 2]
    assert conv(x).shape == (1, 1, 4)


def test_encoder_shapes_gradients_and_switches(device: torch.device) -> None:
    pose = (torch.randn(2, 12, 16, 3) * 40 + 100).to(device).requires_grad_(True)
    enc = HierarchicalSkeletalEncoder(3, (8, 16), k=3).to(device)
    out = enc(pose)
    assert out.shape == (2, 12, 16) and enc.out_dim == 16
    out.square().mean().backward()
    assert pose.grad is not None and pose.grad.abs().sum() > 0
    assert enc.blocks[0].levels[0].adjacency.grad is not None  # adaptive adjacency learns
    no_edge = HierarchicalSkeletalEncoder(3, (8, 16), edgeconv=False)
    n_with = sum(p.numel() for p in enc.parameters())
    n_without = sum(p.numel() for p in no_edge.parameters())
    assert n_without < n_with and all(b.edgeconv is None for b in no_edge.blocks)
    assert len(HierarchicalSkeletalEncoder(3, (8,), levels=(0, 1)).blocks[0].levels) == 2
    semantic = HierarchicalSkeletalEncoder(2, (8,), hierarchy="semantic")
    assert semantic(torch.randn(1, 6, 16, 2)).shape == (1, 6, 8)
    with pytest.raises(ValueError, match=r"\(B, T, 16, 3\)"):
        enc(torch.randn(1, 12, 17, 3, device=device))


def test_body_frame_is_invariant_to_image_position_and_zoom():
    from fdpose.aqa_model.encoders.skeletal import to_body_frame
    from fdpose.skeleton import CENTER_JOINT

    g = torch.Generator().manual_seed(0)
    pose = torch.rand(2, 5, 16, 3, generator=g) * 100
    moved = pose.clone()
    moved[..., :2] = moved[..., :2] * 2.5 + torch.tensor([40.0, -7.0])
    a, b = to_body_frame(pose), to_body_frame(moved)
    assert a.shape == (2, 5, 16, 3)
    assert torch.allclose(a, b, atol=1e-4)
    assert torch.equal(a[..., 2], pose[..., 2])  # confidence untouched
    assert torch.allclose(a[:, 0, CENTER_JOINT, :2], torch.zeros(2, 2))  # trajectory starts at 0
    rel = pose[0, 3, 0, :2] - pose[0, 3, CENTER_JOINT, :2]
    scale = (pose[0, :, :, :2] - pose[0, :, CENTER_JOINT:CENTER_JOINT + 1, :2]).norm(dim=-1).mean()
    assert torch.allclose(a[0, 3, 0, :2], rel / scale, atol=1e-5)
    enc = HierarchicalSkeletalEncoder(3, (8,), k=3, body_frame=True).eval()
    assert torch.allclose(enc(pose), enc(moved), atol=1e-4)
