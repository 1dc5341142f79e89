"""A config's pretrained weight files checked against the encoders they feed, before any data is read.

Sits above the encoders and :mod:`weights` (which the encoders import), so nothing here is imported
back: :func:`verify_pretrained` builds each encoder on the meta device and runs the same key maps
and shape checks as the real load (:mod:`fdpose.aqa_model.encoders.weights`).
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.encoders.i3d import InceptionI3D
from fdpose.aqa_model.encoders.regnet import RegNetYGSM
from fdpose.aqa_model.encoders.static import ResNet
from fdpose.aqa_model.encoders.weights import (is_bn_counter, check_mapped, detect_i3d_layout, i3d_key_map,
                                               read_state_dict, strip_prefixes, timm_regnet_key_map, weights_record)

log = logging.getLogger(__name__)


def verify_pretrained(cfg: AQAConfig) -> dict[str, dict[str, Any]]:
    """Check every weight file an :class:`~fdpose.aqa_model.config.AQAConfig` names against the
    encoder it feeds, before any data is read -> ``{"i3d" | "static": weights_record}``.

    The encoders are built on the meta device (no memory, no compute); the file is read and its
    keys and shapes are checked by the same maps as the real load, so a wrong file fails here with
    the same one-line error naming its first misfit key. Files of switched-off encoders are ignored.
    """
    records: dict[str, dict[str, Any]] = {}
    if cfg.i3d_weights and not (cfg.use_dve and cfg.backbone == "i3d"):
        log.warning("I3D weights %s ignored: config %r has no I3D encoder", cfg.i3d_weights, cfg.name)
    static_named = cfg.regnet_weights if cfg.static_encoder == "regnet_gsm" else cfg.resnet_weights
    if static_named and not cfg.use_sve:
        log.warning("static weights %s ignored: config %r has no static encoder", static_named, cfg.name)
    with torch.device("meta"):
        if cfg.use_dve and cfg.backbone == "i3d" and cfg.i3d_weights:
            state = strip_prefixes(read_state_dict(cfg.i3d_weights, "I3D", containers=("state_dict",)),
                                   ("module.", "backbone."))
            layout = detect_i3d_layout(state)
            model = InceptionI3D(cfg.i3d_width)
            check_mapped(model, state, i3d_key_map(model, layout), cfg.i3d_weights, f"I3D ({layout} layout)",
                         optional=is_bn_counter, dropped=lambda k: k.startswith(("conv3d_0c_1x1.", "logits.")))
            records["i3d"] = {**weights_record(cfg.i3d_weights), "layout": layout}  # type: ignore[dict-item]
        static_file = cfg.regnet_weights if cfg.static_encoder == "regnet_gsm" else cfg.resnet_weights
        if cfg.use_sve and static_file:
            if cfg.static_encoder == "regnet_gsm":
                trunk = RegNetYGSM(cfg.regnet_widths, cfg.regnet_depths, cfg.regnet_group_width, cfg.regnet_stem,
                                   gsm=cfg.regnet_gsm)
                state = strip_prefixes(read_state_dict(static_file, "RegNetY"), ("module.",))
                check_mapped(trunk, state, timm_regnet_key_map(trunk), static_file, "RegNetY (timm regnety_002)",
                             optional=is_bn_counter, dropped=lambda k: k.startswith("head."))
                layout = "timm regnety"
            else:
                resnet = ResNet(cfg.resnet_layers, cfg.resnet_width)
                state = {k: v for k, v in strip_prefixes(read_state_dict(static_file, "ResNet"), ("module.",)).items()
                         if not k.startswith("fc.")}
                check_mapped(resnet, state, {k: k for k in resnet.state_dict()}, static_file, "ResNet")
                layout = "torchvision resnet"
            records["static"] = {**weights_record(static_file), "layout": layout}  # type: ignore[dict-item]
    return records
