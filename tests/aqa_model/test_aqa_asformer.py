"""Table VI's ASFormer segmentation head: windows, shapes, gradients, a toy overfit, config, the model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from aqa_helpers import micro_config

from fdpose.aqa_model.asformer import ASFormerHead, ASFormerSpec, WindowedAttention, decoder_input, window_mask
from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import load_config, preset
from fdpose.aqa_model.model import HPMCoRe, VideoEncoding
from fdpose.aqa_model.segmentation import (ProcedureSegmenter, build_head, decode_transitions, segmentation_loss,
                                           segmentation_loss_all)
from fdpose.errors import ConfigError


def test_window_masks_sliding_and_block() -> None:
    m = window_mask(10, 4)  # sliding (HP-MCoRe's copy): frame t attends t-2 .. t+1
    assert m[0].nonzero().flatten().tolist() == [0, 1]
    assert m[5].nonzero().flatten().tolist() == [3, 4, 5, 6]
    assert m[9].nonzero().flatten().tolist() == [7, 8, 9]
    assert window_mask(6, 2)[3].nonzero().flatten().tolist() == [2, 3]
    b = window_mask(10, 4, "block")  # ASFormer's original: the block of 4 widened by 2 each side
    assert b[0].nonzero().flatten().tolist() == [0, 1, 2, 3, 4, 5]  # block 0..3, window -2..5
    assert b[5].nonzero().flatten().tolist() == list(range(2, 10))  # block 4..7, window 2..9
    assert b[9].nonzero().flatten().tolist() == [6, 7, 8, 9]  # block 8..11 clipped
    for kind in ("sliding", "block"):
        assert torch.equal(window_mask(7, 1, kind), torch.eye(7, dtype=torch.bool))
        assert window_mask(10, 32, kind).all()  # a window past twice the clip is full attention


@pytest.mark.parametrize("kind", ["sliding", "block"])
def test_attention_stays_inside_its_window(kind: str) -> None:
    att = WindowedAttention(4, 4, kind).eval()
    x = torch.randn(1, 4, 12)
    base = att(x, x)
    far = x.clone()
    far[..., 10:] += 5.0  # frames 10, 11 changed
    moved = att(far, far)
    # block spans (window 4): frames 0-3 see -2..5, 4-7 see 2..9, 8-11 see 6..13: frames 0..7 are untouched
    assert torch.allclose(moved[..., :8], base[..., :8])
    assert (moved[..., 10:] - base[..., 10:]).abs().max() > 0.01
    if kind == "sliding":
        # frame 8's window (6..9) misses 10 and 11, its block's span does not: they enter the softmax's
        # denominator with weight 1e-6 (ASFormer's soft mask), a change of ~1e-4 here, not 0
        assert 0 < (moved[..., 8] - base[..., 8]).abs().max() < 1e-3
        assert (moved[..., 9] - base[..., 9]).abs().max() > 0.01  # frame 9's window 7..10 holds frame 10
    assert WindowedAttention(4, 1).query is None  # one-frame windows: no query/key (they get no gradient)


def test_soft_mask_is_asformers_arithmetic() -> None:
    from fdpose.aqa_model.asformer import soft_window_attention

    # window 2, sliding: frame t's window is t-1..t; block spans: frames 2-3 -> keys 1..4
    energy = torch.zeros(1, 6, 6, dtype=torch.float64)
    energy[0, 3, 5] = 30.0  # frame 3: key 5 lies outside its span: not in its softmax at all
    energy[0, 2, 4] = 30.0  # frame 2: key 4 lies in its span but outside its window: leaks 1e-6 x e^30
    w = soft_window_attention(energy, 2, "sliding")
    inside = 1 + 1e-6  # exp(log(1 + 1e-6)): the code's in-window factor
    # frame 3: window 2..3; keys 1 and 4 (span, energy 0) leak 1e-6 each; key 5 (energy 30) plays no part
    assert w[0, 3, 2:4].tolist() == pytest.approx([inside / (2 * inside + 2e-6)] * 2, rel=1e-12)
    denominator = 2 * inside + 1e-6 * math.exp(30.0) + 1e-6  # key 1 and 2, key 4, key 3 (energy 0, masked)
    assert w[0, 2, 1:3].tolist() == pytest.approx([inside / denominator] * 2, rel=1e-12)
    assert w[0, 2, 3] == 0 and w[0, 2, 4] == 0 and w[0, 2, 0] == 0
    edge = soft_window_attention(torch.zeros(1, 4, 4, dtype=torch.float64), 4, "block")[0, 0]  # span -2..5
    assert edge.tolist() == pytest.approx([inside / (4 * inside + 4e-6)] * 4, rel=1e-12)  # 4 zero-padded keys


def test_decoder_inputs() -> None:
    logits = torch.randn(2, 2, 16)
    cols = decoder_input(logits, "columns")
    assert torch.allclose(cols.sum(dim=1), torch.ones(2, 16))  # per frame over the transitions (the code)
    assert torch.equal(decoder_input(logits[:, :1], "columns"), torch.ones(2, 1, 16))  # K = 2: no information
    peak = decoder_input(logits, "peak")
    assert torch.allclose(peak.amax(dim=-1), torch.ones(2, 2)) and (peak > 0).all()
    assert torch.equal(peak.argmax(dim=-1), logits.argmax(dim=-1))


def test_output_shapes_and_all_stages() -> None:
    head = ASFormerHead(in_dim=6, num_transitions=2, spec=ASFormerSpec(8, 5, 3)).eval()
    x = torch.randn(3, 24, 6)
    assert head(x).shape == (3, 24, 2)
    stages = head.all_stages(x)
    assert stages.shape == (3, 4, 24, 2)  # encoder + 3 decoders
    assert torch.equal(stages[:, -1], head(x))  # the prediction is the last decoder's (eval: no dropout)
    assert ASFormerHead(6, 1, ASFormerSpec(8, 3, decoders=0)).all_stages(x).shape == (3, 1, 24, 1)
    # the code's sizes on the RegNet features: 505,352 = the code's 521,992 less the 4 x 2 one-frame q/k convs
    assert sum(p.numel() for p in ASFormerHead(368, 2).parameters()) == 505_352
    seg = ProcedureSegmenter("asformer", 6, 3, hidden=99, asformer=ASFormerSpec(8, 3, 2)).eval()
    logits, trans = seg(x)
    assert logits.shape == (3, 24, 2) and trans.shape == (3, 2) and trans.dtype == torch.long
    all_logits, trans2 = seg.forward_stages(x)
    assert all_logits.shape == (3, 3, 24, 2) and torch.equal(trans, trans2)
    assert ProcedureSegmenter("bigru", 6, 3, 8).forward_stages(x)[0].shape == (3, 1, 24, 2)


def test_a_gradient_reaches_every_parameter() -> None:
    head = ASFormerHead(5, 2, ASFormerSpec(8, 4, 2, decoder_input="peak"))
    x = torch.randn(2, 20, 5)
    stages = head.all_stages(x)
    segmentation_loss_all(stages[:, -1], torch.tensor([[4, 13], [6, 15]]), (1.0, 2.0), stages[:, :-1]).backward()
    names = [n for n, p in head.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert names == []
    assert sum(p.numel() for p in head.parameters()) > 0


def test_loss_sums_every_stage_and_equals_the_plain_ce_for_one_stage() -> None:
    logits = torch.randn(2, 3, 16, 2)
    gt = torch.tensor([[3, 10], [5, 12]])
    total = segmentation_loss_all(logits[:, -1], gt, (1.0, 2.0), logits[:, :-1])
    parts = sum(segmentation_loss(logits[:, s], gt, (1.0, 2.0)) for s in range(3))
    assert total.item() == pytest.approx(float(parts), rel=1e-6)
    assert segmentation_loss_all(logits[:, 0], gt).item() == pytest.approx(segmentation_loss(logits[:, 0], gt).item())


def test_seeded_tiny_run_overfits_a_two_video_toy_segmentation() -> None:
    # two videos of 32 frames; features mark the phase (take-off / flight / entry) under noise
    torch.manual_seed(0)
    gt = torch.tensor([[9, 22], [13, 26]])
    x = torch.randn(2, 32, 6) * 0.5
    for b in range(2):
        x[b, :gt[b, 0], 0] += 1
        x[b, gt[b, 0]:gt[b, 1], 1] += 1
        x[b, gt[b, 1]:, 2] += 1
    head = ASFormerHead(6, 2, ASFormerSpec(16, 4, 2))  # the code's choices (sliding, columns, channel dropout)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        stages = head.all_stages(x)
        loss = segmentation_loss_all(stages[:, -1], gt, (), stages[:, :-1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # measured with this seed on this CPU: 10.33 at the first step (3 stages x ln 32 = 10.40: near uniform),
    # 2.65 at the 21st, 1.9e-3 at the 40th (a factor ~5500); asserted with margin for other CPUs' rounding
    assert losses[0] == pytest.approx(3 * math.log(32), rel=0.05)
    assert losses[-1] < losses[0] / 1000
    assert decode_transitions(head.eval()(x).detach()).tolist() == gt.tolist()


def test_config_refuses_unknown_heads_and_bad_sizes_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^segmentation_head must be one of bigru, fc, tcn, asformer, got 'lstm'$"):
        AQAConfig.from_dict({"segmentation_head": "lstm"}, base=preset("tiny"))
    with pytest.raises(ConfigError, match=r"^unknown segmentation head 'lstm' \(known: bigru, fc, tcn, asformer\)$"):
        build_head("lstm", 4, 2, 8)
    with pytest.raises(ConfigError, match="ASFormer window must be sliding or block .* got 'full', 'columns'$"):
        ASFormerHead(4, 2, ASFormerSpec(window="full"))
    with pytest.raises(ConfigError, match="asformer_layers must be 1-12"):
        AQAConfig.from_dict({"asformer_layers": 0}, base=preset("tiny"))
    path = tmp_path / "asformer.yaml"
    path.write_text("preset: tiny\nsegmentation_head: asformer\nasformer_layers: 5\nasformer_decoders: 2\n")
    cfg = load_config(path)
    assert (cfg.segmentation_head, cfg.asformer_layers, cfg.asformer_decoders, cfg.asformer_channels,
            cfg.asformer_window, cfg.asformer_decoder_input) == ("asformer", 5, 2, 64, "sliding", "columns")
    with pytest.raises(ConfigError, match="asformer_window must be one of sliding, block, got 'full'"):
        AQAConfig.from_dict({"asformer_window": "full"}, base=preset("tiny"))
    with pytest.raises(ConfigError, match="asformer_channel_dropout must be in"):
        AQAConfig.from_dict({"asformer_channel_dropout": 1.0}, base=preset("tiny"))
    path.write_text(json.dumps({"preset": "tiny", "segmentation_head": "ASFormer"}))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "\n" not in str(err.value) and "asformer.yaml" in str(err.value)


def test_model_supervises_every_asformer_stage() -> None:
    cfg = micro_config(segmentation_head="asformer", asformer_channels=8, asformer_layers=4, asformer_decoders=2,
                       asformer_decoder_input="peak", asformer_window="block")
    model = HPMCoRe(cfg)
    assert model.segmenter is not None and model.segmenter.head.spec == ASFormerSpec(8, 4, 2, "block", 0.3, "peak")
    video, pose = torch.randn(2, 16, 3, 16, 16), torch.randn(2, 16, 16, 3)
    gt = torch.tensor([[4, 10], [5, 11]])
    q, e = model.encode(video, pose, gt), model.encode(video.flip(0), pose.flip(0), gt.flip(0))
    assert q.seg_logits is not None and q.seg_logits.shape == (2, 16, 2)
    assert q.seg_aux is not None and q.seg_aux.shape == (2, 2, 16, 2)  # encoder + first decoder
    both = VideoEncoding.cat([q.select(1), q.select(0)])
    assert both.seg_aux is not None and torch.equal(both.seg_aux, q.seg_aux.flip(0))
    _, parts = model.losses(q, e, torch.tensor([50.0, 60.0]), torch.tensor([60.0, 50.0]))
    w = cfg.segmentation_transition_weights
    expected = 0.5 * sum(float(segmentation_loss_all(v.seg_logits, t, w, v.seg_aux).detach())  # type: ignore[arg-type]
                         for v, t in ((q, gt), (e, gt.flip(0))))
    assert parts["ce"] == pytest.approx(expected, rel=1e-5)
    single = 0.5 * sum(float(segmentation_loss(v.seg_logits, t, w).detach()) for v, t in ((q, gt), (e, gt.flip(0))))  # type: ignore[arg-type]
    assert parts["ce"] > single  # the earlier stages add their CE
    bigru = HPMCoRe(micro_config()).encode(video, pose, gt)
    assert bigru.seg_aux is None


def test_spec_defaults_are_the_config_defaults() -> None:
    """One source of truth: ASFormerSpec() is what a default AQAConfig builds (HP-MCoRe's ASFormerPrediction)."""
    assert ASFormerSpec() == ASFormerSpec.from_config(AQAConfig()) == ASFormerSpec(64, 5, 3, "sliding", 0.3, "columns")
    tiny = preset("tiny")
    assert ASFormerSpec.from_config(tiny) == ASFormerSpec(
        tiny.asformer_channels, tiny.asformer_layers, tiny.asformer_decoders, tiny.asformer_window,
        tiny.asformer_channel_dropout, tiny.asformer_decoder_input)
