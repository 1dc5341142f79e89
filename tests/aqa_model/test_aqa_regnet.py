"""RegNetY-002 + gate-shift modules (aqa_model/encoders/regnet.py): sizes, GSM placement and
initialisation as the official MCoRe / HP-MCoRe code builds them, temporal behaviour, frozen BN."""

from __future__ import annotations

import pytest
import torch

from fdpose.aqa_model.encoders.regnet import (GateShift, RegNetGSMEncoder, RegNetYGSM, ShiftedConv, YBlock,
                                              freeze_batchnorm, gsm_channel_order, gsm_fold)
from fdpose.errors import ConfigError


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_full_size_parameter_counts() -> None:
    plain = RegNetYGSM(gsm=False)
    gsm = RegNetYGSM()
    # timm regnety_002 has 3,162,996 parameters; its classifier head.fc is 368 * 1000 + 1000
    assert _count(plain) == 3_162_996 - 369_000
    # method.md 3.8: RegNetY-002-GSM ~2.8 M; the GSMs add 29 * fold + 2 each (conv3D 27 fold + 2, BN3d 2 fold)
    folds = [m.fold for m in gsm.modules() if isinstance(m, ShiftedConv)]
    assert _count(gsm) - _count(plain) == sum(29 * f + 2 for f in folds) == 21_602
    assert _count(gsm) == 2_815_598
    assert gsm.out_dim == 368


def test_gsm_sits_on_every_blocks_first_conv_with_the_codes_fold() -> None:
    net = RegNetYGSM()
    blocks = [(name, m) for name, m in net.named_modules() if isinstance(m, YBlock)]
    assert [name for name, _ in blocks] == ["s1.b1", "s2.b1"] + [f"s3.b{i}" for i in range(1, 5)] + [
        f"s4.b{i}" for i in range(1, 8)]
    assert all(isinstance(b.conv1, ShiftedConv) for _, b in blocks)
    assert not any(isinstance(m, ShiftedConv) for _, b in blocks for m in (b.conv2, b.conv3))
    # block input channels 32, 24, 56, 152 x3, 152, 368 x6; fold = ceil((C // 4) / 4) * 4
    assert [b.conv1.fold for _, b in blocks] == [8, 8, 16, 40, 40, 40, 40] + [92] * 6
    assert gsm_fold(368) == 92 and gsm_fold(24) == 8 and gsm_fold(56) == 16
    assert set(RegNetYGSM().state_dict()) >= {"s4.b7.conv1.net.conv.weight", "s4.b7.conv1.gsm.conv3D.weight",
                                             "s4.b7.conv1.gsm.bn.running_var", "s1.b1.se.fc1.bias",
                                             "s2.b1.downsample.bn.weight", "stem.conv.weight"}


def test_gsm_starts_with_zero_gates_and_only_regroups_channels() -> None:
    gsm = GateShift(8)
    assert torch.count_nonzero(gsm.conv3D.weight) == 0 and torch.count_nonzero(gsm.conv3D.bias) == 0
    x = torch.randn(2 * 5, 8, 3, 3)
    y = gsm(x, num_frames=5)
    # each half of 4 channels: (2, 2) -> transposed: old channel i * 2 + j -> new 2 j + i
    assert gsm_channel_order(8).tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    assert torch.equal(y, x[:, [0, 2, 1, 3, 4, 6, 5, 7]])


def _reference_gsm(x: torch.Tensor, gate: torch.Tensor, frames: int) -> torch.Tensor:
    """Gate shift by explicit loops (GSM paper + the code's regrouping). x (B*T, F, H, W), gate (B, 2, T, H, W)."""
    bt, f, h, w = x.shape
    b = bt // frames
    xv = x.view(b, frames, f, h, w)
    half, quarter = f // 2, f // 4
    pre = torch.zeros_like(xv)
    for v in range(b):
        for t in range(frames):
            for c in range(f):
                g = gate[v, 0 if c < half else 1, t]
                keep = xv[v, t, c] * (1 - g)
                src = t + 1 if c < half else t - 1  # half 1 takes the next frame's, half 2 the previous one's
                moved = xv[v, src, c] * gate[v, 0 if c < half else 1, src] if 0 <= src < frames else 0
                pre[v, t, c] = keep + moved
    out = torch.empty_like(pre)
    for c in range(f):
        base, k = (0, c) if c < half else (half, c - half)
        i, j = divmod(k, quarter)  # old position i * quarter + j inside the half
        out[:, :, base + 2 * j + i] = pre[:, :, c]
    return out.view(bt, f, h, w)


def test_gsm_shift_matches_loop_reference_with_a_nonzero_gate() -> None:
    gsm = GateShift(8).eval()
    with torch.no_grad():
        gsm.conv3D.weight.normal_(0, 0.3)
        gsm.conv3D.bias.copy_(torch.tensor([0.4, -0.7]))
        gsm.bn.running_mean.normal_()
        gsm.bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2 * 4, 8, 3, 2)
    with torch.no_grad():
        xs = x.view(2, 4, 8, 3, 2).transpose(1, 2)
        gate = torch.tanh(gsm.conv3D(torch.relu(gsm.bn(xs))))
        got = gsm(x, num_frames=4)
    assert torch.allclose(got, _reference_gsm(x, gate, 4), atol=1e-6)


def test_encoder_features_and_temporal_mixing() -> None:
    enc = RegNetGSMEncoder().eval()
    with torch.no_grad():  # timm's init zeroes every residual branch's last BN: open them so blocks matter
        for m in enc.modules():
            if isinstance(m, YBlock):
                m.conv3.bn.weight.fill_(1.0)
    video = torch.randn(1, 6, 3, 112, 112)
    with torch.no_grad():
        base = enc(video)
        changed = video.clone()
        changed[0, 3] = torch.randn(3, 112, 112)
        after = enc(changed)
    assert base.shape == (1, 6, 368) and torch.isfinite(base).all()
    # zero gates: every frame is encoded alone
    diff = (after - base).abs().amax(dim=-1)[0]
    assert diff[3] > 1e-3 and torch.count_nonzero(diff[[0, 1, 2, 4, 5]]) == 0
    with torch.no_grad():
        for m in enc.modules():
            if isinstance(m, GateShift):
                m.conv3D.bias.fill_(0.5)
        base, after = enc(video), enc(changed)
    diff = (after - base).abs().amax(dim=-1)[0]
    # open gates move features one frame per block: frame 3 now reaches its neighbours
    assert diff[2] > 1e-4 and diff[4] > 1e-4


def test_gsm_frames_must_split_the_batch() -> None:
    with pytest.raises(ValueError, match="not a whole number of 4-frame videos"):
        RegNetYGSM((8, 16), (1, 1), 4, 8)(torch.randn(6, 3, 16, 16), num_frames=4)
    with pytest.raises(ConfigError, match="gate shift needs at least 4 input channels"):
        RegNetYGSM((8,), (1,), 4, stem=2)


def test_frozen_batchnorm_keeps_running_statistics() -> None:
    video = torch.randn(2, 4, 3, 32, 32)
    frozen = RegNetGSMEncoder((8, 16), (1, 1), 4, 8, frozen_bn=True).train()
    free = RegNetGSMEncoder((8, 16), (1, 1), 4, 8).train()
    free.load_state_dict(frozen.state_dict())
    before = {k: v.clone() for k, v in frozen.state_dict().items() if "running" in k}
    assert all(not m.training for m in frozen.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    frozen(video).sum().backward()
    free(video)
    after, moved = frozen.state_dict(), free.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(before[k], moved[k]) for k in before)
    # the affine weights still learn (the code only puts BN in eval mode)
    assert frozen.trunk.stem.bn.weight.grad is not None
    freeze_batchnorm(free)
    assert not free.trunk.s1.b1.conv1.gsm.bn.training
