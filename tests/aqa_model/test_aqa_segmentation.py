"""Procedure segmentation: decoding per part, CE loss, GT mapping, stage cutting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fdpose.aqa_model.segmentation import (ProcedureSegmenter, cut_stages, decode_transitions,
                                           map_transitions_to_samples, segmentation_loss)


def test_decoding_takes_argmax_inside_each_part() -> None:
    logits = torch.zeros(1, 96, 2)
    logits[0, 60, 0] = 5.0  # strongest for transition 0 but outside its half
    logits[0, 30, 0] = 3.0
    logits[0, 10, 1] = 9.0  # outside transition 1's half
    logits[0, 75, 1] = 1.0
    assert decode_transitions(logits).tolist() == [[30, 75]]
    three = torch.zeros(1, 9, 1)
    three[0, 7, 0] = 1.0  # one transition: the whole clip is its part
    assert decode_transitions(three).tolist() == [[7]]


def test_segmentation_loss_is_cross_entropy_over_time() -> None:
    t = 20
    gt = torch.tensor([[5, 14]])
    peaked = torch.full((1, t, 2), -10.0)
    peaked[0, 5, 0] = peaked[0, 14, 1] = 10.0
    assert segmentation_loss(peaked, gt).item() < 1e-6
    uniform = torch.zeros(1, t, 2)
    assert segmentation_loss(uniform, gt).item() == pytest.approx(np.log(t), rel=1e-6)


def test_gt_transitions_map_to_sampled_frames() -> None:
    samples = np.linspace(0, 190, 96).astype(int)  # a 191-frame clip sampled to 96: frames 0, 2, 4, ...
    # transits are the LAST frames of stages; the model's transition is the next stage's first sample
    pos = map_transitions_to_samples([40, 151], samples)
    assert pos.tolist() == [21, 76]
    assert samples[21] == 42 and samples[20] == 40 and samples[76] == 152
    assert map_transitions_to_samples([500], samples).tolist() == [95]


def test_cut_stages_resamples_each_stage_linearly() -> None:
    t = 11
    feats = torch.arange(t, dtype=torch.float32).view(1, t, 1).repeat(2, 1, 2)  # value = frame index
    stages = cut_stages(feats, torch.tensor([[4, 8], [8, 4]]), stage_len=5)  # second row unsorted
    assert len(stages) == 3 and all(s.shape == (2, 5, 2) for s in stages)
    assert stages[0][0, :, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert stages[1][0, :, 0].tolist() == [4.0, 5.0, 6.0, 7.0, 8.0]
    assert stages[2][0, :, 0].tolist() == [8.0, 8.5, 9.0, 9.5, 10.0]
    assert torch.equal(stages[1][1], stages[1][0])  # transitions are sorted first
    one_frame = cut_stages(feats, torch.tensor([[4, 4], [4, 4]]), stage_len=3)[1]
    assert one_frame[0, :, 0].tolist() == [4.0, 4.0, 4.0]
    whole = cut_stages(feats, torch.zeros(2, 0, dtype=torch.long), stage_len=3)  # K = 1
    assert len(whole) == 1 and whole[0][0, :, 0].tolist() == [0.0, 5.0, 10.0]


def test_cut_stages_passes_gradients() -> None:
    feats = torch.randn(1, 12, 3, requires_grad=True)
    stages = cut_stages(feats, torch.tensor([[3, 7]]), stage_len=4)
    torch.stack(stages).sum().backward()
    assert feats.grad is not None and feats.grad[0, 3].abs().sum() > 0


@pytest.mark.parametrize("kind", ["bigru", "fc", "tcn"])
def test_heads_shapes_and_gradients(kind: str, device: torch.device) -> None:
    seg = ProcedureSegmenter(kind, in_dim=6, num_stages=3, hidden=8).to(device)
    x = torch.randn(2, 24, 6, device=device, requires_grad=True)
    logits, transitions = seg(x)
    assert logits.shape == (2, 24, 2) and transitions.shape == (2, 2)
    assert (transitions[:, 0] < 12).all() and (transitions[:, 1] >= 12).all()
    segmentation_loss(logits, torch.tensor([[5, 17], [6, 20]], device=device)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_bigru_learns_a_transition() -> None:
    # features flag frames 7 and 18; after a short fit the decoded transitions are exact
    x = torch.zeros(2, 16, 2)
    x[:, 5, 0] = 1.0
    x[:, 12, 1] = 1.0
    gt = torch.tensor([[5, 12]] * 2)
    seg = ProcedureSegmenter("bigru", 2, 3, 8)
    opt = torch.optim.Adam(seg.parameters(), lr=0.05)
    for _ in range(40):
        opt.zero_grad()
        loss = segmentation_loss(seg(x)[0], gt)
        loss.backward()
        opt.step()
    assert seg(x)[1].tolist() == gt.tolist()
