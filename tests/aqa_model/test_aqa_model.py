"""The wired model: every ablation switch trains a step, cached encodings, toy regression, cost."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from aqa_helpers import micro_config

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import preset
from fdpose.aqa_model.cost import model_cost
from fdpose.aqa_model.model import HPMCoRe, VideoEncoding
from fdpose.aqa_model.regression import ContrastiveRegressor
from fdpose.errors import ValidationError


def _batch(cfg: AQAConfig, b: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    video = torch.randn(b, cfg.num_frames, 3, cfg.frame_size, cfg.frame_size, device=device)
    pose = torch.randn(b, cfg.num_frames, 16, cfg.pose_channels, device=device) * 40 + 120
    step = cfg.num_frames // cfg.num_stages
    transitions = torch.tensor([[step * (i + 1) + j for i in range(cfg.num_transitions)] for j in range(b)],
                               device=device)
    return video, pose, transitions


ABLATIONS: dict[str, dict[str, object]] = {
    "hp-mcore": {},
    "no-dve": {"use_dve": False},
    "no-sve": {"use_sve": False},
    "no-hse": {"use_hse": False},
    "hse-alone": {"use_dve": False, "use_sve": False},
    "levels-0-2": {"skeletal_levels": (0, 2)},
    "semantic-levels": {"skeletal_hierarchy": "semantic"},
    "no-edgeconv": {"edgeconv": False},
    "1-stage": {"num_stages": 1},
    "2-stages": {"num_stages": 2},
    "seg-fc": {"segmentation_head": "fc"},
    "seg-tcn": {"segmentation_head": "tcn"},
    "fusion-addition": {"fusion": "addition"},
    "fusion-dot": {"fusion": "dot"},
    "fusion-none": {"fusion": "none", "use_hse": False},
    "loss-infonce": {"contrastive": "infonce"},
    "loss-triplet": {"contrastive": "triplet"},
    "loss-none": {"contrastive": "none"},
    "mcore": {"backbone": "frame2d", "use_sve": False, "use_hse": False, "fusion": "none"},
    # MTL-AQA's layout in miniature: explicit overlapping clip starts, the last flush with the end
    "explicit-clip-starts": {"num_frames": 19, "clip_starts_explicit": (0, 4, 8, 11)},
}


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_every_ablation_builds_and_trains_one_step(name: str, device: torch.device) -> None:
    cfg = micro_config(**ABLATIONS[name])
    model = HPMCoRe(cfg).to(device)
    video, pose, transitions = _batch(cfg, 2, device)
    query = model.encode(video[:1], pose[:1], transitions[:1])  # batch 1 keeps the 20 cases fast
    exemplar = model.encode(video[1:], pose[1:], transitions[1:])
    for stages in query.stages.values():
        assert stages.shape == (1, cfg.num_stages, cfg.stage_len, cfg.d_model)
    total, parts = model.losses(query, exemplar, torch.tensor([60.0]), torch.tensor([75.0]))
    assert set(parts) == {"total", "mse", "ce", "contrastive"} and torch.isfinite(total)
    assert (parts["ce"] > 0) == (cfg.num_stages > 1)
    if cfg.contrastive == "none" or cfg.num_stages == 1:
        assert parts["contrastive"] == 0.0
    elif cfg.contrastive != "triplet":  # a triplet loss may already meet its margin
        assert parts["contrastive"] > 0.0
    total.backward()
    for module in (model.motion_encoder, model.static_encoder, model.pose_encoder, model.regressor):
        if module is not None:
            grads = [p.grad for p in module.parameters() if p.requires_grad]
            assert any(g is not None and g.abs().sum() > 0 for g in grads), type(module).__name__
    model.eval()
    with torch.no_grad():
        out = model(video, pose, video, pose, torch.tensor([70.0, 80.0], device=device))
    assert out.score.shape == (2,) and out.stage_deltas.shape == (2, cfg.num_stages)
    assert torch.allclose(out.score, torch.tensor([70.0, 80.0], device=device) + out.delta)
    assert torch.allclose(out.stage_weights.sum(), torch.tensor(1.0, device=device))


def test_switched_off_encoders_are_absent() -> None:
    mcore = HPMCoRe(micro_config(**ABLATIONS["mcore"]))
    assert mcore.static_encoder is None and mcore.pose_encoder is None and mcore.fusion is None
    assert mcore.branches == ("motion",)
    assert HPMCoRe(micro_config(use_sve=False)).branches == ("motion",)
    assert HPMCoRe(micro_config(use_dve=False, use_hse=False)).branches == ("static",)
    with pytest.raises(ValidationError, match="pose must be"):
        HPMCoRe(micro_config()).encode(torch.randn(1, 16, 3, 16, 16), None)
    with pytest.raises(ValidationError, match=r"video must be \(B, 16, 3, 16, 16\)"):
        HPMCoRe(micro_config()).encode(torch.randn(1, 16, 3, 32, 32), torch.randn(1, 16, 16, 3))


def test_cached_exemplar_encodings_give_identical_scores(device: torch.device) -> None:
    """method.md 3.5: encode each video once, reuse for every query; results must not change."""
    cfg = micro_config()
    model = HPMCoRe(cfg).to(device).eval()
    video, pose, _ = _batch(cfg, 3, device)
    scores = torch.tensor([70.0, 80.0, 90.0], device=device)
    with torch.no_grad():
        together = model.encode(video, pose)  # all three videos in one batch
        singles = VideoEncoding.cat([model.encode(video[i:i + 1], pose[i:i + 1]) for i in range(3)])
        for key in together.stages:
            assert torch.allclose(together.stages[key], singles.stages[key], atol=1e-5)
        assert torch.equal(together.pred_transitions, singles.pred_transitions)
        query = together.select(0)
        cached = model.vote(query, [together.select(i) for i in (1, 2)], [scores[1:2], scores[2:3]])
        uncached = torch.stack([model(video[:1], pose[:1], video[i:i + 1], pose[i:i + 1], scores[i:i + 1]).score
                                for i in (1, 2)]).mean(0)
    assert torch.allclose(cached, uncached, atol=1e-4)


def _fit(reg: ContrastiveRegressor, opt: torch.optim.Optimizer, feats: torch.Tensor, scores: torch.Tensor,
         n: int, steps: int = 300) -> None:
    """Adam on random pairs, both directions per batch as HPMCoRe.losses trains (antisymmetric targets)."""
    for _ in range(steps):
        qi, ei = torch.randint(0, n, (16,)), torch.randint(0, n, (16,))
        qi, ei = torch.cat([qi, ei]), torch.cat([ei, qi])
        delta = reg({"motion": feats[qi]}, {"motion": feats[ei]}).delta
        loss = ((delta - (scores[qi] - scores[ei])) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_regressor_learns_score_differences_and_self_delta_vanishes() -> None:
    """Toy problem: the score is a linear function of stage features; the regressor must learn
    the differences, and a video compared with itself must come out at delta ~ 0."""
    n, k, length, d = 24, 3, 4, 16
    feats = torch.randn(n, k, length, d)
    direction = torch.randn(k, d)
    scores = 8.0 * (feats.mean(2) * direction).sum((1, 2)) / d**0.5
    reg = ContrastiveRegressor(("motion",), k, d, heads=4, layers=1, hidden=32)
    opt = torch.optim.Adam(reg.parameters(), lr=3e-3)
    eval_q, eval_e = torch.randint(0, n, (64,)), torch.randint(0, n, (64,))

    def eval_loss() -> float:
        with torch.no_grad():
            delta = reg({"motion": feats[eval_q]}, {"motion": feats[eval_e]}).delta
            return float(((delta - (scores[eval_q] - scores[eval_e])) ** 2).mean())

    before = eval_loss()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is faster and immune to a busy machine
    try:
        _fit(reg, opt, feats, scores, n)
    finally:
        torch.set_num_threads(threads)
    after = eval_loss()
    assert after < 0.02 * before, (before, after)
    with torch.no_grad():
        self_delta = reg({"motion": feats}, {"motion": feats}).delta
    spread = float((scores[:, None] - scores[None, :]).abs().mean())
    assert float(self_delta.abs().mean()) < 0.1 * spread


def test_cost_report_tiny_and_full_parameter_counts() -> None:
    three = dataclasses.replace(preset("tiny"), use_dve=True, use_sve=True)  # the small HP-MCoRe
    tiny = model_cost(three)
    assert 100_000 < tiny.params_total < 1_000_000
    assert tiny.flops_encode > 1_000 * tiny.flops_compare / 100  # encoders dominate
    assert tiny.flops_per_query_cached == tiny.flops_encode + 10 * tiny.flops_compare
    assert tiny.flops_per_query_uncached == 10 * (2 * tiny.flops_encode + tiny.flops_compare)
    on_cpu = model_cost(three, device="cpu")
    assert on_cpu.flops_encode == tiny.flops_encode  # meta-device counting is exact
    full = model_cost(preset("full"))  # shapes only (meta device): a few seconds
    assert full.params_by_component["static_encoder"] > 23_508_032  # ResNet-50 trunk inside
    assert full.params_by_component["motion_encoder"] > 12_287_264  # Inception-I3D trunk inside
    assert full.flops_encode > 100e9
    assert dataclasses.asdict(full)["config"] == "full"
