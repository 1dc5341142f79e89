"""Pretrained weights in their PUBLIC layouts (aqa_model/encoders/weights.py): timm ``regnety_002``
and both Kinetics I3D layouts. The state dicts are generated here from the layouts' descriptions
(names and shapes written out below, independently of our modules), never downloaded."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from fdpose.aqa_model.encoders.i3d import InceptionI3D, load_kinetics_i3d
from fdpose.aqa_model.encoders.regnet import RegNetGSMEncoder, RegNetYGSM, ShiftedConv
from fdpose.aqa_model.encoders.weights import detect_i3d_layout, load_timm_regnet, read_state_dict, weights_record
from fdpose.errors import InputError
from fdpose.io import file_sha256

# ----------------------------------------------------------------------------- layouts (descriptions)


def timm_regnety_002_layout(widths: tuple[int, ...] = (24, 56, 152, 368), depths: tuple[int, ...] = (1, 1, 4, 7),
                            group: int = 8, stem: int = 32, classes: int = 1000) -> dict[str, tuple[int, ...]]:
    """timm regnety_002: stem ConvNormAct 3->32 s2; stages s1..s4 of widths 24/56/152/368 and
    depths 1/1/4/7; block bY = conv1 (1x1), conv2 (3x3, groups width/8), se.fc1/fc2 (1x1 convs with
    bias, round(block input * 0.25) wide), conv3 (1x1), downsample (1x1) in each stage's b1; head.fc 368->1000.
    Other sizes give the same family in miniature (for CPU-sized runs)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv_bn(prefix: str, cin: int, cout: int, k: int, groups: int = 1) -> None:
        shapes[f"{prefix}.conv.weight"] = (cout, cin // groups, k, k)
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.bn.{leaf}"] = (cout,)
        shapes[f"{prefix}.bn.num_batches_tracked"] = ()

    conv_bn("stem", 3, stem, 3)
    cin = stem
    for s, (width, depth) in enumerate(zip(widths, depths), start=1):
        for b in range(1, depth + 1):
            p = f"s{s}.b{b}"
            se = int(round(cin * 0.25))
            conv_bn(f"{p}.conv1", cin, width, 1)
            conv_bn(f"{p}.conv2", width, width, 3, groups=width // group)
            shapes.update({f"{p}.se.fc1.weight": (se, width, 1, 1), f"{p}.se.fc1.bias": (se,),
                           f"{p}.se.fc2.weight": (width, se, 1, 1), f"{p}.se.fc2.bias": (width,)})
            conv_bn(f"{p}.conv3", width, width, 1)
            if b == 1:
                conv_bn(f"{p}.downsample", cin, width, 1)
            cin = width
    shapes["head.fc.weight"], shapes["head.fc.bias"] = (classes, widths[-1]), (classes,)
    return shapes


#: Inception-v1 blocks of I3D: (name, input channels, b0, b1a, b1b, b2a, b2b, b3b)
_I3D_MIXED = (("3b", 192, 64, 96, 128, 16, 32, 32), ("3c", 256, 128, 128, 192, 32, 96, 64),
              ("4b", 480, 192, 96, 208, 16, 48, 64), ("4c", 512, 160, 112, 224, 24, 64, 64),
              ("4d", 512, 128, 128, 256, 24, 64, 64), ("4e", 512, 112, 144, 288, 32, 64, 64),
              ("4f", 528, 256, 160, 320, 32, 128, 128), ("5b", 832, 256, 160, 320, 32, 128, 128),
              ("5c", 832, 384, 192, 384, 48, 128, 128))


def piergiaj_i3d_layout() -> dict[str, tuple[int, ...]]:
    """pytorch-i3d (piergiaj) InceptionI3d(400): Unit3D = conv3d (no bias) + bn (BatchNorm3d, no
    num_batches_tracked in the PyTorch-0.3 files); Mixed_* have b0, b1a, b1b, b2a, b2b, b3b; logits
    is a biased 1x1x1 conv to 400 classes."""
    shapes: dict[str, tuple[int, ...]] = {}

    def unit(name: str, cin: int, cout: int, k: int) -> None:
        shapes[f"{name}.conv3d.weight"] = (cout, cin, k, k, k)
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.bn.{leaf}"] = (cout,)

    shapes["Conv3d_1a_7x7.conv3d.weight"] = (64, 3, 7, 7, 7)
    for leaf in ("weight", "bias", "running_mean", "running_var"):
        shapes[f"Conv3d_1a_7x7.bn.{leaf}"] = (64,)
    unit("Conv3d_2b_1x1", 64, 64, 1)
    unit("Conv3d_2c_3x3", 64, 192, 3)
    for name, cin, b0, b1a, b1b, b2a, b2b, b3b in _I3D_MIXED:
        m = f"Mixed_{name}"
        unit(f"{m}.b0", cin, b0, 1)
        unit(f"{m}.b1a", cin, b1a, 1)
        unit(f"{m}.b1b", b1a, b1b, 3)
        unit(f"{m}.b2a", cin, b2a, 1)
        unit(f"{m}.b2b", b2a, b2b, 3)
        unit(f"{m}.b3b", cin, b3b, 1)
    shapes["logits.conv3d.weight"], shapes["logits.conv3d.bias"] = (400, 1024, 1, 1, 1), (400,)
    return shapes


def piergiaj_to_ours(key: str) -> str:
    """The test's own translation (written from the two layouts, not from the loader)."""
    branch = {"b0": "branch_0", "b1a": "branch_1.0", "b1b": "branch_1.1", "b2a": "branch_2.0", "b2b": "branch_2.1",
              "b3b": "branch_3.1"}
    parts = key.split(".")
    if parts[0].startswith("Mixed_"):
        parts = ["mixed_" + parts[0][6:], branch[parts[1]]] + parts[2:]
    else:
        parts[0] = parts[0].lower()
    return ".".join(parts).replace(".bn.", ".batch3d.")


def generate(layout: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of the layout's shapes: weights N(0, 1/fan_in), BN statistics plausible."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(1000)
        elif key.endswith("running_var"):
            out[key] = torch.rand(shape, generator=g) + 0.5
        elif key.endswith(("bn.weight", "bn.bias", "running_mean")) or len(shape) == 1:
            out[key] = torch.randn(shape, generator=g) * 0.1 + (1.0 if key.endswith("bn.weight") else 0.0)
        else:
            fan_in = int(np.prod(shape[1:]))
            out[key] = torch.randn(shape, generator=g) / fan_in ** 0.5
    return out


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """The safetensors format by its specification: header size (u64 LE), JSON header, raw data."""
    header, blobs, offset = {}, [], 0
    for key, t in tensors.items():
        data = t.contiguous().numpy().astype("<f4" if t.is_floating_point() else "<i8").tobytes()
        header[key] = {"dtype": "F32" if t.is_floating_point() else "I64", "shape": list(t.shape),
                       "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


# ----------------------------------------------------------------------------- RegNetY


def test_timm_layout_description_fits_our_trunk_names() -> None:
    layout = timm_regnety_002_layout()
    n_params = sum(int(np.prod(s)) for k, s in layout.items() if "running" not in k and "num_batches" not in k)
    assert n_params == 3_162_996  # timm's regnety_002 parameter count
    ours = RegNetYGSM(gsm=False).state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: s for k, s in layout.items()
                                                             if not k.startswith("head.")}


def _permuted_plain(source: dict[str, torch.Tensor]) -> RegNetYGSM:
    """A gate-less RegNet that computes what the GSM network computes with closed gates: the GSM
    regroups conv1's first ``fold`` input channels, so conv1's weight columns are regrouped alike."""
    plain = RegNetYGSM(gsm=False)
    state = {k: v.clone() for k, v in source.items() if not k.startswith("head.")}
    for name, mod in RegNetYGSM().named_modules():
        if isinstance(mod, ShiftedConv):
            w = state[f"{name}.conv.weight"]
            order = mod.gsm.order
            w[:, order] = w[:, :mod.fold].clone()
    plain.load_state_dict(state)
    return plain.eval()


def test_timm_regnet_loads_exactly_and_reproduces_the_network(tmp_path: Path) -> None:
    source = generate(timm_regnety_002_layout())
    path = tmp_path / "regnety_002.pth"
    torch.save(source, path)
    enc = RegNetGSMEncoder(weights=str(path)).eval()
    state = enc.trunk.state_dict()
    for key, value in source.items():
        if not key.startswith("head."):
            ours = key.replace(".conv1.", ".conv1.net.")
            assert torch.equal(state[ours], value), key
    gsm_keys = [k for k in state if ".gsm.conv3D." in k]
    assert len(gsm_keys) == 26 and all(torch.count_nonzero(state[k]) == 0 for k in gsm_keys)  # the code's init
    video = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        got = enc(video)
        plain = RegNetYGSM(gsm=False)
        plain.load_state_dict({k: v for k, v in source.items() if not k.startswith("head.")})
        direct = plain.eval()(video.flatten(0, 1), 4).view(1, 4, -1)
        expected = _permuted_plain(source)(video.flatten(0, 1), 4).view(1, 4, -1)
    assert got.shape == (1, 4, 368)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)
    # the GSM's channel regrouping is not the identity: ImageNet features are not reproduced as such
    assert not torch.allclose(got, direct, rtol=1e-3, atol=1e-3)


def test_timm_regnet_from_safetensors_and_wrapped_checkpoints(tmp_path: Path) -> None:
    source = generate(timm_regnety_002_layout(), seed=1)
    st = tmp_path / "model.safetensors"
    write_safetensors(st, source)
    read = read_state_dict(st, "RegNetY")
    assert set(read) == set(source) and all(torch.equal(read[k], source[k]) for k in source)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in source.items()}}, wrapped)
    a, b = RegNetYGSM(), RegNetYGSM()
    assert load_timm_regnet(a, st) == load_timm_regnet(b, wrapped) == len(source) - 2
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


@pytest.mark.parametrize("edit, message", [
    ("shape", "weights: key s3.b2.conv2.conv.weight has shape (152, 152, 3, 3), expected (152, 8, 3, 3)"),
    ("missing", "missing key s4.b7.conv1.bn.running_var (our s4.b7.conv1.net.bn.running_var)"),
    ("unexpected", "unexpected key s5.b1.conv1.conv.weight"),
    ("resnet", "missing key stem.conv.weight"),
])
def test_wrong_regnet_file_names_the_first_key(tmp_path: Path, edit: str, message: str) -> None:
    source = generate(timm_regnety_002_layout())
    if edit == "shape":  # a dense 3x3 where RegNetY groups by 8
        source["s3.b2.conv2.conv.weight"] = torch.zeros(152, 152, 3, 3)
    elif edit == "missing":
        del source["s4.b7.conv1.bn.running_var"]
    elif edit == "unexpected":
        source["s5.b1.conv1.conv.weight"] = torch.zeros(8, 368, 1, 1)
    else:  # a torchvision ResNet given as --static-weights
        source = {"conv1.weight": torch.zeros(64, 3, 7, 7), "bn1.weight": torch.ones(64)}
    path = tmp_path / "bad.pth"
    torch.save(source, path)
    with pytest.raises(InputError) as err:
        RegNetGSMEncoder(weights=str(path))
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


# ----------------------------------------------------------------------------- I3D


def _randomised_i3d() -> InceptionI3D:
    model = InceptionI3D(1.0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif name.endswith(("running_mean", "batch3d.bias")):
                t.normal_(0, 0.1)
    return model.eval()


def test_piergiaj_layout_description_fits_our_trunk() -> None:
    layout = piergiaj_i3d_layout()
    ours = {k: tuple(v.shape) for k, v in InceptionI3D(1.0).state_dict().items()
            if not k.endswith("num_batches_tracked")}
    assert {piergiaj_to_ours(k): s for k, s in layout.items() if not k.startswith("logits.")} == ours
    # method.md 3.8: I3D trunk 12.29 M parameters
    assert sum(int(np.prod(s)) for k, s in layout.items() if "running" not in k and "logits" not in k) == 12_287_264


def test_piergiaj_i3d_loads_exactly_and_reproduces_the_module(tmp_path: Path) -> None:
    model = _randomised_i3d()
    layout = piergiaj_i3d_layout()
    ours = model.state_dict()
    source = {k: ours[piergiaj_to_ours(k)].clone() for k in layout if not k.startswith("logits.")}
    source["logits.conv3d.weight"] = torch.randn(400, 1024, 1, 1, 1)
    source["logits.conv3d.bias"] = torch.randn(400)
    assert {k: tuple(v.shape) for k, v in source.items()} == layout
    path = tmp_path / "rgb_imagenet.pt"
    torch.save(source, path)
    assert detect_i3d_layout(source) == "pytorch-i3d"
    target = InceptionI3D(1.0)
    load_kinetics_i3d(target, path)
    clip = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        assert torch.equal(target.eval()(clip), model(clip))
    bad = dict(source)
    bad["Mixed_4c.b2b.conv3d.weight"] = torch.zeros(64, 24, 3, 3, 1)
    torch.save(bad, path)
    with pytest.raises(InputError, match=r"I3D \(pytorch-i3d layout\) weights: key Mixed_4c.b2b.conv3d.weight "
                                         r"has shape \(64, 24, 3, 3, 1\), expected \(64, 24, 3, 3, 3\) "
                                         r"\(our mixed_4c.branch_2.1.conv3d.weight\)"):
        load_kinetics_i3d(InceptionI3D(1.0), path)
    del bad["Mixed_4c.b2b.conv3d.weight"]
    torch.save(bad, path)
    with pytest.raises(InputError, match="missing key Mixed_4c.b2b.conv3d.weight"):
        load_kinetics_i3d(InceptionI3D(1.0), path)


def test_weights_record_is_path_and_sha256(tmp_path: Path) -> None:
    path = tmp_path / "w.pth"
    path.write_bytes(b"abc")
    rec = weights_record(path)
    assert rec == {"path": str(path.resolve()), "bytes": 3,
                   "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
    assert file_sha256(path) == rec["sha256"] and weights_record(None) is None


def test_hpmcore_weight_files_are_checked_and_recorded(tmp_path: Path) -> None:
    import dataclasses

    from fdpose.aqa_model.presets import preset
    from fdpose.aqa_model.encoders.pretrained import verify_pretrained

    i3d = generate(piergiaj_i3d_layout())
    regnet = generate(timm_regnety_002_layout(), seed=2)
    torch.save(i3d, tmp_path / "rgb_imagenet.pt")
    write_safetensors(tmp_path / "model.safetensors", regnet)
    cfg = dataclasses.replace(preset("hpmcore"), i3d_weights=str(tmp_path / "rgb_imagenet.pt"),
                              regnet_weights=str(tmp_path / "model.safetensors"))
    records = verify_pretrained(cfg)
    assert records["i3d"]["layout"] == "pytorch-i3d" and records["static"]["layout"] == "timm regnety"
    assert records["static"]["sha256"] == file_sha256(tmp_path / "model.safetensors")
    del regnet["s2.b1.se.fc2.bias"]
    write_safetensors(tmp_path / "model.safetensors", regnet)
    with pytest.raises(InputError, match=r"missing key s2\.b1\.se\.fc2\.bias"):
        verify_pretrained(cfg)
    assert verify_pretrained(preset("tiny")) == {}  # no visual encoder, nothing to check


def test_weights_for_a_switched_off_encoder_are_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    import dataclasses
    import logging

    from fdpose.aqa_model.presets import preset
    from fdpose.aqa_model.encoders.pretrained import verify_pretrained

    cfg = dataclasses.replace(preset("tiny"), i3d_weights="missing_i3d.pt", resnet_weights="missing_resnet.pth")
    with caplog.at_level(logging.WARNING, logger="fdpose.aqa_model.encoders.pretrained"):
        assert verify_pretrained(cfg) == {}
    assert "I3D weights missing_i3d.pt ignored: config 'tiny' has no I3D encoder" in caplog.text
    assert "static weights missing_resnet.pth ignored: config 'tiny' has no static encoder" in caplog.text


def test_safetensors_half_precision_tensors_read_as_their_values(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(4, 3, generator=g), torch.randn(5, generator=g)
    blobs = {"a": (a.to(torch.bfloat16).view(torch.int16).numpy().tobytes(), "BF16", [4, 3]),
             "b": (b.to(torch.float16).numpy().astype("<f2").tobytes(), "F16", [5])}
    header, offset = {}, 0
    for key, (data, dtype, shape) in blobs.items():
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    head = json.dumps({"__metadata__": {"format": "pt"}, **header}).encode()
    path = tmp_path / "half.safetensors"
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(d for d, _, _ in blobs.values()))
    read = read_state_dict(path, "test")
    assert torch.equal(read["a"], a.to(torch.bfloat16).float())
    assert torch.equal(read["b"], b.to(torch.float16))
    (tmp_path / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{nope")
    with pytest.raises(InputError, match="cannot load test weights"):
        read_state_dict(tmp_path / "bad.safetensors", "test")


class _Planted:
    """A pickled object that would create a file when unpickled by plain pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_unsafe_empty_and_broken_weight_files_are_one_line_errors(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"stem.conv.weight": _Planted(marker)}, protocol=2))
    with pytest.raises(InputError, match="refused to load RegNetY weights: the file holds Python objects") as err:
        read_state_dict(evil, "RegNetY")
    assert not marker.exists() and "weights_only" not in str(err.value)  # torch's unsafe retry advice dropped
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"cannot load RegNetY weights: not a plain state dict \(Unsupported"):
        read_state_dict(tmp_path / "junk.pth", "RegNetY")
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(InputError, match="cannot load RegNetY weights: EOFError"):
        read_state_dict(tmp_path / "empty.pth", "RegNetY")
    (tmp_path / "short.safetensors").write_bytes((10 ** 12).to_bytes(8, "little") + b"{}")
    with pytest.raises(InputError, match=r"not a safetensors file \(header of 1000000000000 bytes in a 10-byte file\)"):
        read_state_dict(tmp_path / "short.safetensors", "RegNetY")
