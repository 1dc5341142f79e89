"""Check our RegNetY-002-GSM and I3D trunk against the reference implementations they reproduce (a developer tool).

    python benchmarks/encoder_reference_check.py --timm DIR [--mcore-gsm FILE] [--pytorch-i3d FILE] [--hpmcore-i3d FILE]

``--timm DIR``: a folder holding an unpacked ``timm`` wheel (``pip download timm --no-deps`` and
unzip it; timm is not a dependency of fdpose). torchvision is not installed here, so the few
torchvision modules timm imports at load time are replaced by mocks (regnet uses none of them).
Compares timm's ``regnety_002`` (random weights, every BatchNorm given non-trivial statistics,
classifier removed as MCoRe does) with our gate-less trunk loaded from timm's state dict through
:func:`fdpose.aqa_model.encoders.weights.load_timm_regnet`: parameter count, key sets, output.

``--mcore-gsm FILE``: MCoRe's ``models/impl/gsm.py`` (github:Angel-1999/MCoRe). Its ``_GSM`` pads
with ``torch.cuda.FloatTensor``; the file is run with a CPU tensor type instead. Compares it with
our :class:`GateShift` at random (non-zero) gates for three (fold, frames) pairs, and its
initialisation (zero gate convolution).

``--pytorch-i3d FILE``: piergiaj's ``pytorch_i3d.py``; ``--hpmcore-i3d FILE``: HP-MCoRe's
``models/i3d.py`` at 6bce799 (kinetics_i3d_pytorch's I3D, the model its ``model_rgb.pth`` fits).
Each reference I3D gets random weights and BatchNorm statistics; its state dict is saved in its
own layout, loaded into our trunk by :func:`fdpose.aqa_model.encoders.i3d.load_kinetics_i3d`,
and the Mixed_5c outputs of one 16-frame 112x112 clip are compared (HP-MCoRe's BatchNorms use
PyTorch's eps 1e-5 where the TF model and ours use 1e-3: compared both as it is and with its
eps set to 1e-3).

Prints one JSON object. Measured results are in docs/aqa_pretrained.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import torch

from fdpose.aqa_model.encoders.regnet import GateShift, RegNetYGSM
from fdpose.aqa_model.encoders.weights import load_timm_regnet

_TORCHVISION = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.ops",
                "torchvision.ops.misc", "torchvision.models", "torchvision.models.feature_extraction",
                "torchvision.datasets", "torchvision.io", "torchvision.utils")


def check_timm(folder: Path) -> dict[str, Any]:
    for name in _TORCHVISION:
        sys.modules.setdefault(name, mock.MagicMock())
    sys.path.insert(0, str(folder))
    import timm  # noqa: PLC0415 - only importable from the given folder

    torch.manual_seed(0)
    ref = timm.create_model("regnety_002", pretrained=False)
    n_params = sum(p.numel() for p in ref.parameters())
    with torch.no_grad():  # trained-like statistics (timm's init zeroes every branch's last BN)
        for name, t in ref.state_dict().items():
            if name.endswith("running_var") or name.endswith("bn.weight"):
                t.uniform_(0.5, 1.5)
            elif name.endswith(("running_mean", "bn.bias")):
                t.normal_(0, 0.1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "regnety_002.pth"
        torch.save(ref.state_dict(), path)
        ours = RegNetYGSM(gsm=False)
        load_timm_regnet(ours, path)
    ref.reset_classifier(0)
    x = torch.randn(4, 3, 112, 112)
    with torch.no_grad():
        a, b = ref.eval()(x), ours.eval()(x, 4)
    return {"timm_version": timm.__version__, "timm_params": n_params,
            "same_keys_without_head": set(ours.state_dict()) == {k for k in ref.state_dict() if not k.startswith("head.")},
            "max_abs_diff": float((a - b).abs().max()), "output_scale": float(a.abs().max())}


def check_gsm(path: Path) -> list[dict[str, Any]]:
    source = path.read_text(encoding="utf-8").replace("from torch.cuda import FloatTensor as ftens",
                                                      "from torch import FloatTensor as ftens")
    namespace: dict[str, Any] = {}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - a developer check of a named file
    torch.manual_seed(0)
    rows = []
    for fold, frames in ((8, 5), (40, 12), (92, 96)):
        theirs, ours = namespace["_GSM"](fold, frames), GateShift(fold)
        zero_init = bool(torch.count_nonzero(theirs.conv3D.weight) == 0 and torch.count_nonzero(theirs.conv3D.bias) == 0)
        with torch.no_grad():
            theirs.conv3D.weight.normal_(0, 0.2)
            theirs.conv3D.bias.normal_(0, 0.5)
            theirs.bn.running_mean.normal_()
            theirs.bn.running_var.uniform_(0.5, 2.0)
        ours.load_state_dict(theirs.state_dict())
        x = torch.randn(2 * frames, fold, 4, 4)
        with torch.no_grad():
            diff = (theirs.eval()(x) - ours.eval()(x, frames)).abs().max()
        rows.append({"fold": fold, "frames": frames, "their_gate_init_zero": zero_init, "max_abs_diff": float(diff)})
    return rows


def _exec_file(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "reference"}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102 - named file
    return namespace


def _randomise(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)


def check_i3d(path: Path, layout: str) -> dict[str, Any]:
    from fdpose.aqa_model.encoders.i3d import InceptionI3D, load_kinetics_i3d

    ns = _exec_file(path)
    torch.manual_seed(0)
    clip = torch.randn(1, 3, 16, 112, 112)
    if layout == "pytorch-i3d":
        ref = ns["InceptionI3d"](400, in_channels=3)

        def features(x: torch.Tensor) -> torch.Tensor:
            for end_point in ref.VALID_ENDPOINTS[:ref.VALID_ENDPOINTS.index("Mixed_5c") + 1]:
                x = ref._modules[end_point](x)
            return x
    else:
        ref = ns["I3D"](num_classes=400, modality="rgb")

        def features(x: torch.Tensor) -> torch.Tensor:
            return ref(x)[0]
    _randomise(ref)
    ref.eval()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "i3d.pth"
        torch.save(ref.state_dict(), file)
        ours = InceptionI3D(1.0)
        load_kinetics_i3d(ours, file)
    with torch.no_grad():
        a, b = features(clip), ours.eval()(clip)
        out["shape"] = list(b.shape)
        out["max_abs_diff"] = float((a - b).abs().max())
        out["output_scale"] = float(a.abs().max())
        if layout != "pytorch-i3d":
            for m in ref.modules():
                if isinstance(m, torch.nn.BatchNorm3d):
                    m.eps = 1e-3
            out["max_abs_diff_eps_1e-3"] = float((features(clip) - b).abs().max())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timm", type=Path, help="folder of an unpacked timm wheel")
    parser.add_argument("--mcore-gsm", type=Path, help="MCoRe's models/impl/gsm.py")
    parser.add_argument("--pytorch-i3d", type=Path, help="piergiaj's pytorch_i3d.py")
    parser.add_argument("--hpmcore-i3d", type=Path, help="HP-MCoRe's models/i3d.py (commit 6bce799)")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.timm:
        out["timm_regnety_002"] = check_timm(args.timm)
    if args.mcore_gsm:
        out["mcore_gsm"] = check_gsm(args.mcore_gsm)
    if args.pytorch_i3d:
        out["pytorch_i3d"] = check_i3d(args.pytorch_i3d, "pytorch-i3d")
    if args.hpmcore_i3d:
        out["hpmcore_i3d"] = check_i3d(args.hpmcore_i3d, "kinetics_i3d_pytorch")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
