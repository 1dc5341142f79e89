"""Key maps from HP-MCoRe's official checkpoints (commit 6bce799) to the fusion blocks and decoders here.

The official training script saves one dict of per-module state dicts (``tools/builder.py`` reads them
back): ``decoder_pose1..3`` = the fusion blocks (``models/PoseAttn.py`` ``PoseAttnNet``, one per stage),
``decoder1`` / ``decoder2`` = the decoders shared across stages of the fused and the static branch
(``models/vit_decoder.py`` ``decoder_fuser``; ``tools/helper.py`` runs ``decoder[0]`` on the fused and
``decoder[1]`` on the static stage features), each key possibly prefixed ``module.`` (DataParallel).
Their attention has separate q / k / v ``nn.Linear`` layers; here:

* fusion (:class:`fdpose.aqa_model.fusion.PoseGuidedFusion`, ``fusion="logits"``, pre-norm): separate
  layers too, other names (:func:`fusion_key_map`): ``attn.q_map`` -> ``q_v``, ``attn.k_map`` -> ``k_v``,
  ``attn.v_map`` -> ``v_v``, ``attn.pose_map`` -> ``pose_embed``, ``attn.pose_weight`` -> ``pose_lambda``,
  ``attn.proj`` -> ``out``, ``norm_q`` -> ``norm1``, ``norm2`` -> ``norm2``, ``mlp.fc1`` / ``mlp.fc2`` ->
  ``ffn.0`` / ``ffn.2``;
* decoders (:class:`fdpose.aqa_model.regression.StageDecoder`): ``nn.MultiheadAttention`` packs the
  three projections into one ``in_proj_weight`` (3d, d) = [W_q; W_k; W_v] (:func:`decoder_state`):
  ``model.{i}.attn.{q,k,v}_map.weight`` are stacked in that order into ``blocks.{i}.attn.in_proj_weight``
  (their biases, when a checkpoint has them, into ``in_proj_bias``), ``attn.proj`` -> ``attn.out_proj``,
  ``norm_q`` -> ``norm_q``, ``norm_v`` -> ``norm_m``, ``norm2`` -> ``norm_f``, ``mlp.fc1`` / ``fc2`` ->
  ``ffn.0`` / ``ffn.2``.

Every tensor of our modules must come from the file and every file tensor must have a place; the first
key that does not fit is one :class:`fdpose.errors.InputError` naming it (and the checkpoint entry).
The official modules compute the same functions from these weights (checked against the 6bce799 files
in ``docs/aqa.md``; the tests re-check the formulas on generated state dicts).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import torch
from torch import nn

from fdpose.aqa_model.encoders.weights import load_mapped, strip_prefixes
from fdpose.errors import ConfigError, InputError

#: the official FFN / norm / projection names of both block kinds, ours -> theirs (per block prefix)
_FUSION_NAMES = {"q_v": "attn.q_map", "k_v": "attn.k_map", "v_v": "attn.v_map", "pose_embed": "attn.pose_map",
                 "out": "attn.proj", "norm1": "norm_q", "norm2": "norm2", "ffn.0": "mlp.fc1", "ffn.2": "mlp.fc2"}
_DECODER_NAMES = {"attn.out_proj": "attn.proj", "norm_q": "norm_q", "norm_m": "norm_v", "norm_f": "norm2",
                  "ffn.0": "mlp.fc1", "ffn.2": "mlp.fc2"}
_QKV = ("q_map", "k_map", "v_map")


def fusion_key_map(module: nn.Module) -> dict[str, str]:
    """Our :class:`PoseGuidedFusion` key -> the key in an official ``PoseAttnNet`` state dict."""
    out = {}
    for ours in module.state_dict():
        if ours == "pose_lambda":
            out[ours] = "attn.pose_weight"
            continue
        layer, _, leaf = ours.rpartition(".")
        if layer not in _FUSION_NAMES:
            raise ConfigError(f"fusion block has {ours}, which HP-MCoRe's PoseAttnNet does not: "
                              "the official checkpoints need fusion 'logits' (the hpmcore preset)")
        out[ours] = f"{_FUSION_NAMES[layer]}.{leaf}"
    return out


def decoder_state(module: nn.Module, official: Mapping[str, torch.Tensor], path: str | os.PathLike[str],
                  what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """An official ``decoder_fuser`` state dict -> (tensors under names of ``module``'s layout, our key ->
    that name). The q / k / v weights (and biases) of every block are stacked into its ``in_proj``; a
    missing or misshapen piece is one :class:`InputError` naming the file's key."""
    own = module.state_dict()
    source = dict(official)
    key_map: dict[str, str] = {}
    for ours in own:
        block, _, rest = ours.partition(".")  # "blocks", "{i}.attn.in_proj_weight"
        index, _, name = rest.partition(".")
        theirs_prefix = f"model.{index}"
        if name in ("attn.in_proj_weight", "attn.in_proj_bias"):
            leaf = "weight" if name.endswith("weight") else "bias"
            parts = []
            for proj in _QKV:
                key = f"{theirs_prefix}.attn.{proj}.{leaf}"
                if key not in official:
                    raise InputError(f"{what} weights: missing key {key} (our {ours})", path)
                expected = (own[ours].shape[0] // 3, *own[ours].shape[1:])
                if tuple(official[key].shape) != tuple(expected):
                    raise InputError(f"{what} weights: key {key} has shape {tuple(official[key].shape)}, "
                                     f"expected {tuple(expected)} (our {ours})", path)
                parts.append(source.pop(key))
            packed = f"{theirs_prefix}.attn.qkv_packed.{leaf}"  # stands for the three, in q, k, v order
            source[packed] = torch.cat(parts)
            key_map[ours] = packed
            continue
        layer, _, leaf = name.rpartition(".")
        if block != "blocks" or layer not in _DECODER_NAMES:
            raise ConfigError(f"decoder has {ours}, which HP-MCoRe's decoder_fuser does not")
        key_map[ours] = f"{theirs_prefix}.{_DECODER_NAMES[layer]}.{leaf}"
    if any(k.endswith(f".attn.{p}.bias") for k in source for p in _QKV):
        bad = next(k for k in source if any(k.endswith(f".attn.{p}.bias") for p in _QKV))
        raise InputError(f"{what} weights: unexpected key {bad} (the decoders here have no q/k/v bias: "
                         "set decoder_qkv_bias true to load it)", path)
    return source, key_map


def _entry(checkpoint: Mapping[str, Any], name: str, path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    state = checkpoint.get(name)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"official checkpoint has no state dict {name!r}", path)
    return strip_prefixes(state, ("module.",))


def load_official_fusion_decoders(model: nn.Module, checkpoint: Mapping[str, Any],
                                  path: str | os.PathLike[str] = "<checkpoint>") -> int:
    """Copy ``decoder_pose{k}`` into ``model.fusion[k-1]`` and ``decoder1`` / ``decoder2`` into the shared
    decoders of the ``motion`` (fused) / ``static`` branch of an ``hpmcore``-layout :class:`HPMCoRe`.
    Returns the number of tensors copied."""
    fusion = getattr(model, "fusion", None)
    regressor = getattr(model, "regressor", None)
    if fusion is None or regressor is None or set(regressor.decoders) != {"motion", "static"} or any(
            len(d) != 1 for d in regressor.decoders.values()):
        raise ConfigError("the official fusion/decoder weights need the hpmcore layout: fusion on, both branches, "
                          "shared_decoder true")
    copied = 0
    for k, block in enumerate(fusion):
        name = f"decoder_pose{k + 1}"
        copied += load_mapped(block, _entry(checkpoint, name, path), fusion_key_map(block), path,
                              f"official {name}")
    for name, branch in (("decoder1", "motion"), ("decoder2", "static")):
        decoder = regressor.decoders[branch][0]
        source, key_map = decoder_state(decoder, _entry(checkpoint, name, path), path, f"official {name}")
        copied += load_mapped(decoder, source, key_map, path, f"official {name}")
    return copied


def read_official_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The official training script's ``best.pth`` / ``last.pth``: a dict of per-module state dicts (plus
    optimizer state and numbers), read with ``weights_only=True``. Unreadable: one :class:`InputError`."""
    try:
        obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is an input error
        raise InputError(f"cannot read the official checkpoint: {' '.join(str(exc).split())[:200]}", path) from None
    if not isinstance(obj, dict):
        raise InputError("not an official HP-MCoRe checkpoint (a dict of per-module state dicts)", path)
    return obj
