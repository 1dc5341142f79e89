"""``pair_encoding``: a training pair goes through the encoders as one batch of 2B videos ("joint", both
codes: ``torch.cat((video_1, video_2))`` before I3D, the RegNet, HD-GCN) or as two batches ("separate")."""

from __future__ import annotations

import copy

import torch
from aqa_helpers import micro_config

from fdpose.aqa_model.model import HPMCoRe
from fdpose.aqa_model.presets import preset
from fdpose.aqa_model.train import PairObjective


def _pair(b: int = 2) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(3)

    def item(shift: float) -> dict[str, torch.Tensor]:
        return {"video": torch.randn(b, 16, 3, 16, 16, generator=g) + shift,
                "pose": torch.rand(b, 16, 16, 3, generator=g) * 50 + 10 * shift,
                "transitions": torch.tensor([[4, 10], [5, 11]][:b]),
                "score": torch.tensor([60.0, 75.0][:b]), "difficulty": torch.tensor([2.0, 3.0][:b])}

    return item(0.0), item(1.0)  # exemplars offset: per-batch statistics differ from the joint ones


def _bn_buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: b.clone() for n, b in model.named_buffers() if "running_" in n or "num_batches" in n}


def test_joint_pairs_are_one_batch_through_the_encoders() -> None:
    cfg = micro_config(pair_encoding="joint")
    model = HPMCoRe(cfg).train()
    start = copy.deepcopy(model.state_dict())
    query, exemplar = _pair()
    torch.manual_seed(7)
    total, _ = PairObjective(model)(query, exemplar)

    ref = HPMCoRe(cfg)
    ref.load_state_dict(start)
    ref.train()
    torch.manual_seed(7)
    enc = ref.encode(torch.cat([query["video"], exemplar["video"]]), torch.cat([query["pose"], exemplar["pose"]]),
                     torch.cat([query["transitions"], exemplar["transitions"]]))
    ref_total, _ = ref.losses(enc.select(slice(0, 2)), enc.select(slice(2, 4)), query["score"], exemplar["score"])
    assert torch.allclose(total, ref_total, rtol=1e-5, atol=1e-6)
    got, want = _bn_buffers(model), _bn_buffers(ref)
    assert got and all(torch.allclose(got[n], want[n], atol=1e-6) for n in want)
    # one BatchNorm update per training step, as the codes (separate batches update twice)
    assert {int(v) for n, v in got.items() if n.endswith("num_batches_tracked")} == {1}


def test_separate_pairs_normalise_each_half_on_its_own() -> None:
    cfg = micro_config()
    assert cfg.pair_encoding == "separate"  # tiny, paper: unchanged
    model = HPMCoRe(cfg).train()
    start = copy.deepcopy(model.state_dict())
    query, exemplar = _pair()
    PairObjective(model)(query, exemplar)
    joint = HPMCoRe(micro_config(pair_encoding="joint"))
    joint.load_state_dict(start)
    joint.train()
    PairObjective(joint)(query, exemplar)
    sep, one = _bn_buffers(model), _bn_buffers(joint)
    assert {int(v) for n, v in sep.items() if n.endswith("num_batches_tracked")} == {2}
    assert any(not torch.allclose(sep[n], one[n]) for n in sep if "running_mean" in n)


def test_code_presets_encode_pairs_jointly() -> None:
    assert preset("hpmcore").pair_encoding == preset("mcore").pair_encoding == "joint"
    assert preset("paper").pair_encoding == preset("tiny").pair_encoding == "separate"
