"""Visual encoders: ResNet / I3D weight loaders (local files), clip layout, temporal shift, shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fdpose.aqa_model.encoders.frame2d import Frame2DBackbone, temporal_shift
from fdpose.aqa_model.encoders.i3d import (DynamicVisualEncoder, InceptionI3D, clip_to_frame_weights,
                                           load_kinetics_i3d, same_padding)
from fdpose.aqa_model.encoders.static import ResNet, StaticVisualEncoder, load_torchvision_resnet
from fdpose.errors import InputError


def test_resnet50_has_torchvision_key_layout() -> None:
    state = ResNet().state_dict()
    assert len(state) == 318  # torchvision resnet50: 320 keys, minus fc.weight / fc.bias
    assert state["conv1.weight"].shape == (64, 3, 7, 7)
    assert state["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert state["layer3.5.conv2.weight"].shape == (256, 256, 3, 3)
    assert state["layer4.2.bn3.running_var"].shape == (2048,)
    assert "layer4.2.bn3.num_batches_tracked" in state
    assert sum(p.numel() for p in ResNet().parameters()) == 23_508_032


def test_torchvision_resnet_loader_round_trip(tmp_path: Path) -> None:
    source = ResNet((1, 1, 1, 1), 8)
    state = dict(source.state_dict())
    state["fc.weight"] = torch.randn(10, source.out_channels)  # classifier is ignored
    state["fc.bias"] = torch.randn(10)
    path = tmp_path / "resnet.pth"
    torch.save(state, path)
    target = ResNet((1, 1, 1, 1), 8)
    load_torchvision_resnet(target, path)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, path)  # wrapped checkpoint
    load_torchvision_resnet(ResNet((1, 1, 1, 1), 8), path)
    with pytest.raises(InputError) as err:
        load_torchvision_resnet(ResNet((1, 1, 1, 1), 16), path)
    assert str(path) in str(err.value) and "shape" in str(err.value)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot load ResNet weights"):
        load_torchvision_resnet(target, tmp_path / "junk.pth")


def test_i3d_has_kinetics_i3d_pytorch_key_layout() -> None:
    state = InceptionI3D(1.0).state_dict()
    assert state["conv3d_1a_7x7.conv3d.weight"].shape == (64, 3, 7, 7, 7)
    assert state["conv3d_2c_3x3.batch3d.running_mean"].shape == (192,)
    assert state["mixed_3b.branch_0.conv3d.weight"].shape == (64, 192, 1, 1, 1)
    assert state["mixed_3b.branch_1.1.conv3d.weight"].shape == (128, 96, 3, 3, 3)
    assert state["mixed_4f.branch_2.0.batch3d.bias"].shape == (32,)
    assert state["mixed_5c.branch_3.1.conv3d.weight"].shape == (128, 832, 1, 1, 1)
    assert InceptionI3D(1.0).out_channels == 1024


def test_i3d_loader_round_trip(tmp_path: Path) -> None:
    source = InceptionI3D(0.0625)
    # model_rgb.pth predates num_batches_tracked and carries the Kinetics classifier
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    state["conv3d_0c_1x1.conv3d.weight"] = torch.randn(400, source.out_channels, 1, 1, 1)
    state["conv3d_0c_1x1.conv3d.bias"] = torch.randn(400)
    path = tmp_path / "model_rgb.pth"
    torch.save(state, path)
    target = InceptionI3D(0.0625)
    load_kinetics_i3d(target, path)
    for key, value in state.items():
        if not key.startswith("conv3d_0c_1x1"):
            assert torch.equal(target.state_dict()[key], value), key
    del state["mixed_4b.branch_0.conv3d.weight"]
    torch.save(state, path)
    with pytest.raises(InputError) as err:
        load_kinetics_i3d(InceptionI3D(0.0625), path)
    assert str(path) in str(err.value) and "mixed_4b.branch_0.conv3d.weight" in str(err.value)


def test_same_padding_matches_tensorflow() -> None:
    assert same_padding((7,), (3,), (2,)) == [1, 1]
    assert same_padding((8,), (3,), (2,)) == [0, 1]  # TF puts the extra cell at the end
    assert same_padding((16, 32, 32), (7, 7, 7), (2, 2, 2)) == [2, 3, 2, 3, 2, 3]


def test_clip_layout_and_frame_interpolation() -> None:
    enc = DynamicVisualEncoder(num_frames=96, clip_len=16, clip_stride=10, width=0.0625)
    assert enc.clip_starts == [0, 10, 20, 30, 40, 50, 60, 70, 80]
    w = clip_to_frame_weights(enc.clip_starts, 16, 96)
    assert w.shape == (96, 9) and np.allclose(w.sum(axis=1), 1.0)
    assert w[0, 0] == 1.0 and w[95, 8] == 1.0  # held flat before the first / after the last centre
    assert w[12, 0] == pytest.approx(0.55) and w[12, 1] == pytest.approx(0.45)  # centres 7.5 and 17.5


def test_dynamic_encoder_shapes_and_gradient(device: torch.device) -> None:
    enc = DynamicVisualEncoder(num_frames=16, clip_len=8, clip_stride=4, width=0.0625).to(device)
    video = torch.randn(2, 16, 3, 32, 32, device=device, requires_grad=True)
    clips = enc.clip_features(video)
    assert clips.shape == (2, 3, enc.out_dim)
    out = enc(video)
    assert out.shape == (2, 16, enc.out_dim)
    out.mean().backward()
    assert video.grad is not None and video.grad.abs().sum() > 0


def test_static_encoder_shapes_and_gradient(device: torch.device) -> None:
    enc = StaticVisualEncoder((1, 1, 1, 1), 8, out_dim=24).to(device)
    video = torch.randn(2, 5, 3, 32, 32, device=device, requires_grad=True)
    out = enc(video)
    assert out.shape == (2, 5, 24)
    out.mean().backward()
    assert video.grad is not None and video.grad.abs().sum() > 0


def test_temporal_shift_moves_channel_groups() -> None:
    t, c = 4, 8
    x = torch.arange(t, dtype=torch.float32).view(t, 1, 1, 1).expand(t, c, 1, 1).contiguous()
    y = temporal_shift(x, num_frames=t, shift_div=4).view(t, c)  # fold = 2 channels each way
    assert y[:, 0].tolist() == [0, 0, 1, 2]  # from the previous frame (zero at the start)
    assert y[:, 2].tolist() == [1, 2, 3, 0]  # from the next frame (zero at the end)
    assert y[:, 5].tolist() == [0, 1, 2, 3]  # untouched


def test_frame2d_backbone_mixes_time_only_with_shift() -> None:
    video = torch.randn(1, 6, 3, 32, 32)
    changed = video.clone()
    changed[0, 0] += 1.0
    for shift, mixes in ((8, True), (0, False)):
        torch.manual_seed(0)
        net = Frame2DBackbone((8, 16), (1, 1), 4, 8, shift_div=shift).eval()
        a, b = net(video), net(changed)
        assert a.shape == (1, 6, 16)
        assert (not torch.allclose(a[0, 1], b[0, 1])) is mixes  # frame 1 sees frame 0 only via the shift
    assert sum(p.numel() for p in Frame2DBackbone().parameters()) == 2_793_996  # RegNetY-002 trunk size
