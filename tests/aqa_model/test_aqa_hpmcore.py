"""The ``hpmcore`` preset = HP-MCoRe's official code (commit 6bce799 of github:Lumos0507/HP-MCoRe;
method.md 3.8): per-component sizes and FLOPs, each code mechanism against the rule written out,
a CPU-sized training step, the CLI default and its refusal of random visual encoders.

Full-size models are only built (and counted on the meta device); forward passes use reduced widths.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from aqa_run_helpers import aqa_group, make_world, one_thread, world_args
from click.testing import CliRunner
from torch.nn import functional as F

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import HPMCORE_FIELDS, preset
from fdpose.aqa_model.contrastive import StageContrast
from fdpose.aqa_model.cost import model_cost
from fdpose.aqa_model.encoders.hdgcn import HDGCNEncoder
from fdpose.aqa_model.fusion import PoseGuidedFusion
from fdpose.aqa_model.model import HPMCoRe
from fdpose.aqa_model.regression import StageDecoder
from fdpose.aqa_model.segmentation import cut_stages
from fdpose.errors import ConfigError

#: a CPU-sized hpmcore: same code paths, 16 frames of 32x32 resized from 40x32, 3 I3D clips of 8 frames
MICRO = {"num_frames": 16, "frame_size": 32, "frame_resize": [40, 32], "i3d_width": 0.0625, "clip_len": 8,
         "clip_stride": 4, "regnet_widths": [8, 16], "regnet_depths": [1, 1], "regnet_group_width": 4,
         "regnet_stem": 8, "skeletal_channels": [8, 8, 16], "skeletal_classifier_classes": 5, "d_model": 16,
         "segmentation_hidden": 8, "mlp_hidden": 16, "stage_len": 4}


_ = one_thread  # re-exported fixture


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_hpmcore_component_sizes_are_method_3_8s() -> None:
    cost = model_cost(preset("hpmcore"))
    by = cost.params_by_component
    # method.md 3.8 "Size", rounded there; exact counts of the modules as the code builds them
    assert by["motion_encoder"] == 12_287_264  # I3D trunk 12.29 M (Kinetics classifier not built)
    assert by["static_encoder"] == 2_815_598  # RegNetY-002-GSM ~2.8 M
    # HD-GCN 0.18 M: 174,416 in the five units + data_bn, 7,740 in the code's unused 60-class head
    assert by["pose_encoder"] == 182_156
    assert by["segmenter"] == 1_630_978  # BiGRU(368, 368) + Linear(736, 2): 1.63 M
    assert by["reducers"] == 3 * (1024 * 1152 + 1152 + 1152 * 256 + 256) + 3 * (368 * 496 + 496 + 496 * 256 + 256)
    assert by["reducers"] == pytest.approx(5.36e6, rel=1e-3)  # six reducers 5.36 M
    assert by["fusion"] == 3 * 822_017 and by["fusion"] == pytest.approx(2.47e6, rel=2e-3)  # three fusion blocks
    model = HPMCoRe(dataclasses.replace(preset("hpmcore"), use_dve=False))  # I3D not needed for the rest
    decoders = sum(_count(m) for m in model.regressor.decoders.values())
    assert decoders == 2 * 4 * 789_504 and decoders == pytest.approx(6.32e6, rel=1e-3)  # two decoders 6.32 M
    mlps = _count(model.regressor.mlps) + model.regressor.stage_logits.numel()
    assert mlps == 2 * (256 * 256 + 256 + 256 * 64 + 64 + 65) + 3 and mlps == pytest.approx(0.17e6, rel=0.04)
    assert by["regressor"] == decoders + mlps
    assert cost.params_total == 31_221_364 and cost.params_total == pytest.approx(31.2e6, rel=0.01)


def test_hpmcore_flops_per_training_pair() -> None:
    cost = model_cost(preset("hpmcore"))
    # method.md 3.8: I3D 125.7 GFLOPs + RegNet ~11 per video, ~275 per pair; measured 276.58
    assert cost.flops_train_step_forward / 1e9 == pytest.approx(275, rel=0.02)
    video_only = model_cost(dataclasses.replace(preset("hpmcore"), use_sve=False, use_hse=False, fusion="none",
                                                segmentation_input="motion"))
    assert 125.0 < video_only.flops_encode / 1e9 < 127.5


def test_hpmcore_fields_and_paper_defaults() -> None:
    cfg = preset("hpmcore")
    for key, value in HPMCORE_FIELDS.items():
        assert getattr(cfg, key) == value, key
    # every field hpmcore sets differs from the paper-text default, or is a size the paper text shares
    paper = preset("paper")
    shared = {k for k in HPMCORE_FIELDS if getattr(paper, k) == HPMCORE_FIELDS[k]}
    assert shared == {"d_model", "fusion_heads", "decoder_layers", "mlp_hidden", "stage_len", "frame_size",
                      "video_crop", "contrastive", "lambda_contrastive"}
    assert (paper.i3d_pool, paper.skeletal_encoder, paper.reducer_hidden, paper.fusion) == ("max", "hse",
                                                                                            "double_out", "weighted")
    with pytest.raises(ConfigError, match="frame_resize must be"):
        dataclasses.replace(cfg, frame_resize=(100,)).validate()


def test_hdgcn_units_are_the_codes() -> None:
    enc = HDGCNEncoder(2, num_classes=60)
    # per-unit counts of the code's HD-GCN (Model(num_point=16, num_person=1, CoM=7), l1..l5), measured on it
    assert [_count(u) for u in enc.units] == [16_640, 22_992, 22_992, 22_992, 88_736]
    assert _count(enc.data_bn) == 64 and _count(enc.classifier) == 7_740
    assert enc.units[0].gcn.attention is None and enc.units[1].gcn.attention is not None
    assert enc.units[0].residual is None and isinstance(enc.units[1].residual, torch.nn.Identity)
    # the code's AHA reads ring joints shifted by -1 (joint 0 -> 15); offset 0 uses the rings as written
    assert 15 in enc.units[1].gcn.attention.edge_set_joints[3]
    plain = HDGCNEncoder(2, aha_joint_offset=0)
    assert plain.units[1].gcn.attention.edge_set_joints[0] == [7, 6, 8, 12, 13]
    assert float(enc.units[2].gcn.bn.weight.detach().max()) == pytest.approx(1e-6)  # a unit starts as its residual


def test_hdgcn_forward_and_gradients() -> None:
    enc = HDGCNEncoder(2, widths=(8, 8, 16)).train()
    pose = torch.rand(2, 12, 16, 2) * 100
    out = enc(pose)
    assert out.shape == (2, 12, 16) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    gcn = enc.units[1].gcn
    for p in (gcn.adjacency, gcn.edges[0].mlp[0].weight, gcn.attention.aggregate.weight, gcn.subsets[2][1][0].weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"pose must be \(B, T, 16, 2\)"):
        enc(torch.zeros(1, 12, 16, 3))


def test_logit_fusion_is_the_codes_pose_attention() -> None:
    block = PoseGuidedFusion(8, 6, heads=2, mode="logits", lambda_init=0.001, prenorm=True, qkv_bias=False).eval()
    assert block.q_v.bias is None and block.q_p is None and float(block.pose_lambda.detach()) == pytest.approx(0.001)
    with torch.no_grad():
        block.pose_lambda.fill_(0.7)  # large enough that the pose term matters
    x, p = torch.randn(3, 5, 8), torch.randn(3, 5, 6) * 30
    h = block.norm1(x)
    q, k, v = (lin(h).view(3, 5, 2, 4).transpose(1, 2) for lin in (block.q_v, block.k_v, block.v_v))
    e = (0.01 * p) @ block.pose_embed.weight.T + block.pose_embed.bias
    logits = q @ k.transpose(-2, -1) / 2.0 + 0.7 * (e @ e.transpose(1, 2) / 64).unsqueeze(1)
    z = x + block.out((logits.softmax(-1) @ v).transpose(1, 2).reshape(3, 5, 8))
    ref = z + block.ffn(block.norm2(z))
    assert torch.allclose(block(x, p), ref, atol=1e-5)
    without = PoseGuidedFusion(8, 6, heads=2, mode="logits", lambda_init=0.0, prenorm=True, qkv_bias=False)
    without.load_state_dict(block.state_dict())
    with torch.no_grad():
        without.pose_lambda.zero_()
    assert torch.allclose(without(x, p), without(x, None), atol=1e-6)  # w = 0: plain self-attention
    assert not torch.allclose(block(x, p), without(x, p), atol=1e-3)


def test_decoder_without_qkv_bias_keeps_its_output_bias() -> None:
    dec = StageDecoder(256, 2, 4, qkv_bias=False)
    assert _count(dec) == 4 * 789_504  # the code's DecoderBlock(256, 2 heads)
    attn = dec.blocks[0].attn
    assert attn.in_proj_bias is None and attn.out_proj.bias is not None
    small = StageDecoder(8, 2, 1, qkv_bias=False)
    q, m = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    blk = small.blocks[0]
    qn, mn = blk.norm_q(q), blk.norm_m(m)
    wq, wk, wv = blk.attn.in_proj_weight.chunk(3)
    split = (lambda t: t.view(2, 4, 2, 4).transpose(1, 2))
    a = (split(qn @ wq.T) @ split(mn @ wk.T).transpose(-2, -1) / 2.0).softmax(-1) @ split(mn @ wv.T)
    y = q + blk.attn.out_proj(a.transpose(1, 2).reshape(2, 4, 8))
    assert torch.allclose(small(q, m), y + blk.ffn(blk.norm_f(y)), atol=1e-5)


def _code_stage_contrast(a: torch.Tensor, b: torch.Tensor, fix: int, tau: float) -> torch.Tensor:
    """The code's stage contrast for one video pair, written out: (K*fix, C), (K*fix, C) -> scalar."""
    sa = torch.stack([a[i * fix:(i + 1) * fix].mean(0) for i in range(3)])
    sb = torch.stack([b[i * fix:(i + 1) * fix].mean(0) for i in range(3)])
    na, nb = F.normalize(sa, dim=1), F.normalize(sb, dim=1)
    h = (lambda s: torch.exp(s / tau))
    loss = 0.0
    for i in range(3):
        pos = h(na[i] @ nb[i])
        neg = sum(h(na[i] @ na[j]) + h(na[i] @ nb[j]) for j in range(3) if j != i)
        loss = loss + -torch.log(pos / (pos + neg))
    return loss / 3


def test_contrastive_is_the_codes_stage_mean_loss() -> None:
    q, e = torch.randn(2, 3, 10, 16), torch.randn(2, 3, 10, 16)
    loss = StageContrast(16, 8, "stagewise", tau=0.1, projection=False)
    assert _count(loss) == 0
    ref = torch.stack([0.5 * (_code_stage_contrast(q[i].flatten(0, 1), e[i].flatten(0, 1), 10, 0.1)
                              + _code_stage_contrast(e[i].flatten(0, 1), q[i].flatten(0, 1), 10, 0.1))
                       for i in range(2)]).mean()
    assert loss(q, e).item() == pytest.approx(ref.item(), rel=1e-5)


@pytest.mark.parametrize("length, t1, t2", [(20, 6, 13), (20, 0, 19), (9, 2, 8),
                                            (9, 2, 9)])  # 9 clip vectors, an entry at frame >= 90: 90 // 10 = 9
def test_last_lead_cut_is_the_codes_seg_pool_1d(length: int, t1: int, t2: int) -> None:
    feats = torch.randn(1, length, 3)
    size = 10
    x = feats.transpose(1, 2)
    ref = [F.interpolate(x[:, :, :t1 + 1], size=size, mode="linear", align_corners=True),
           F.interpolate(x[:, :, t1:t2 + 1], size=size, mode="linear", align_corners=True),
           F.interpolate(x[:, :, t2 - 1:], size=size, mode="linear", align_corners=True)]
    ours = cut_stages(feats, torch.tensor([[t1, t2]]), size, last_lead=1)
    for r, o in zip(ref, ours):
        assert torch.allclose(r.transpose(1, 2), o, atol=1e-6)


def _micro() -> AQAConfig:
    return AQAConfig.from_dict(MICRO, base=preset("hpmcore"))


def test_micro_hpmcore_encodes_as_the_code_and_trains_a_step() -> None:
    model = HPMCoRe(_micro()).train()
    with torch.no_grad():  # as pretrained weights would: timm's init closes every residual branch (last BN 0)
        for name, p in model.static_encoder.named_parameters():
            if name.endswith("conv3.bn.weight"):
                p.fill_(1.0)
    video, pose = torch.randn(2, 16, 3, 32, 32), torch.rand(2, 16, 16, 2) * 100
    trans = torch.tensor([[5, 11], [4, 9]])
    enc = model.encode(video, pose, trans)
    assert enc.stages["motion"].shape == (2, 3, 4, 16) and enc.stages["static"].shape == (2, 3, 4, 16)
    assert enc.seg_logits.shape == (2, 16, 2)
    # I3D stages come from the 3 clip vectors cut at transition // clip_stride, not from frames
    model.eval()
    with torch.no_grad():
        clips = model.motion_encoder.clip_features(video)
        assert clips.shape == (2, 3, model.motion_encoder.out_dim)
        first = model.reducers["motion"][0](cut_stages(clips, trans // 4, 4, last_lead=1)[0])
        skel = cut_stages(model.pose_encoder(pose), trans, 4, last_lead=1)[0]
        expect = model.fusion[0](first, skel)
        assert torch.allclose(model.encode(video, pose, trans).stages["motion"][:, 0], expect, atol=1e-5)
        # segmentation reads the per-frame static features
        static = model.static_encoder(video)
        assert torch.allclose(model.segmenter(static)[0], model.encode(video, pose, trans).seg_logits, atol=1e-5)
    model.train()
    q = model.encode(video, pose, trans)
    e = model.encode(video.flip(0), pose.flip(0), trans.flip(0))
    total, parts = model.losses(q, e, torch.tensor([60.0, 70.0]), torch.tensor([70.0, 60.0]))
    total.backward()
    assert math.isfinite(parts["total"]) and parts["contrastive"] > 0 and parts["ce"] > 0
    # both branches' contrastive losses summed, each x10 (the code), not averaged
    per = [model.contrast[b](q.stages[b], e.stages[b]).item() for b in ("motion", "static")]
    assert parts["contrastive"] == pytest.approx(sum(per), rel=1e-5)
    for p in (model.fusion[1].pose_lambda, model.pose_encoder.units[0].gcn.adjacency,
              model.static_encoder.trunk.s1.b1.conv1.net.conv.weight, model.segmenter.head.gru.weight_ih_l0):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_train_aqa_defaults_to_hpmcore_and_refuses_random_encoders(tmp_path) -> None:
    res = CliRunner().invoke(aqa_group(), ["train-aqa", "-o", str(tmp_path / "run")])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "Traceback" not in res.output
    assert "config 'hpmcore' would train randomly initialised visual encoders: I3D (--i3d-weights)" in res.output
    assert "static RegNetY-002-GSM (--static-weights" in res.output and "--allow-random-init" in res.output
    assert not (tmp_path / "run").exists()


@pytest.mark.usefixtures("one_thread")
def test_micro_hpmcore_trains_and_evaluates_through_the_cli(tmp_path) -> None:
    """The whole path with the code's input: 2-channel poses read from (16, 3) files, frames resized
    anisotropically then cropped, static-feature segmentation, clip-axis I3D stages."""
    import json

    world = make_world(tmp_path / "world")
    cfg_path = tmp_path / "hpmcore_micro.json"
    cfg_path.write_text(json.dumps({"preset": "hpmcore", **MICRO}))
    out = tmp_path / "run"
    common = ["--device", "cpu", "--threads", "1", "--json"]
    res = CliRunner().invoke(aqa_group(), ["train-aqa", *world_args(world), "-o", str(out), "--config", str(cfg_path),
                                           "--epochs", "1", "--batch-size", "4", "--val-share", "0.25",
                                           "--no-final-test", "--allow-random-init", *common])
    assert res.exit_code == 0, res.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["name"] == "hpmcore" and saved["pose_channels"] == 2 and saved["frame_resize"] == [40, 32]
    res = CliRunner().invoke(aqa_group(), ["eval-aqa", str(out), "--split", "val", "--exemplars", "2", *common])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["queries"] == 2 and math.isfinite(report["l2"]) and report["l2"] > 0
    # score: one clip of the test split with its pose file, against 3 exemplars of its dive number
    res = CliRunner().invoke(aqa_group(), ["score", str(world / "frames" / "m4" / "1"), "--dive-number", "107b",
                                           "--checkpoint", str(out), "--num-exemplars", "3", "--exemplars",
                                           str(world / "frames"), "--annotations", str(world / "annotations"),
                                           "--poses", str(world / "poses"), "--pose",
                                           str(world / "poses" / "m4" / "pred_comp_1.npz"), *common])
    assert res.exit_code == 0, res.output
    scored = json.loads(res.stdout)
    assert len(scored["exemplars"]) == 3 and math.isfinite(scored["score"])
    assert scored["score"] == pytest.approx(scored["exemplar_mean"] + scored["stage_contribution_sum"], abs=1e-3)


def test_frames_resized_to_200x112_then_cropped(tmp_path) -> None:
    import cv2

    from fdpose.aqa_model.data.finediving import load_clip_video

    img = np.zeros((256, 455, 3), np.uint8)
    img[:, :80] = 255  # a white left edge: the whole width survives the resize to 112 wide (columns 0-19)
    path = tmp_path / "00000.jpg"
    cv2.imwrite(str(path), img)
    cfg = preset("hpmcore")
    video, width = load_clip_video([path], np.array([0]), cfg, None)
    assert video.shape == (1, 3, 112, 112) and width == 455
    red = video[0, 0]  # ImageNet-normalised red channel: white ~2.2, black ~-2.1
    assert red[:, :15].mean() > 2.0 and red[:, 25:].mean() < -2.0
    # the short-side resize (199 x 112) + centre crop keeps original columns ~98-355 only: no white
    short = load_clip_video([path], np.array([0]), dataclasses.replace(cfg, frame_resize=()), None)[0]
    assert short[0, 0].max() < -1.5


def test_i3d_avg_pool_is_the_codes_avgpool3d_per_clip() -> None:
    from fdpose.aqa_model.encoders.i3d import DynamicVisualEncoder

    enc = DynamicVisualEncoder(26, 16, 10, width=0.0625, mixed_layers=0, pool="avg").eval()
    assert enc.clip_starts == [0, 10] and len(enc.mixed) == 0
    bns = [m for m in HPMCoRe(dataclasses.replace(_micro(), use_sve=False, use_hse=False, fusion="none",
                                                  segmentation_input="motion")).motion_encoder.modules()
           if isinstance(m, torch.nn.BatchNorm3d)]
    assert len(bns) == 57 and {m.eps for m in bns} == {1e-5}  # the PyTorch port the code runs (TF model: 1e-3)
    video = torch.randn(1, 26, 3, 112, 112)
    with torch.no_grad():
        ours = enc.clip_features(video)  # (1, 2, C)
        for n, start in enumerate(enc.clip_starts):
            fmap = enc.i3d(video[:, start:start + 16].transpose(1, 2))
            assert fmap.shape[2:] == (2, 4, 4)  # Mixed_5c of a 16 x 112 x 112 clip: the code's AvgPool3d((2, 4, 4))
            assert torch.allclose(ours[0, n], F.avg_pool3d(fmap, (2, 4, 4)).flatten(), atol=1e-6)


def test_each_code_departure_set_back_alone_is_a_working_ablation() -> None:
    """Every field hpmcore sets, put back to its paper-text value on its own (pairs that only make sense
    together move together), still builds, encodes and trains a step: each difference is an ablation."""
    micro = dataclasses.replace(_micro(), resnet_layers=(1, 1, 1, 1), resnet_width=8, static_dim=32).validate()
    paper = preset("paper")
    together = {"i3d_pool": ("i3d_pool", "mixed_conv_layers"), "mixed_conv_layers": ("i3d_pool", "mixed_conv_layers")}
    sizes = {"d_model", "frame_size", "stage_len", "frame_resize", "segmentation_hidden", "mlp_hidden"}  # MICRO's
    video, trans = torch.randn(2, 16, 3, 32, 32), torch.tensor([[5, 11], [4, 9]])
    tried = 0
    for key in HPMCORE_FIELDS:
        if key in sizes or getattr(paper, key) == getattr(micro, key):
            continue
        cfg = dataclasses.replace(micro, **{k: getattr(paper, k) for k in together.get(key, (key,))}).validate()
        model = HPMCoRe(cfg).train()
        pose = torch.rand(2, 16, 16, cfg.pose_channels) * 100
        q = model.encode(video, pose, trans)
        e = model.encode(video.flip(0), pose.flip(0), trans.flip(0))
        total, parts = model.losses(q, e, torch.tensor([60.0, 70.0]), torch.tensor([70.0, 60.0]))
        total.backward()
        assert math.isfinite(parts["total"]), key
        tried += 1
    assert tried >= 15


def test_micro_hpmcore_encoding_does_not_depend_on_the_batch() -> None:
    """Cached exemplar encodings (eval-aqa, score) need a video's encoding to be its own in eval mode."""
    model = HPMCoRe(_micro()).eval()
    video, pose = torch.randn(3, 16, 3, 32, 32), torch.rand(3, 16, 16, 2) * 100
    with torch.no_grad():
        together = model.encode(video, pose)
        for i in range(3):
            alone = model.encode(video[i:i + 1], pose[i:i + 1])
            assert torch.equal(alone.pred_transitions, together.pred_transitions[i:i + 1])
            for b in ("motion", "static"):
                assert torch.allclose(alone.stages[b], together.stages[b][i:i + 1], atol=1e-5)


def test_training_crop_of_the_200x112_frame_moves_only_vertically(tmp_path) -> None:
    """The code's RandomCrop(112) of a 200 x 112 frame: a random row offset in 0..88, all 112 columns."""
    import cv2

    from fdpose.aqa_model.data.finediving import load_clip_video

    img = np.zeros((200, 112, 3), np.uint8)
    img[:, :, :] = np.arange(200, dtype=np.uint8)[:, None, None]  # brightness = row
    img[:, :8] = 255  # a white left band: every crop keeps all columns
    path = tmp_path / "00000.png"
    cv2.imwrite(str(path), img)
    cfg = preset("hpmcore")
    tops = set()
    for seed in range(6):
        video = load_clip_video([path], np.array([0]), cfg, None, np.random.default_rng(seed))[0]
        red = video[0, 0] * 0.229 + 0.485  # back to [0, 1]
        assert red[:, :6].min() > 0.99  # the white band is in every crop
        tops.add(int(round(float(red[0, 20]) * 255)))  # first row of the crop
    assert len(tops) > 1 and all(0 <= t <= 88 for t in tops)
    centre = load_clip_video([path], np.array([0]), cfg, None)[0][0, 0] * 0.229 + 0.485
    assert int(round(float(centre[0, 20]) * 255)) == 44  # evaluation: the centre crop, rows 44..155
