"""The named AQA configs (``hpmcore``, ``paper``/``full``, ``tiny``, ``mcore``; what each is:
:mod:`fdpose.aqa_model.config`'s docstring), config files that start from one of them, the MTL-AQA
input layout, and the check that a pretrained-encoder preset has its weights.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

from fdpose.aqa_model.config import AQAConfig
from fdpose.errors import ConfigError, DependencyError, InputError
from fdpose.io import atomic_write_text, read_json

log = logging.getLogger(__name__)


def preset(name: str) -> AQAConfig:
    """The named preset: ``hpmcore``, ``paper`` (alias ``full``), ``tiny`` or ``mcore``."""
    if name == "paper":
        return AQAConfig(name="paper").validate()
    if name == "full":
        # the old name of the paper-text model: same fields, name kept so old runs read back unchanged
        log.info("config 'full' is an alias of 'paper' (HP-MCoRe as the paper's text describes it)")
        return AQAConfig(name="full").validate()
    if name == "tiny":
        return AQAConfig(
            name="tiny", num_frames=32, frame_size=32, use_dve=False, use_sve=False,
            i3d_width=0.0625, clip_len=8, clip_stride=4,
            resnet_layers=(1, 1, 1, 1), resnet_width=8, static_dim=32,
            frame2d_widths=(8, 16, 24, 32), frame2d_depths=(1, 1, 1, 1), frame2d_group_width=4, frame2d_stem=8,
            skeletal_channels=(8, 16), edgeconv_k=3, pose_body_frame=True,
            video_crop="diver", fused_pose_values=True, segmentation_input="all",
            segmentation_hidden=16, stage_len=4,
            d_model=32, decoder_layers=1, mlp_hidden=32, projection_dim=16, score_scale=10.0,
        ).validate()
    if name == "mcore":
        # MCoRe's code (C2 block fields): the RegNetY-002-GSM per-frame stream alone (it is the static
        # branch here, so --static-weights and the static-branch training rules apply to it)
        return AQAConfig(
            name="mcore", use_dve=False, use_sve=True, use_hse=False, fusion="none",
            static_encoder="regnet_gsm", stage_reducer=False, d_model=368,
            shared_decoder=True, decoder_layers=3, decoder_heads=8, decoder_qkv_bias=False, learned_stage_weights=False,
            stage_len=5, segmentation_hidden=368, contrastive="token", temperature=0.5, lambda_contrastive=10.0,
            segmentation_dropout=0.5, segmentation_transition_weights=(1.0, 2.0), stage_cut="half_open",
            static_lr_factor=0.1, static_frozen_bn=True, lr_schedule="constant", code_lr=1e-3,
            frame_resize=(200, 112), frame_resize_filter="nearest", pair_encoding="joint",
            code_test_every=1,  # MCoRe's runner tests after every one of its 200 epochs
        ).validate()
    if name == "hpmcore":
        return AQAConfig(name="hpmcore", **HPMCORE_FIELDS).validate()
    raise ConfigError(f"unknown preset {name!r} (hpmcore, paper, full, tiny, mcore or a .json/.yaml file)")


#: ``hpmcore`` = HP-MCoRe's official code (commit 6bce799 of github:Lumos0507/HP-MCoRe; method.md 3.8):
#: every field where it departs from the paper-text defaults (``paper``), in method.md 3.8's order.
HPMCORE_FIELDS: dict[str, Any] = {
    # static branch: RegNetY-002 + gate-shift modules per frame, 368-d (ImageNet weights: --static-weights)
    "static_encoder": "regnet_gsm",
    # dynamic branch: Kinetics I3D, 9 clips of 16 frames, 3D average pooling per clip, no mixed convs;
    # the clip vectors are cut into stages at transition // 10
    "mixed_conv_layers": 0, "i3d_pool": "avg", "i3d_stage_axis": "clips", "i3d_bn_eps": 1e-5,
    # skeletal branch: HD-GCN on (x, y), widths 64, 64, 64, 64, 128 (the default skeletal_channels), EdgeConv
    # k 5, temporal kernel 5, with its unused 60-class head
    "skeletal_encoder": "hdgcn", "pose_channels": 2, "skeletal_classifier_classes": 60,
    # reducers per stage and branch: Linear(d, d + 128) -> ReLU -> Linear(., 256) -> ReLU
    "reducer_hidden": "in_plus_128", "d_model": 256,
    # fusion: pre-norm, 2 heads, pose term on the logits (weight from 0.001), no q/k/v bias
    "fusion": "logits", "fusion_prenorm": True, "fusion_heads": 2, "fusion_lambda_init": 0.001,
    "fusion_qkv_bias": False,
    # ONE decoder per branch shared across stages: width 256, 2 heads, 4 layers; score MLPs 256 -> 64 -> 1
    "shared_decoder": True, "decoder_heads": 2, "decoder_layers": 4, "decoder_qkv_bias": False, "mlp_hidden": 256,
    # segmentation: BiGRU (hidden 368, dropout 0.5) over the per-frame static features, transition 2 x2
    "segmentation_input": "static", "segmentation_hidden": 368, "segmentation_dropout": 0.5,
    "segmentation_transition_weights": (1.0, 2.0), "stage_cut": "last_lead",
    # contrastive: L2-normalised stage means, tau 0.1, fused and static each x10, summed
    "contrastive": "stagewise", "contrastive_projection": False, "temperature": 0.1, "lambda_contrastive": 10.0,
    "contrastive_branch_sum": True,
    # stage length 10 (the default); input: frames resized to 200 x 112 (H x W) by PIL's nearest pixels
    # (torchvideotransforms' Resize default), crop 112
    "stage_len": 10, "frame_resize": (200, 112), "frame_resize_filter": "nearest", "frame_size": 112,
    "video_crop": "frame",
    # training: Adam lr 1e-3 (config/FineDiving_HP.yaml at 6bce799), the RegNet at 0.1 x lr with its BatchNorms
    # in eval mode (lr_factor, fix_bn), CosineAnnealingLR(T_max=20) stepped per epoch (cycles every 40 epochs)
    "static_lr_factor": 0.1, "static_frozen_bn": True, "code_lr": 1e-3, "lr_schedule": "cyclic",  # lr_cycle_epochs 20
    # 201 epochs (max_epoch), tested on the code's schedule (code_test_every None: official_test_due's 0)
    "code_epochs": 201,
    # query and exemplar through every encoder as one batch (I3D and HD-GCN BatchNorms see the 2B videos)
    "pair_encoding": "joint",
}


MTL_AQA_FRAMES = 103
MTL_AQA_CLIP_STARTS = (0, 10, 20, 30, 40, 50, 60, 70, 80, 87)


def mtl_aqa_input(cfg: AQAConfig) -> AQAConfig:
    """``cfg`` with MTL-AQA's input layout: 103 frames per dive, 10 overlapping 16-frame
    segments (starts ``MTL_AQA_CLIP_STARTS``), as the MTL-AQA pipelines of the CoRe / TPT line of
    work feed I3D. In a config file: ``{"preset": "full", "input_layout": "mtl_aqa"}``.

    The frame samplers (training data, ``score``) take ``num_frames`` frames by ``linspace`` over
    the clip, and 96-row pose files are read at the nearest sampled rows, so the same data
    trees work; the I3D clip features are spread back to the 103 frames by the same
    centre-interpolation weights as for FineDiving's 9 clips.
    """
    return dataclasses.replace(cfg, num_frames=MTL_AQA_FRAMES, clip_len=16,
                               clip_starts_explicit=MTL_AQA_CLIP_STARTS).validate()


PRESETS: tuple[str, ...] = ("hpmcore", "paper", "full", "tiny", "mcore")


def load_config(spec: str | os.PathLike[str]) -> AQAConfig:
    """A preset name or a JSON/YAML file; a file may say ``preset: tiny`` and override fields."""
    if isinstance(spec, str) and spec in PRESETS:
        return preset(spec)
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"not a preset ({', '.join(PRESETS)}) and no such config file", path)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise DependencyError("PyYAML is needed to read YAML configs (use JSON instead)", path) from None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"cannot parse YAML: {' '.join(str(exc).split())}", path) from None
    else:
        data = read_json(path)
    if not isinstance(data, dict):
        raise InputError("config file must hold a mapping of field names to values", path)
    data = dict(data)
    base_name = data.pop("preset", "full")
    if base_name not in PRESETS:
        raise ConfigError(f"unknown preset {base_name!r}", path)
    layout = data.pop("input_layout", "finediving")
    if layout not in ("finediving", "mtl_aqa"):
        raise ConfigError(f"input_layout must be finediving or mtl_aqa, got {layout!r}", path)
    base = preset(base_name) if layout == "finediving" else mtl_aqa_input(preset(base_name))
    return AQAConfig.from_dict(data, base=base, source=str(path))


def save_config(config: AQAConfig, path: str | os.PathLike[str]) -> Path:
    """Write the full config atomically as JSON or YAML (by suffix)."""
    path = Path(path)
    data = config.to_dict()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise DependencyError("PyYAML is needed to write YAML configs", path) from None
        return atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")


# presets meant to start from pretrained visual encoders (method.md 3.8): training them from random
# weights is refused unless asked for, because it silently trains a different model
PRETRAINED_PRESETS: tuple[str, ...] = ("hpmcore", "paper", "full", "mcore")


def random_init_encoders(cfg: AQAConfig) -> list[str]:
    """The enabled visual encoders of ``cfg`` that would start from random weights (empty: none)."""
    missing = []
    if cfg.use_dve and cfg.backbone == "i3d" and not cfg.i3d_weights:
        missing.append("I3D (--i3d-weights)")
    if cfg.use_dve and cfg.backbone == "frame2d":
        missing.append("frame-2D backbone (no weight loader for it yet)")
    if cfg.use_sve and cfg.static_encoder == "resnet" and not cfg.resnet_weights:
        missing.append("static ResNet (--static-weights)")
    if cfg.use_sve and cfg.static_encoder == "regnet_gsm" and not cfg.regnet_weights:
        missing.append("static RegNetY-002-GSM (--static-weights: a timm regnety_002 state dict)")
    return missing


def check_pretrained(cfg: AQAConfig, allow_random_init: bool) -> None:
    """Refuse (:class:`ConfigError`) a pretrained-encoder preset whose visual encoders have no weights."""
    missing = random_init_encoders(cfg)
    if cfg.name in PRETRAINED_PRESETS and missing and not allow_random_init:
        raise ConfigError(f"config {cfg.name!r} would train randomly initialised visual encoders: "
                          f"{', '.join(missing)}; give the weights or --allow-random-init")
