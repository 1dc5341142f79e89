"""Pretrained encoder weights from LOCAL files (never downloaded): reading, explicit key maps, checks.

Public layouts mapped onto our modules (key maps are built from OUR module's keys, so every
parameter and buffer we have is accounted for; the first key that does not fit is named in a
one-line :class:`InputError`):

* timm ``regnety_002`` (ImageNet; ``torch.save`` of ``timm.create_model("regnety_002").state_dict()``
  or the hub's ``model.safetensors`` / ``pytorch_model.bin``) -> :class:`regnet.RegNetYGSM`:
  ``s3.b2.conv1.conv.weight`` -> ``s3.b2.conv1.net.conv.weight`` (the gate shift wraps conv1,
  as the official code does after loading); every other trunk key keeps its name; the
  classifier ``head.fc.*`` is dropped (the code replaces it by the identity); the GSMs'
  ``conv1.gsm.*`` have no ImageNet counterpart and keep the code's initialisation (zero gate
  convolution, default BN).
* Kinetics-400 RGB Inception-I3D -> :class:`i3d.InceptionI3D` in either public PyTorch layout:
  ``kinetics_i3d_pytorch`` (hassony2's ``model_rgb.pth``, the file the official HP-MCoRe config
  names: ``pretrained_i3d_weight: models/model_rgb.pth``; our I3D uses its names, so the map is
  the identity) or ``pytorch-i3d`` (piergiaj's ``rgb_imagenet.pt``: ``Conv3d_1a_7x7.conv3d.weight``,
  ``Mixed_4f.b1b.bn.running_var`` ... -> ``conv3d_1a_7x7.conv3d.weight``,
  ``mixed_4f.branch_1.1.batch3d.running_var``). Both hold the same DeepMind checkpoint (ImageNet-
  inflated, trained on Kinetics-400). The layout is recognised from the keys; the Kinetics
  classifier (``conv3d_0c_1x1.*`` / ``logits.*``) is dropped. Only the trunk is mapped: layers
  built on top of it (mixed temporal convolutions) keep their own initialisation.

BatchNorm ``num_batches_tracked`` buffers may be absent from a file (both I3D files predate
them): ours are kept. :func:`weights_record` gives the path and sha256 recorded in run.json.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import struct
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import numpy as np
import torch
from torch import nn

from fdpose.errors import InputError
from fdpose.io import file_sha256

log = logging.getLogger(__name__)

_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
                       "BF16": None}


def weights_record(path: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """``{"path": absolute path, "sha256": hex, "bytes": size}`` of a weight file (None for None)."""
    if not path:
        return None
    p = Path(path).resolve()
    try:
        return {"path": str(p), "sha256": file_sha256(p), "bytes": p.stat().st_size}
    except OSError as exc:
        raise InputError(f"cannot read weights: {exc.strerror or exc}", path) from None


def _read_safetensors(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The safetensors format (8-byte little-endian header size, JSON header, raw little-endian
    tensors) read with numpy: no pickle, no extra dependency."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    if not 2 <= n <= len(raw) - 8:
        raise ValueError(f"not a safetensors file (header of {n} bytes in a {len(raw)}-byte file)")
    header = json.loads(raw[8:8 + n])
    if not isinstance(header, dict):
        raise ValueError("not a safetensors file (its header is not a JSON object)")
    base = 8 + n
    out: dict[str, torch.Tensor] = {}
    for key, meta in header.items():
        if key == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        buf = raw[base + start:base + end]
        if meta["dtype"] == "BF16":  # bfloat16 = the top half of a float32
            half = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = half.view(np.float32)
        elif meta["dtype"] in _SAFETENSORS_DTYPES:
            arr = np.frombuffer(buf, dtype=np.dtype(_SAFETENSORS_DTYPES[meta["dtype"]]).newbyteorder("<"))
        else:
            raise ValueError(f"tensor {key}: dtype {meta['dtype']} not supported")
        out[key] = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=True)).reshape(meta["shape"])
    return out


def read_state_dict(path: str | os.PathLike[str], what: str, containers: tuple[str, ...] = ("state_dict", "model")) -> dict:
    """Load a state dict: ``.safetensors`` directly, anything else with ``torch.load(weights_only=True)``
    (plain tensors, safe under torch >= 2.6).

    A checkpoint holding the dict under one of ``containers`` is unwrapped. Any unreadable file is
    one :class:`InputError` naming it.
    """
    try:
        if str(path).endswith(".safetensors"):
            obj: Any = _read_safetensors(path)
        else:
            obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's restricted unpickler said no; its advice (retry with weights_only=False) is never taken
        text = " ".join(str(exc).split())
        blocked = re.search(r"unsupported GLOBAL ([\w.]+) whose module", text)  # os, posix, subprocess, ...
        if blocked:
            raise InputError(f"refused to load {what} weights: the file holds Python objects besides tensors "
                             f"({blocked.group(1)})", path) from None
        found = re.search(r"WeightsUnpickler error: (.*?)(?: Check the documentation|$)", text)
        detail = (found.group(1) if found else "not a torch file or damaged")[:160]
        if "global" in detail.lower():
            raise InputError(f"refused to load {what} weights: the file holds Python objects besides tensors "
                             f"({detail})", path) from None
        raise InputError(f"cannot load {what} weights: not a plain state dict ({detail})", path) from None
    except (IndexError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        # arbitrary bytes drive the unpickler's opcode machine into these ("this is ..." -> IndexError)
        raise InputError(f"cannot load {what} weights: not a torch file or damaged", path) from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is an input error (pickle, zip, IO, JSON)
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"cannot load {what} weights: {detail}", path) from None
    if isinstance(obj, dict):
        for key in containers:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"not a {what} state dict (a mapping of names to tensors)", path)
    return obj


def strip_prefixes(state: Mapping[str, torch.Tensor], prefixes: Iterable[str]) -> dict[str, torch.Tensor]:
    """Remove wrapper prefixes (``module.`` of DataParallel, ...) from every key that has them."""
    prefixes = tuple(prefixes)
    out = {}
    for k, v in state.items():
        for p in prefixes:
            k = k.removeprefix(p)
        out[k] = v
    return out


def check_mapped(model: nn.Module, source: Mapping[str, torch.Tensor], key_map: Mapping[str, str],
                 path: str | os.PathLike[str], what: str,
                 optional: Optional[Callable[[str], bool]] = None,
                 dropped: Optional[Callable[[str], bool]] = None) -> dict[str, str]:
    """Check that ``source`` fits ``model`` under ``key_map`` (our key -> file key) -> the pairs to copy.

    Checks, in the model's key order: a mapped source key that is missing (unless ``optional(k)``
    for our key k), then a shape that differs; then, in file order, any source key that nothing
    maps and that ``dropped`` does not accept. The first failure is one :class:`InputError`:
    ``{what} weights: ...`` naming the file's key (and ours when the names differ).
    """
    own = model.state_dict()
    pairs: dict[str, str] = {}
    for ours, theirs in key_map.items():
        alias = "" if ours == theirs else f" (our {ours})"
        if theirs not in source:
            if optional and optional(ours):
                continue
            raise InputError(f"{what} weights: missing key {theirs}{alias}", path)
        if tuple(source[theirs].shape) != tuple(own[ours].shape):
            raise InputError(f"{what} weights: key {theirs} has shape {tuple(source[theirs].shape)}, "
                             f"expected {tuple(own[ours].shape)}{alias}", path)
        pairs[ours] = theirs
    used = set(pairs.values())
    for theirs in source:
        if theirs not in used and not (dropped and dropped(theirs)):
            raise InputError(f"{what} weights: unexpected key {theirs} (no place for it in the model)", path)
    return pairs


def load_mapped(model: nn.Module, source: Mapping[str, torch.Tensor], key_map: Mapping[str, str],
                path: str | os.PathLike[str], what: str,
                optional: Optional[Callable[[str], bool]] = None,
                dropped: Optional[Callable[[str], bool]] = None) -> int:
    """:func:`check_mapped`, then copy ``source[key_map[k]]`` into ``model``'s ``k`` -> tensors copied.

    Model keys absent from ``key_map`` (or optional and absent from the file) keep their current
    values (their own initialisation).
    """
    pairs = check_mapped(model, source, key_map, path, what, optional, dropped)
    own = model.state_dict()
    new = dict(own)
    for ours, theirs in pairs.items():
        new[ours] = source[theirs].to(dtype=own[ours].dtype)
    model.load_state_dict(new, strict=True)
    log.info("loaded %s weights from %s (%d tensors)", what, path, len(pairs))
    return len(pairs)


def load_matching(
    model: nn.Module,
    state: dict,
    path: str | os.PathLike[str],
    what: str,
    ignore_missing: Optional[Callable[[str], bool]] = None,
) -> None:
    """Load ``state`` into ``model`` under the same names (:func:`load_mapped` with the identity map).

    ignore_missing: predicate for model keys that the file may lack (e.g. BatchNorm's
    ``num_batches_tracked`` in files that predate it).
    """
    load_mapped(model, state, {k: k for k in model.state_dict()}, path, what, optional=ignore_missing)


def is_bn_counter(key: str) -> bool:
    """BatchNorm's ``num_batches_tracked`` buffer: files that predate it may lack it."""
    return key.endswith("num_batches_tracked")


# ----------------------------------------------------------------------------- RegNetY (timm)


def timm_regnet_key_map(model: nn.Module) -> dict[str, str]:
    """Our :class:`regnet.RegNetYGSM` key -> timm ``regnety_*`` key, for every key with an ImageNet
    counterpart (the gate shifts' ``conv1.gsm.*`` have none)."""
    out = {}
    for k in model.state_dict():
        if ".conv1.gsm." in k:
            continue
        out[k] = k.replace(".conv1.net.", ".conv1.")
    return out


def load_timm_regnet(model: nn.Module, path: str | os.PathLike[str]) -> int:
    """Load a timm ``regnety_002`` ImageNet state dict (local ``.pth``/``.bin``/``.safetensors``)
    into a :class:`regnet.RegNetYGSM` trunk; the classifier ``head.*`` is dropped."""
    state = strip_prefixes(read_state_dict(path, "RegNetY"), ("module.",))
    return load_mapped(model, state, timm_regnet_key_map(model), path, "RegNetY (timm regnety_002)",
                       optional=is_bn_counter, dropped=lambda k: k.startswith("head."))


# ----------------------------------------------------------------------------- Inception-I3D

_PIERGIAJ_BRANCH = {"b0": "branch_0", "b1a": "branch_1.0", "b1b": "branch_1.1", "b2a": "branch_2.0",
                    "b2b": "branch_2.1", "b3b": "branch_3.1"}
_OURS_BRANCH = {v: k for k, v in _PIERGIAJ_BRANCH.items()}


def _piergiaj_name(ours: str) -> str:
    """``mixed_4f.branch_1.1.batch3d.weight`` -> ``Mixed_4f.b1b.bn.weight``;
    ``conv3d_1a_7x7.conv3d.weight`` -> ``Conv3d_1a_7x7.conv3d.weight``."""
    m = re.fullmatch(r"(mixed_\w+?)\.(branch_\d(?:\.\d)?)\.(conv3d|batch3d)\.(\w+)", ours)
    if m:
        block, branch, layer, leaf = m.groups()
        if branch not in _OURS_BRANCH:
            raise KeyError(ours)
        return f"M{block[1:]}.{_OURS_BRANCH[branch]}.{'bn' if layer == 'batch3d' else layer}.{leaf}"
    m = re.fullmatch(r"conv3d_(\w+?)\.(conv3d|batch3d)\.(\w+)", ours)
    if m:
        unit, layer, leaf = m.groups()
        return f"Conv3d_{unit}.{'bn' if layer == 'batch3d' else layer}.{leaf}"
    raise KeyError(ours)


I3D_LAYOUTS = ("kinetics_i3d_pytorch", "pytorch-i3d")


def i3d_key_map(model: nn.Module, layout: str) -> dict[str, str]:
    """Our :class:`i3d.InceptionI3D` key -> the key in a public Kinetics I3D file of ``layout``."""
    if layout == "kinetics_i3d_pytorch":
        return {k: k for k in model.state_dict()}
    if layout == "pytorch-i3d":
        return {k: _piergiaj_name(k) for k in model.state_dict()}
    raise ValueError(f"unknown I3D layout {layout!r} ({', '.join(I3D_LAYOUTS)})")


def detect_i3d_layout(state: Mapping[str, torch.Tensor]) -> str:
    """``pytorch-i3d`` when piergiaj's capitalised end-point names are present, else ``kinetics_i3d_pytorch``."""
    return "pytorch-i3d" if any(k.startswith(("Conv3d_", "Mixed_")) for k in state) else "kinetics_i3d_pytorch"


def load_i3d(model: nn.Module, path: str | os.PathLike[str]) -> str:
    """Load a Kinetics-400 RGB I3D file of either public layout into an :class:`i3d.InceptionI3D`
    trunk (``module.``/``backbone.`` prefixes stripped, classifier dropped) -> the layout found."""
    state = strip_prefixes(read_state_dict(path, "I3D", containers=("state_dict",)), ("module.", "backbone."))
    layout = detect_i3d_layout(state)
    load_mapped(model, state, i3d_key_map(model, layout), path, f"I3D ({layout} layout)", optional=is_bn_counter,
                dropped=lambda k: k.startswith(("conv3d_0c_1x1.", "logits.")))
    return layout
