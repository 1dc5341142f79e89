"""Official HP-MCoRe checkpoints' fusion blocks and decoders (separate q/k/v Linear layers) -> our layout.

The state dicts are generated here with the official key names (6bce799 ``models/PoseAttn.py``
``PoseAttnNet``, ``models/vit_decoder.py`` ``decoder_fuser``) and random values; the official forward
passes are written out below as formulas (method.md 3.8), so loading can be checked on outputs.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from aqa_helpers import micro_config
from torch.nn import functional as F

from fdpose.aqa_model.fusion import PoseGuidedFusion
from fdpose.aqa_model.model import HPMCoRe
from fdpose.aqa_model.official_checkpoint import (decoder_state, fusion_key_map, load_official_checkpoint,
                                                  load_official_fusion_decoders, read_official_checkpoint)
from fdpose.aqa_model.regression import StageDecoder
from fdpose.aqa_model.encoders.weights import load_mapped
from fdpose.errors import ConfigError, InputError


def _rand(*shape: int) -> torch.Tensor:
    return torch.randn(*shape) * 0.2


def _ln(prefix: str, d: int) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": 1 + _rand(d), f"{prefix}.bias": _rand(d)}


def _linear(prefix: str, d_in: int, d_out: int, bias: bool = True) -> dict[str, torch.Tensor]:
    out = {f"{prefix}.weight": _rand(d_out, d_in)}
    if bias:
        out[f"{prefix}.bias"] = _rand(d_out)
    return out


def official_pose_attn(d: int, pose_dim: int = 128) -> dict[str, torch.Tensor]:
    """``PoseAttnNet(dim=d, num_heads, Pose_flag=True)`` keys: no q/k/v bias, mlp_ratio 4, pose_map from 128."""
    sd = {**_ln("norm_q", d), **_ln("norm2", d), "attn.pose_weight": torch.tensor(0.3)}
    for name in ("q_map", "k_map", "v_map"):
        sd.update(_linear(f"attn.{name}", d, d, bias=False))
    sd.update(_linear("attn.pose_map", pose_dim, d))
    sd.update(_linear("attn.proj", d, d))
    sd.update(_linear("mlp.fc1", d, 4 * d))
    sd.update(_linear("mlp.fc2", 4 * d, d))
    return sd


def official_decoder(d: int, layers: int, qkv_bias: bool = False) -> dict[str, torch.Tensor]:
    """``decoder_fuser(dim=d, num_heads, num_layers=layers)`` keys: ``model.{i}`` DecoderBlocks."""
    sd: dict[str, torch.Tensor] = {}
    for i in range(layers):
        p = f"model.{i}"
        sd.update({**_ln(f"{p}.norm_q", d), **_ln(f"{p}.norm_v", d), **_ln(f"{p}.norm2", d)})
        for name in ("q_map", "k_map", "v_map"):
            sd.update(_linear(f"{p}.attn.{name}", d, d, bias=qkv_bias))
        sd.update(_linear(f"{p}.attn.proj", d, d))
        sd.update(_linear(f"{p}.mlp.fc1", d, 4 * d))
        sd.update(_linear(f"{p}.mlp.fc2", 4 * d, d))
    return sd


def _heads(x: torch.Tensor, h: int) -> torch.Tensor:
    b, n, c = x.shape
    return x.view(b, n, h, c // h).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, h, n, c = x.shape
    return x.transpose(1, 2).reshape(b, n, h * c)


def _ln_apply(x: torch.Tensor, sd: dict[str, torch.Tensor], p: str) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], sd[f"{p}.weight"], sd[f"{p}.bias"])


def _mlp(x: torch.Tensor, sd: dict[str, torch.Tensor], p: str) -> torch.Tensor:
    h = F.gelu(F.linear(x, sd[f"{p}.fc1.weight"], sd[f"{p}.fc1.bias"]))
    return F.linear(h, sd[f"{p}.fc2.weight"], sd[f"{p}.fc2.bias"])


def official_pose_attn_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, pose: torch.Tensor,
                               h: int) -> torch.Tensor:
    """method.md 3.8's fusion: pre-norm, logits + w (e e^T) / 64, e = 0.01 pose -> pose_map, per head."""
    n = _ln_apply(x, sd, "norm_q")
    q, k, v = (_heads(F.linear(n, sd[f"attn.{m}.weight"]), h) for m in ("q_map", "k_map", "v_map"))
    e = F.linear(pose * 0.01, sd["attn.pose_map.weight"], sd["attn.pose_map.bias"]).unsqueeze(1)
    logits = q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5) + sd["attn.pose_weight"] * (e @ e.transpose(-2, -1)) / 64
    att = F.linear(_merge(logits.softmax(-1) @ v), sd["attn.proj.weight"], sd["attn.proj.bias"])
    x = x + att
    return x + _mlp(_ln_apply(x, sd, "norm2"), sd, "mlp")


def official_decoder_forward(sd: dict[str, torch.Tensor], q: torch.Tensor, m: torch.Tensor, h: int,
                             layers: int) -> torch.Tensor:
    """decoder_fuser: per block q += proj(attn(LN_q(q), LN_v(m))) with q/k/v maps, then q += MLP(LN2(q))."""
    for i in range(layers):
        p = f"model.{i}"
        nq, nm = _ln_apply(q, sd, f"{p}.norm_q"), _ln_apply(m, sd, f"{p}.norm_v")
        qq = _heads(F.linear(nq, sd[f"{p}.attn.q_map.weight"], sd.get(f"{p}.attn.q_map.bias")), h)
        kk = _heads(F.linear(nm, sd[f"{p}.attn.k_map.weight"], sd.get(f"{p}.attn.k_map.bias")), h)
        vv = _heads(F.linear(nm, sd[f"{p}.attn.v_map.weight"], sd.get(f"{p}.attn.v_map.bias")), h)
        att = (qq @ kk.transpose(-2, -1) * (qq.shape[-1] ** -0.5)).softmax(-1) @ vv
        q = q + F.linear(_merge(att), sd[f"{p}.attn.proj.weight"], sd[f"{p}.attn.proj.bias"])
        q = q + _mlp(_ln_apply(q, sd, f"{p}.norm2"), sd, f"{p}.mlp")
    return q


def test_fusion_block_loads_and_reproduces_the_official_output() -> None:
    d, heads = 16, 2
    ours = PoseGuidedFusion(d, 128, heads, "logits", 0.001, prenorm=True, qkv_bias=False).eval()
    sd = official_pose_attn(d)
    assert load_mapped(ours, sd, fusion_key_map(ours), "ckpt", "official decoder_pose1") == len(sd) == 16
    assert torch.equal(ours.q_v.weight, sd["attn.q_map.weight"]) and ours.pose_lambda.item() == pytest.approx(0.3)
    x, pose = torch.randn(3, 10, d), torch.randn(3, 10, 128) * 50
    expected = official_pose_attn_forward(sd, x, pose, heads)
    assert torch.allclose(ours(x, pose), expected, atol=1e-5)
    with pytest.raises(ConfigError, match="need fusion 'logits'"):
        fusion_key_map(PoseGuidedFusion(d, 128, heads, "weighted"))


@pytest.mark.parametrize("qkv_bias", [False, True])
def test_decoder_qkv_are_packed_and_reproduce_the_official_output(qkv_bias: bool) -> None:
    d, heads, layers = 16, 2, 3
    ours = StageDecoder(d, heads, layers, qkv_bias=qkv_bias).eval()
    sd = official_decoder(d, layers, qkv_bias)
    source, key_map = decoder_state(ours, sd, "ckpt", "official decoder1")
    assert load_mapped(ours, source, key_map, "ckpt", "official decoder1") == len(ours.state_dict())
    w = ours.blocks[1].attn.in_proj_weight
    assert torch.equal(w[:d], sd["model.1.attn.q_map.weight"]) and torch.equal(w[d:2 * d], sd["model.1.attn.k_map.weight"])
    assert torch.equal(w[2 * d:], sd["model.1.attn.v_map.weight"])
    assert torch.equal(ours.blocks[2].norm_m.weight, sd["model.2.norm_v.weight"])
    q, m = torch.randn(2, 10, d), torch.randn(2, 10, d)
    assert torch.allclose(ours(q, m), official_decoder_forward(sd, q, m, heads, layers), atol=1e-5)


def test_wrong_state_dicts_fail_naming_the_key() -> None:
    d = 16
    dec = StageDecoder(d, 2, 2, qkv_bias=False)
    sd = official_decoder(d, 2)
    del sd["model.1.attn.k_map.weight"]
    with pytest.raises(InputError, match=r"^ckpt: official decoder1 weights: missing key model\.1\.attn\.k_map\.weight "
                                          r"\(our blocks\.1\.attn\.in_proj_weight\)$"):
        decoder_state(dec, sd, "ckpt", "official decoder1")
    sd = official_decoder(d, 2)
    sd["model.0.attn.v_map.weight"] = _rand(d, d + 1)
    with pytest.raises(InputError, match=r"key model\.0\.attn\.v_map\.weight has shape \(16, 17\), expected \(16, 16\)"):
        decoder_state(dec, sd, "ckpt", "official decoder1")
    with pytest.raises(InputError, match=r"unexpected key model\.0\.attn\.q_map\.bias .*decoder_qkv_bias"):
        decoder_state(dec, official_decoder(d, 2, qkv_bias=True), "ckpt", "official decoder1")
    source, key_map = decoder_state(dec, {**official_decoder(d, 3)}, "ckpt", "official decoder1")
    with pytest.raises(InputError, match=r"unexpected key model\.2\."):  # a 3-layer decoder into a 2-layer one
        load_mapped(dec, source, key_map, "ckpt", "official decoder1")
    fusion = PoseGuidedFusion(d, 128, 2, "logits", prenorm=True, qkv_bias=False)
    bad = official_pose_attn(d, pose_dim=64)
    with pytest.raises(InputError, match=r"key attn\.pose_map\.weight has shape \(16, 64\), expected \(16, 128\) "
                                         r"\(our pose_embed\.weight\)"):
        load_mapped(fusion, bad, fusion_key_map(fusion), "ckpt", "official decoder_pose1")


def _hpmcore_like() -> HPMCoRe:
    cfg = micro_config(fusion="logits", fusion_prenorm=True, fusion_qkv_bias=False, shared_decoder=True,
                       decoder_qkv_bias=False, decoder_heads=2, decoder_layers=2, skeletal_channels=(8, 128))
    return HPMCoRe(cfg).eval()


def test_whole_checkpoint_fills_every_fusion_block_and_both_decoders(tmp_path: Path) -> None:
    model = _hpmcore_like()
    d = model.config.d_model
    ckpt = {f"decoder_pose{k + 1}": official_pose_attn(d) for k in range(3)}
    ckpt["decoder1"] = {f"module.{k}": v for k, v in official_decoder(d, 2).items()}  # DataParallel prefix
    ckpt["decoder2"] = official_decoder(d, 2)
    ckpt.update({"epoch": 7, "rho_best": 0.93, "psnet_model": {"x": torch.zeros(1)}})
    torch.save(ckpt, tmp_path / "best.pth")
    read = read_official_checkpoint(tmp_path / "best.pth")
    copied = load_official_fusion_decoders(model, read, tmp_path / "best.pth")
    assert copied == 3 * 16 + 2 * (2 * 13)  # 16 tensors per fusion block; 13 per decoder block (q/k/v packed)
    assert torch.equal(model.fusion[2].k_v.weight, ckpt["decoder_pose3"]["attn.k_map.weight"])
    dec1 = model.regressor.decoders["motion"][0].blocks[0].attn.in_proj_weight
    assert torch.equal(dec1[:d], ckpt["decoder1"]["module.model.0.attn.q_map.weight"])
    dec2 = model.regressor.decoders["static"][0].blocks[1].attn.out_proj.bias
    assert torch.equal(dec2, ckpt["decoder2"]["model.1.attn.proj.bias"])
    del read["decoder2"]
    with pytest.raises(InputError, match=r"best\.pth: official checkpoint has no state dict 'decoder2'$"):
        load_official_fusion_decoders(model, read, tmp_path / "best.pth")
    with pytest.raises(ConfigError, match="hpmcore layout"):
        load_official_fusion_decoders(HPMCoRe(micro_config()), read, "x")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"junk\.pth: cannot read the official checkpoint"):
        read_official_checkpoint(tmp_path / "junk.pth")


# ----------------------------------------------------------------------------- the rest of the checkpoint


def official_c_channel(d_in: int, d: int) -> dict[str, torch.Tensor]:
    """``C_channel(fea_dim=d_in)``: layer0 d_in -> d_in + 128, layer1 -> d (256 in the code)."""
    return {**_linear("layer0", d_in, d_in + 128), **_linear("layer1", d_in + 128, d)}


def official_mlp_score(d: int) -> dict[str, torch.Tensor]:
    """``MLP_score(in_channel=d, out_channel=1)``: layer1 d -> 256, layer2 -> 64, layer3 -> 1."""
    return {**_linear("layer1", d, 256), **_linear("layer2", 256, 64), **_linear("layer3", 64, 1)}


def official_spot_gru(d_in: int, hidden: int, classes: int = 2) -> dict[str, torch.Tensor]:
    """``SpotModel(classes, 'gru', feat_dim=d_in)``: one bidirectional GRU layer + FCPrediction."""
    sd = {}
    for sfx in ("", "_reverse"):
        sd.update({f"_pred_fine._gru.weight_ih_l0{sfx}": _rand(3 * hidden, d_in),
                   f"_pred_fine._gru.weight_hh_l0{sfx}": _rand(3 * hidden, hidden),
                   f"_pred_fine._gru.bias_ih_l0{sfx}": _rand(3 * hidden), f"_pred_fine._gru.bias_hh_l0{sfx}": _rand(3 * hidden)})
    sd.update(_linear("_pred_fine._fc_out._fc_out", 2 * hidden, classes))
    return sd


def _conv(prefix: str, c_in: int, c_out: int, k: int = 1) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": _rand(c_out, c_in, k), f"{prefix}.bias": _rand(c_out)}


def official_spot_asformer(d_in: int, classes: int, layers: int, decoders: int, f: int = 64) -> dict[str, torch.Tensor]:
    """``SpotModel(classes, 'asformer', d_in)`` -> ``MyTransformer``: every AttModule with its q/k/v convs."""
    sd: dict[str, torch.Tensor] = {}
    stages = [("encoder", d_in)] + [(f"decoders.{s}", classes) for s in range(decoders)]
    for stage, c_in in stages:
        p = f"_pred_fine._net.{stage}"
        sd.update({**_conv(f"{p}.conv_1x1", c_in, f), **_conv(f"{p}.conv_out", f, classes)})
        for i in range(layers):
            q = f"{p}.layers.{i}"
            sd.update({**_conv(f"{q}.feed_forward.layer.0", f, f, 3), **_conv(f"{q}.conv_1x1", f, f),
                       **_conv(f"{q}.att_layer.query_conv", f, f // 2), **_conv(f"{q}.att_layer.key_conv", f, f // 2),
                       **_conv(f"{q}.att_layer.value_conv", f, f // 2), **_conv(f"{q}.att_layer.conv_out", f // 2, f)})
    return sd


def official_asformer_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, layers: int, decoders: int) -> torch.Tensor:
    """Eval-mode ASFormer of HP-MCoRe's copy, written out: x (B, T, C) -> last decoder's logits (B, T, K-1).
    With a hard window mask: the code's soft mask (weight 1e-6 for keys of the block's span outside the
    window; reproduced by ``soft_window_attention``, checked against the code's own file by
    ``benchmarks/asformer_reference_check.py``) changes these small random-weight outputs by less than 1e-5."""
    from fdpose.aqa_model.asformer import window_mask

    def conv(t: torch.Tensor, p: str, dil: int = 1) -> torch.Tensor:
        w = sd[f"{p}.weight"]
        return F.conv1d(t, w, sd[f"{p}.bias"], padding=dil * (w.shape[-1] // 2), dilation=dil)

    def stage(inp: torch.Tensor, p: str, values: torch.Tensor | None, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
        feat = conv(inp, f"{p}.conv_1x1")
        for i in range(layers):
            q, w = f"{p}.layers.{i}", 2 ** i
            out = F.relu(conv(feat, f"{q}.feed_forward.layer.0", w))
            n = F.instance_norm(out)
            qq, kk = conv(n, f"{q}.att_layer.query_conv"), conv(n, f"{q}.att_layer.key_conv")
            vv = conv(n if values is None else values, f"{q}.att_layer.value_conv")
            energy = torch.einsum("bci,bcj->bij", qq, kk) / qq.shape[1] ** 0.5
            att = energy.masked_fill(~window_mask(n.shape[-1], w), float("-inf")).softmax(-1)
            out = alpha * conv(F.relu(torch.einsum("bij,bcj->bci", att, vv)), f"{q}.att_layer.conv_out") + out
            feat = feat + conv(out, f"{q}.conv_1x1")
        return conv(feat, f"{p}.conv_out"), feat

    logits, feat = stage(x.transpose(1, 2), "_pred_fine._net.encoder", None, 1.0)
    for s in range(decoders):
        logits, feat = stage(logits.softmax(dim=1), f"_pred_fine._net.decoders.{s}", feat, math.exp(-3 * s))
    return logits.transpose(1, 2)


def _full_checkpoint(model: HPMCoRe, psnet: dict[str, torch.Tensor]) -> dict[str, object]:
    d = model.config.d_model
    ckpt: dict[str, object] = {f"decoder_pose{k + 1}": official_pose_attn(d) for k in range(3)}
    ckpt.update({"decoder1": official_decoder(d, 2), "decoder2": official_decoder(d, 2), "psnet_model": psnet,
                 "regressor_delta1": official_mlp_score(d), "regressor_delta2": official_mlp_score(d)})
    motion_in = model.reducers["motion"][0][0].in_features
    static_in = model.reducers["static"][0][0].in_features
    for k in range(3):
        ckpt[f"i3d_dim_reducer{k + 1}"] = official_c_channel(motion_in, d)
        ckpt[f"res_dim_reducer{k + 1}"] = official_c_channel(static_in, d)
        ckpt[f"learning_par{k + 1}"] = {"logit_scale": torch.tensor(math.log(k + 1.0))}
    return ckpt


@pytest.mark.parametrize("head", ["bigru", "asformer"])
def test_whole_pairwise_part_and_segmenter_load(head: str) -> None:
    cfg = dict(fusion="logits", fusion_prenorm=True, fusion_qkv_bias=False, shared_decoder=True, decoder_qkv_bias=False,
               decoder_heads=2, decoder_layers=2, skeletal_channels=(8, 128), reducer_hidden="in_plus_128",
               mlp_hidden=256, segmentation_head=head, segmentation_input="static", segmentation_hidden=24,
               asformer_channels=8, asformer_layers=3, asformer_decoders=2)
    model = HPMCoRe(micro_config(**cfg)).eval()
    seg_in = model.config.static_dim_out
    psnet = official_spot_gru(seg_in, 24) if head == "bigru" else official_spot_asformer(seg_in, 2, 3, 2, f=8)
    copied = load_official_checkpoint(model, _full_checkpoint(model, psnet), "best.pth")
    assert copied["reducers"] == 6 * 4 and copied["score_mlps"] == 2 * 6 and copied["stage_weights"] == 3
    # stage weights: exp(logit_scale) normalised = 1/6, 2/6, 3/6
    assert torch.allclose(model.regressor.stage_weights(), torch.tensor([1.0, 2.0, 3.0]) / 6)
    x = torch.randn(2, 16, seg_in)
    assert model.segmenter is not None
    if head == "bigru":
        assert copied["segmenter"] == len(psnet)
        assert torch.equal(model.segmenter.head.gru.weight_hh_l0_reverse, psnet["_pred_fine._gru.weight_hh_l0_reverse"])
        h = model.segmenter.head.gru(x)[0]
        expected = F.linear(h, psnet["_pred_fine._fc_out._fc_out.weight"], psnet["_pred_fine._fc_out._fc_out.bias"])
    else:
        assert copied["segmenter"] == len(psnet) - 3 * 4  # block 0's query/key conv weights and biases, 3 stages
        expected = official_asformer_forward(psnet, x, 3, 2)
    assert torch.allclose(model.segmenter.head(x), expected, atol=1e-5)
    ckpt = _full_checkpoint(model, psnet)
    ckpt["learning_par2"] = {"logit_scale": torch.zeros(2)}
    with pytest.raises(InputError, match=r"^best\.pth: official learning_par2 weights: expected the single scalar"):
        load_official_checkpoint(model, ckpt, "best.pth")
