"""Pose-guided fusion (Eq. 8-11) and the contrastive losses (Eq. 12-15)."""

from __future__ import annotations

import math

import pytest
import torch

from fdpose.aqa_model.contrastive import (StageContrast, infonce_loss, stagewise_contrastive_loss,
                                          triplet_stage_loss)
from fdpose.aqa_model.fusion import PoseGuidedFusion


def test_fusion_shapes_lambda_gradient_and_modes(device: torch.device) -> None:
    visual = torch.randn(2, 5, 16, device=device, requires_grad=True)
    pose = torch.randn(2, 5, 6, device=device, requires_grad=True)
    fuse = PoseGuidedFusion(16, 6, heads=2, mode="weighted", lambda_init=0.5).to(device)
    out = fuse(visual, pose)
    assert out.shape == (2, 5, 16)
    out.square().sum().backward()
    assert fuse.pose_lambda.grad is not None and fuse.pose_lambda.grad.abs() > 0
    assert pose.grad is not None and pose.grad.abs().sum() > 0
    a = fuse.attention_map(visual, pose)
    assert a.shape == (2, 2, 5, 5)
    assert torch.allclose(a.sum(-1), torch.full_like(a.sum(-1), 1.5))  # rows of A_v + 0.5 A_p
    assert torch.allclose(fuse.attention_map(visual, None).sum(-1), torch.ones(2, 2, 5, device=device))


def test_fusion_variants() -> None:
    visual, pose = torch.randn(1, 4, 8), torch.randn(1, 4, 3)
    add = PoseGuidedFusion(8, 3, mode="addition")
    assert "pose_lambda" not in dict(add.named_parameters())  # fixed at 1
    assert torch.allclose(add.attention_map(visual, pose).sum(-1), torch.full((1, 2, 4), 2.0))
    dot = PoseGuidedFusion(8, 3, mode="dot")
    assert torch.allclose(dot.attention_map(visual, pose).sum(-1), torch.ones(1, 2, 4))
    assert dot(visual, pose).shape == (1, 4, 8)
    no_pose = PoseGuidedFusion(8, None)
    assert no_pose(visual).shape == (1, 4, 8)


def _orthonormal_stages(k: int = 3, c: int = 8) -> torch.Tensor:
    return torch.eye(c)[:k].unsqueeze(0)  # (1, K, C)


def test_stagewise_identical_stages_give_the_closed_form_minimum() -> None:
    tau = 0.5
    u = _orthonormal_stages()
    loss = stagewise_contrastive_loss(u, u.clone(), tau)
    pos = math.exp(1 / tau)
    expected = -math.log(pos / (pos + 2 * 2 * math.exp(0)))  # 2 intra + 2 inter negatives, cos 0
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # any other exemplar does worse
    for _ in range(50):
        v = u + 0.5 * torch.randn_like(u)
        assert stagewise_contrastive_loss(u, v, tau).item() > loss.item()


def test_stagewise_swapped_stages_cost_more() -> None:
    u = _orthonormal_stages() + 0.05 * torch.randn(1, 3, 8)
    swapped = u[:, [1, 0, 2]]
    same = stagewise_contrastive_loss(u, u.clone(), 0.5)
    assert stagewise_contrastive_loss(u, swapped, 0.5) > same + 0.5
    assert stagewise_contrastive_loss(u, u[:, [2, 0, 1]], 0.1) > stagewise_contrastive_loss(u, u.clone(), 0.1)


def test_stagewise_single_stage_is_zero_and_temperature_matters() -> None:
    u = torch.randn(2, 1, 4)
    assert stagewise_contrastive_loss(u, torch.randn(2, 1, 4)).item() == pytest.approx(0.0, abs=1e-6)
    w = torch.randn(2, 3, 4)
    assert stagewise_contrastive_loss(w, w + 0.1, 0.1) != stagewise_contrastive_loss(w, w + 0.1, 0.5)


def test_alternative_losses_facts() -> None:
    u = _orthonormal_stages()
    assert triplet_stage_loss(u, u.clone(), margin=0.2).item() == 0.0  # d_pos 0, d_neg 1
    assert triplet_stage_loss(u, u[:, [1, 0, 2]], margin=0.2).item() > 0.5
    batch = torch.eye(8)[:6].view(2, 3, 8)
    assert infonce_loss(batch, batch.clone(), 0.1) < infonce_loss(batch, batch.flip(0), 0.1)


@pytest.mark.parametrize("kind", ["stagewise", "infonce", "triplet"])
def test_stage_contrast_gradients(kind: str, device: torch.device) -> None:
    module = StageContrast(16, 8, kind=kind).to(device)
    q = torch.randn(2, 3, 4, 16, device=device, requires_grad=True)
    e = torch.randn(2, 3, 4, 16, device=device, requires_grad=True)
    loss = module(q, e)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    assert module.g[1].weight.grad is not None
