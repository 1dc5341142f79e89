"""The pose model the pipeline uses: load a fine-tuned checkpoint, estimate 16 joints per box.

Built without ``mmpose.apis`` (its import pulls mmpose's visualizers and torchvision): the
model comes from the config through mmpose's MODELS registry, the weights from
:func:`fdpose.hrnet_finetune.checkpoints.torch_load` (weights_only with the allow-list), and
each box goes through the config's test pipeline (``GetBBoxCenterScale`` with mmpose's 1.25
padding, ``TopdownAffine``) before ``model.test_step``; mmpose maps the decoded (DARK) joints
back to image pixels.

``config`` may be None: every fdpose checkpoint embeds its effective config (``meta.cfg``).
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from fdpose.errors import ConfigError, InputError, ValidationError
from fdpose.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

#: Boxes per forward pass (each box is one crop; flip test doubles the work).
DEFAULT_BATCH = 32


@dataclass
class PoseModel:
    """A loaded top-down model: the mmpose estimator (eval mode), its test pipeline and config.

    input_size: (width, height) of the network input.
    """

    model: Any
    pipeline: Callable[[dict], dict]
    cfg: Any
    device: str
    checkpoint: str
    input_size: tuple[int, int]
    dataset_meta: dict[str, Any]


def _config_of(config: Optional[str | os.PathLike[str] | Any], checkpoint_obj: Any, ckpt_path: Path) -> Any:
    from mmengine import Config

    from fdpose.hrnet_finetune.checkpoints import checkpoint_meta

    if config is None:
        text = checkpoint_meta(checkpoint_obj).get("cfg")
        if not isinstance(text, str):
            raise InputError("checkpoint embeds no config (meta.cfg); pass the config file", ckpt_path)
        return Config.fromstring(text, file_format=".py")
    if isinstance(config, (str, os.PathLike)):
        p = Path(config)
        if not p.is_file():
            raise InputError("pose config not found", p)
        from fdpose.hrnet_finetune.config import read_mm_config

        return read_mm_config(p, required=("model", "codec"))
    return config


def first_mismatch(model_state: dict[str, Any], weights: dict[str, Any]) -> Optional[str]:
    """One line naming the first state-dict key (in the model's order) that is missing, of another shape,
    or unexpected, with the counts of each kind; None when the checkpoint fits."""
    missing = [k for k in model_state if k not in weights]
    wrong = [k for k in model_state if k in weights and tuple(weights[k].shape) != tuple(model_state[k].shape)]
    unexpected = [k for k in weights if k not in model_state]
    if not (missing or wrong or unexpected):
        return None
    first = next(k for k in [*model_state, *unexpected] if k in missing or k in wrong or k in unexpected)
    if first in wrong:
        what = (f"{first} has shape {tuple(weights[first].shape)} in the checkpoint, "
                f"{tuple(model_state[first].shape)} in the model")
    elif first in missing:
        what = f"{first} is missing from the checkpoint"
    else:
        what = f"{first} is not in the model"
    return (f"first mismatching key: {what} ({len(missing)} missing, {len(wrong)} of another shape, "
            f"{len(unexpected)} unexpected of {len(model_state)}; was the checkpoint trained with another --arch?)")


def load_pose_model(config: Optional[str | os.PathLike[str] | Any], checkpoint: str | os.PathLike[str],
                    device: str = "auto") -> PoseModel:
    """Build the model of ``config`` (file, Config, or None = the checkpoint's embedded config),
    load ``checkpoint`` (strict) and move it to ``device`` (auto/cpu/cuda[:N])."""
    import torch
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import fdpose.hrnet_finetune.register  # noqa: F401 - registers fdpose's transforms
    from fdpose.logs import route_mmengine_logs
    from fdpose.hrnet_finetune.checkpoints import state_dict_of, torch_load
    from fdpose.hrnet_finetune.config import resolve_device
    from fdpose.hrnet_finetune.mmpose_dataset import mpii_metainfo

    route_mmengine_logs()
    ckpt_path = Path(checkpoint)
    obj = torch_load(ckpt_path)
    cfg = _config_of(config, obj, ckpt_path)
    dev = resolve_device(device)
    init_default_scope(cfg.get("default_scope", "mmpose"))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.get("backbone", {}).pop("init_cfg", None)  # never fetch pretrained weights at run time
    model = MODELS.build(model_cfg)
    if int(model.head.out_channels) != NUM_JOINTS:
        raise ConfigError(f"pose model has {model.head.out_channels} output joints, fdpose needs {NUM_JOINTS}", ckpt_path)
    weights = state_dict_of(obj, ckpt_path)
    mismatch = first_mismatch(model.state_dict(), weights)
    if mismatch:
        raise ValidationError(f"checkpoint does not fit its config ({cfg.filename or 'embedded config'}): {mismatch}",
                              ckpt_path)
    model.load_state_dict(weights, strict=True)
    meta = mpii_metainfo()
    model.dataset_meta = meta
    model.to(torch.device(dev)).eval()
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    size = tuple(int(v) for v in cfg.codec["input_size"])
    log.info("loaded pose model %s (%s, input %dx%d) on %s", ckpt_path, cfg.filename or "embedded config", *size, dev)
    return PoseModel(model, pipeline, cfg, dev, str(ckpt_path), (size[0], size[1]), meta)


def _predict(pm: PoseModel, crops: Sequence[tuple[np.ndarray, np.ndarray]], flip_test: bool) -> np.ndarray:
    """(N, 16, 3) [x, y, score] for N (image_bgr, box_xyxy (4,)) pairs, one forward pass."""
    import torch
    from mmengine.dataset import pseudo_collate

    data = []
    for image, box in crops:
        info: dict[str, Any] = dict(img=image, bbox=np.asarray(box, dtype=np.float32).reshape(1, 4),
                                    bbox_score=np.ones(1, dtype=np.float32))
        info.update(pm.dataset_meta)
        data.append(pm.pipeline(info))
    batch = pseudo_collate(data)
    test_cfg = pm.model.test_cfg
    previous = test_cfg.get("flip_test", False)
    test_cfg["flip_test"] = bool(flip_test)
    try:
        with torch.no_grad():
            samples = pm.model.test_step(batch)
    finally:
        test_cfg["flip_test"] = previous
    out = np.empty((len(samples), NUM_JOINTS, 3), dtype=np.float32)
    for i, s in enumerate(samples):
        out[i, :, :2] = np.asarray(s.pred_instances.keypoints)[0, :, :2]
        out[i, :, 2] = np.asarray(s.pred_instances.keypoint_scores)[0]
    return out


def _check_image(image_bgr: np.ndarray) -> None:
    if not isinstance(image_bgr, np.ndarray) or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.size == 0:
        raise ValidationError(f"image must be (H, W, 3) BGR, got shape {getattr(image_bgr, 'shape', None)}")


def estimate(pm: PoseModel, image_bgr: np.ndarray, boxes_xyxy: np.ndarray, flip_test: bool = True,
             batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """16 joints per box of one image.

    image_bgr: (H, W, 3) uint8; boxes_xyxy: (N, 4) pixels (x1, y1, x2, y2).
    Returns (N, 16, 3) float32 [x, y, score] in image pixels (score: heatmap maximum).
    """
    _check_image(image_bgr)
    boxes = np.asarray(boxes_xyxy, dtype=np.float32)
    if boxes.size == 0:
        return np.zeros((0, NUM_JOINTS, 3), dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not np.isfinite(boxes).all():
        raise ValidationError(f"boxes must be finite (N, 4) xyxy, got shape {boxes.shape}")
    if ((boxes[:, 2] - boxes[:, 0]) <= 0).any() or ((boxes[:, 3] - boxes[:, 1]) <= 0).any():
        raise ValidationError(f"boxes need x2 > x1 and y2 > y1, got {boxes[((boxes[:, 2:] - boxes[:, :2]) <= 0).any(1)][0].tolist()}")
    return estimate_many(pm, [(image_bgr, b) for b in boxes], flip_test, batch_size)


def estimate_many(pm: PoseModel, crops: Sequence[tuple[np.ndarray, np.ndarray]], flip_test: bool = True,
                  batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """Like :func:`estimate` for (image_bgr, box (4,)) pairs from any images, batched; (N, 16, 3)."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    parts = [_predict(pm, crops[i:i + batch_size], flip_test) for i in range(0, len(crops), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, NUM_JOINTS, 3), dtype=np.float32)
