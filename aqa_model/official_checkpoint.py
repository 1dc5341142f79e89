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

The rest of the pairwise part and the segmentation head (:func:`load_official_checkpoint`):

* ``i3d_dim_reducer{k}`` / ``res_dim_reducer{k}`` (``C_channel``: ``layer0``, ``layer1``) -> the stage-k
  reducer of the ``motion`` / ``static`` branch (``0``, ``2`` of its Sequential);
* ``regressor_delta1`` / ``regressor_delta2`` (``MLP_score``: ``layer1..3``) -> the ``motion`` / ``static``
  score MLP (``net.0``, ``net.2``, ``net.4``);
* ``learning_par{k}`` (``LogitScaleNetwork``: ``logit_scale``, the stage weight being exp(logit_scale)
  normalised by the sum over stages) -> ``regressor.stage_logits[k-1]``: softmax(logit_scale) is exactly
  that normalised weight;
* ``psnet_model`` (``models/E2Emodel.py`` ``SpotModel``): ``_pred_fine._gru.*`` and
  ``_pred_fine._fc_out._fc_out.*`` -> the BiGRU head's ``gru.*``, ``fc.*``; with ``--temporal_arch
  asformer``, ``_pred_fine._net.{encoder,decoders.s}`` -> the ASFormer head's ``{encoder,decoders.s}``
  (``conv_1x1`` -> ``inp``, ``conv_out`` -> ``out``, ``layers.i`` -> ``blocks.i``, ``feed_forward.layer.0``
  -> ``feed_forward``, ``att_layer.{query,key,value}_conv`` -> ``attention.{query,key,value}``,
  ``att_layer.conv_out`` -> ``attention.out``, ``conv_1x1`` -> ``conv``); the code's query/key convs of the
  one-frame windows (block 0 of every stage) have no counterpart and are dropped: they do not change the
  output (a one-frame window's attention weight is 1).

The encoders' entries (``I3D_encoder``, ``base_model``, ``PoseNet_model``) are left to their own loaders.
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

from fdpose.aqa_model.asformer import ASFormerHead
from fdpose.aqa_model.checkpoint import why_unreadable
from fdpose.aqa_model.encoders.weights import load_mapped, strip_prefixes
from fdpose.aqa_model.model import HPMCoRe
from fdpose.aqa_model.segmentation import BiGRUHead
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


def load_official_fusion_decoders(model: HPMCoRe, checkpoint: Mapping[str, Any],
                                  path: str | os.PathLike[str] = "<checkpoint>") -> int:
    """Copy ``decoder_pose{k}`` into ``model.fusion[k-1]`` and ``decoder1`` / ``decoder2`` into the shared
    decoders of the ``motion`` (fused) / ``static`` branch of an ``hpmcore``-layout :class:`HPMCoRe`.
    Returns the number of tensors copied."""
    fusion, regressor = model.fusion, model.regressor
    if fusion is None or set(regressor.decoders) != {"motion", "static"} or any(
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


_SCORE_MLP = {"net.0": "layer1", "net.2": "layer2", "net.4": "layer3"}
_REDUCER = {"0": "layer0", "2": "layer1"}
_ASFORMER = (("attention.query", "att_layer.query_conv"), ("attention.key", "att_layer.key_conv"),
             ("attention.value", "att_layer.value_conv"), ("attention.out", "att_layer.conv_out"),
             ("feed_forward", "feed_forward.layer.0"), ("conv", "conv_1x1"))


def _renamed(module: nn.Module, table: Mapping[str, str], what: str) -> dict[str, str]:
    out = {}
    for ours in module.state_dict():
        layer, _, leaf = ours.rpartition(".")
        if layer not in table:
            raise ConfigError(f"{what} has {ours}, which the official code's module does not")
        out[ours] = f"{table[layer]}.{leaf}"
    return out


def segmenter_key_map(head: nn.Module) -> dict[str, str]:
    """Our segmentation head key -> the key in the official ``psnet_model`` (``SpotModel``) state dict."""
    out = {}
    if isinstance(head, BiGRUHead):
        for ours in head.state_dict():
            first, _, rest = ours.partition(".")
            out[ours] = f"_pred_fine._gru.{rest}" if first == "gru" else f"_pred_fine._fc_out._fc_out.{rest}"
        return out
    if not isinstance(head, ASFormerHead):
        raise ConfigError(f"no official counterpart of the {type(head).__name__} segmentation head (bigru, asformer)")
    for ours in head.state_dict():
        stage, rest = (ours.split(".", 1) if ours.startswith("encoder") else
                       (".".join(ours.split(".", 2)[:2]), ours.split(".", 2)[2]))
        theirs = rest
        if rest.startswith("inp."):
            theirs = "conv_1x1." + rest[4:]
        elif rest.startswith("out."):
            theirs = "conv_out." + rest[4:]
        else:  # blocks.{i}.<layer>.<leaf>
            _, index, tail = rest.split(".", 2)
            for mine, code in _ASFORMER:
                if tail.startswith(mine + "."):
                    tail = code + tail[len(mine):]
                    break
            theirs = f"layers.{index}.{tail}"
        out[ours] = f"_pred_fine._net.{stage}.{theirs}"
    return out


def _one_frame_qk(key: str) -> bool:
    """The code's query/key convs of block 0 (window 1): unused by the output, no counterpart here."""
    parts = key.split(".")
    return "layers" in parts and parts[parts.index("layers") + 1] == "0" and parts[-2] in ("query_conv", "key_conv")


def load_official_checkpoint(model: HPMCoRe, checkpoint: Mapping[str, Any],
                             path: str | os.PathLike[str] = "<checkpoint>") -> dict[str, int]:
    """Fusion blocks, decoders, reducers, score MLPs, stage weights and the segmentation head of an
    ``hpmcore``-layout :class:`HPMCoRe` from an official checkpoint -> tensors copied per part."""
    copied = {"fusion_decoders": load_official_fusion_decoders(model, checkpoint, path)}
    reducers = model.reducers
    n = 0
    for branch, prefix in (("motion", "i3d_dim_reducer"), ("static", "res_dim_reducer")):
        for k, reducer in enumerate(reducers[branch]):
            name = f"{prefix}{k + 1}"
            n += load_mapped(reducer, _entry(checkpoint, name, path), _renamed(reducer, _REDUCER, "reducer"), path,
                             f"official {name}")
    copied["reducers"] = n
    regressor = model.regressor
    n = 0
    for branch, name in (("motion", "regressor_delta1"), ("static", "regressor_delta2")):
        mlp = regressor.mlps[branch]
        n += load_mapped(mlp, _entry(checkpoint, name, path), _renamed(mlp, _SCORE_MLP, "score MLP"), path,
                         f"official {name}")
    copied["score_mlps"] = n
    if not isinstance(regressor.stage_logits, nn.Parameter):
        raise ConfigError("the official stage weights need learned_stage_weights true")
    scales = []
    for k in range(regressor.stage_logits.shape[0]):
        name = f"learning_par{k + 1}"
        state = _entry(checkpoint, name, path)
        if set(state) != {"logit_scale"} or state["logit_scale"].numel() != 1:
            raise InputError(f"official {name} weights: expected the single scalar logit_scale, got "
                             f"{', '.join(sorted(state)) or 'nothing'}", path)
        scales.append(state["logit_scale"].reshape(()))
    with torch.no_grad():
        regressor.stage_logits.copy_(torch.stack(scales))
    copied["stage_weights"] = len(scales)
    segmenter = model.segmenter
    if segmenter is not None:
        copied["segmenter"] = load_mapped(segmenter.head, _entry(checkpoint, "psnet_model", path),
                                          segmenter_key_map(segmenter.head), path, "official psnet_model",
                                          dropped=_one_frame_qk)
    return copied


def read_official_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The official training script's ``best.pth`` / ``last.pth``: a dict of per-module state dicts (plus
    optimizer state and numbers), read with ``weights_only=True``. Unreadable: one :class:`InputError`."""
    try:
        obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is an input error
        raise InputError(f"cannot read the official checkpoint: {why_unreadable(exc)}", path) from None
    if not isinstance(obj, dict):
        raise InputError("not an official HP-MCoRe checkpoint (a dict of per-module state dicts)", path)
    return obj
