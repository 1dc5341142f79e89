"""The ``mmdet`` person detector: any mmdet 3.x config + checkpoint, person class only, batched.

The model is built from the config through ``mmdet.registry.MODELS`` (not ``mmdet.apis``,
which would tie the project to whatever its imports pull in; torchvision is deliberately not
installed) and fed by the config's own test pipeline, with the file loader replaced by
``LoadImageFromNDArray`` and the annotation loader dropped. Frames go through the model in
batches of ``batch_size`` on ``device`` (``cpu``, ``cuda``, ``cuda:1`` ...).

Output per frame: one :class:`fdpose.records.Boxes` of the person class with score >=
``score_threshold``, in frame pixels, highest score first. The person class is found
by name (``"person"``) in the checkpoint's ``meta.dataset_meta.classes``, else the config's
dataset ``metainfo``, else the dataset class's ``METAINFO``; ``person_label`` overrides it.

**Checkpoints under torch >= 2.6** (``torch.load(weights_only=True)`` by default): mmengine
checkpoints carry numpy objects in ``meta`` / ``message_hub``. Loading runs inside
``torch.serialization.safe_globals`` with exactly the numpy reconstruction globals
(:func:`checkpoint_safe_globals`) for that one call; nothing is switched to unsafe loading
globally and arbitrary pickled code is still refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from fdpose.errors import ConfigError, DependencyError, InputError
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.records import Boxes
from fdpose.pipelines.pose.base import check_image

log = logging.getLogger(__name__)

PERSON_CLASS = "person"


def checkpoint_safe_globals() -> list[Any]:
    """The numpy globals an mmengine checkpoint may need, allowed for ``weights_only`` loading.

    Arrays (``_reconstruct``, ``ndarray``, ``dtype`` and the concrete dtype classes of numpy 2)
    and numpy scalars (``scalar``) only: data, no callables that run code.
    """
    import numpy._core.multiarray as multiarray

    dtype_classes = {type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                                                 np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_,
                                                 np.str_, np.object_)}
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
            *sorted(dtype_classes, key=lambda c: c.__name__)]


@contextlib.contextmanager
def allow_checkpoint_globals() -> Iterator[None]:
    """Context in which ``torch.load(weights_only=True)`` accepts :func:`checkpoint_safe_globals`."""
    import torch

    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        yield


def load_model_checkpoint(model: Any, checkpoint: str | os.PathLike[str], strict: bool = True) -> dict[str, Any]:
    """Load a checkpoint into ``model`` with ``mmengine.runner.load_checkpoint`` (weights-only safe).

    Returns the checkpoint dict (its ``meta`` tells the classes). Raises :class:`InputError`
    naming the file when it is missing, holds objects outside the allow-list, or does not
    match the model.
    """
    from mmengine.runner import load_checkpoint

    path = Path(checkpoint)
    if not path.is_file():
        raise InputError("checkpoint not found", path)
    try:
        with allow_checkpoint_globals():
            # logger='silent': mmengine would otherwise print the path to stdout.
            return load_checkpoint(model, str(path), map_location="cpu", strict=strict, logger="silent")
    except RuntimeError as exc:  # state-dict mismatch (strict) or a corrupt archive
        raise InputError(f"checkpoint does not fit the model or is damaged: {str(exc).splitlines()[0]}", path) from None
    except Exception as exc:  # pickle.UnpicklingError for globals outside the allow-list, EOFError, ...
        raise InputError(f"cannot load checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]})", path) from None


def _import_mmdet() -> tuple[Any, Any, Any, Any]:
    try:
        import mmdet
        import mmdet.datasets  # noqa: F401  registers the transforms
        import mmdet.models  # noqa: F401  registers the models
        from mmdet.registry import DATASETS, MODELS, TRANSFORMS
    except ImportError as exc:
        raise DependencyError(f"the mmdet detector needs mmdet 3.x with a compiled mmcv: {exc}") from None
    return mmdet, DATASETS, MODELS, TRANSFORMS


def _class_names(checkpoint_meta: dict[str, Any], cfg: Any, datasets: Any) -> Optional[list[str]]:
    classes = (checkpoint_meta.get("dataset_meta") or {}).get("classes")
    if classes:
        return [str(c) for c in classes]
    ds = cfg.get("test_dataloader", {}).get("dataset", {}) if hasattr(cfg, "get") else {}
    while "dataset" in ds and "metainfo" not in ds:  # dataset wrappers
        ds = ds["dataset"]
    classes = (ds.get("metainfo") or {}).get("classes")
    if classes:
        return [str(c) for c in classes]
    ds_type = ds.get("type")
    if isinstance(ds_type, str):
        ds_cls = datasets.get(ds_type)
        classes = getattr(ds_cls, "METAINFO", {}).get("classes") if ds_cls is not None else None
        if classes:
            return [str(c) for c in classes]
    return None


class MMDetDetector:
    """The ``mmdet`` backend of the :class:`~.base.PersonDetector` protocol (``device``: cpu, cuda[:N], auto)."""

    def __init__(self, config: str | os.PathLike[str], checkpoint: str | os.PathLike[str], device: str = "cpu",
                 score_threshold: float = 0.3, person_label: Optional[int] = None, batch_size: int = 8,
                 cfg_options: Optional[dict[str, Any]] = None) -> None:
        """``cfg_options``: dotted-key overrides merged into the config (as mmdet's ``--cfg-options``),
        e.g. ``{"model.test_cfg.score_thr": 0.1}`` or ``{"test_dataloader.dataset.pipeline.1.scale": (320, 320)}``.
        """
        if not 0 <= score_threshold <= 1:
            raise ConfigError(f"mmdet detector: score_threshold must lie in [0, 1], got {score_threshold}")
        if batch_size < 1:
            raise ConfigError(f"mmdet detector: batch_size must be >= 1, got {batch_size}")
        import torch
        from mmengine.config import Config
        from mmengine.registry import DefaultScope
        from mmcv.transforms import Compose
        from mmdet.utils import get_test_pipeline_cfg

        from fdpose.logs import route_mmengine_logs

        mmdet, datasets, models, transforms = _import_mmdet()
        route_mmengine_logs()  # mmengine's console messages into python logging (shown with -v)
        self.config_path, self.checkpoint_path = Path(config), Path(checkpoint)
        self.score_threshold, self.batch_size = float(score_threshold), int(batch_size)
        self._version = str(mmdet.__version__)
        if not self.config_path.is_file():
            raise InputError("mmdet config not found", self.config_path)
        try:
            cfg = Config.fromfile(str(self.config_path))
        except Exception as exc:  # syntax errors, missing _base_ files
            raise InputError(f"cannot read mmdet config ({type(exc).__name__}: {exc})", self.config_path) from None
        if cfg_options:
            try:
                cfg.merge_from_dict(dict(cfg_options), allow_list_keys=True)
            except Exception as exc:
                raise ConfigError(f"mmdet detector: bad cfg_options ({type(exc).__name__}: {exc})",
                                  str(self.config_path)) from None
        if "model" not in cfg:
            raise InputError("not a model config (no `model`)", self.config_path)
        with DefaultScope.overwrite_default_scope("mmdet"):
            try:
                model = models.build(cfg.model)
            except Exception as exc:
                raise InputError(f"cannot build the model ({type(exc).__name__}: {exc})", self.config_path) from None
            # Built weights are random; init_weights() is never called, so no pretrained download happens.
            ckpt = load_model_checkpoint(model, self.checkpoint_path)
            try:
                steps = [dict(s) for s in get_test_pipeline_cfg(cfg)]
            except (RuntimeError, AttributeError, KeyError):
                raise InputError("config has no test pipeline (test_dataloader.dataset.pipeline)",
                                 self.config_path) from None
            steps = [s for s in steps if s.get("type", "").split(".")[-1] != "LoadAnnotations"]
            if not steps or "LoadImage" not in str(steps[0].get("type", "")):
                raise InputError("test pipeline does not start with an image loader", self.config_path)
            steps[0] = {"type": "mmdet.LoadImageFromNDArray"}
            self._pipeline = Compose([transforms.build(s) for s in steps])
        meta = ckpt.get("meta", {}) if isinstance(ckpt, dict) else {}
        self.classes = _class_names(meta if isinstance(meta, dict) else {}, cfg, datasets)
        self.person_label = self._resolve_person(person_label)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self._model = model.to(self.device).eval()

    def _resolve_person(self, person_label: Optional[int]) -> int:
        if person_label is not None:
            if person_label < 0 or (self.classes is not None and person_label >= len(self.classes)):
                raise ConfigError(f"mmdet detector: person_label {person_label} outside the model's "
                                  f"{len(self.classes) if self.classes else '?'} classes")
            return int(person_label)
        if self.classes is None:
            log.warning("%s: class names unknown (no dataset_meta in the checkpoint or config); "
                        "assuming label 0 is the person class (COCO order)", self.checkpoint_path)
            return 0
        names = [c.lower() for c in self.classes]
        if PERSON_CLASS not in names:
            raise ConfigError(f"mmdet detector: the model has no {PERSON_CLASS!r} class (classes: "
                              f"{', '.join(self.classes[:8])}{' ...' if len(self.classes) > 8 else ''}); "
                              f"pass person_label", str(self.checkpoint_path))
        return names.index(PERSON_CLASS)

    @property
    def info(self) -> BackendInfo:
        return BackendInfo(name="mmdet", version=self._version, checkpoint=str(self.checkpoint_path))

    def raw_detections(self, frames: Sequence[np.ndarray],
                       frame_indices: Optional[Sequence[int]] = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every class: per frame ``(bboxes (M, 4), scores (M,), labels (M,))`` in frame pixels."""
        import torch

        idx = list(frame_indices) if frame_indices is not None else list(range(len(frames)))
        if len(idx) != len(frames):
            raise ConfigError(f"mmdet detector: {len(frames)} frames but {len(idx)} frame indices")
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = frames[start:start + self.batch_size]
            packed = [self._pipeline({"img": check_image(f, f"frame {idx[start + k]}"), "img_id": idx[start + k]})
                      for k, f in enumerate(chunk)]
            data = {"inputs": [p["inputs"] for p in packed], "data_samples": [p["data_samples"] for p in packed]}
            with torch.no_grad():
                results = self._model.test_step(data)
            for res in results:
                inst = res.pred_instances
                out.append((inst.bboxes.detach().cpu().numpy().astype(np.float64).reshape(-1, 4),
                            inst.scores.detach().cpu().numpy().astype(np.float64).reshape(-1),
                            inst.labels.detach().cpu().numpy().astype(np.int64).reshape(-1)))
        return out

    def detect(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int]) -> list[Boxes]:
        """One :class:`Boxes` of persons per frame (score >= threshold, best first)."""
        boxes: list[Boxes] = []
        for (xyxy, scores, labels), frame in zip(self.raw_detections(frames, frame_indices), frames):
            keep = (labels == self.person_label) & (scores >= self.score_threshold)
            if not keep.any():
                boxes.append(Boxes.empty())
                continue
            order = np.argsort(-scores[keep], kind="stable")
            rows = np.concatenate([xyxy[keep], scores[keep, None]], axis=1)[order]
            h, w = frame.shape[:2]
            rows[:, [0, 2]] = np.clip(rows[:, [0, 2]], 0, w - 1)
            rows[:, [1, 3]] = np.clip(rows[:, [1, 3]], 0, h - 1)
            boxes.append(Boxes.from_rows(rows))
        return boxes


def make_detector(cfg: Any) -> MMDetDetector:
    """Factory from the runner's ``RunConfig`` (duck-typed: det_config, det_checkpoint, device, batch_size)."""
    config, checkpoint = getattr(cfg, "det_config", None), getattr(cfg, "det_checkpoint", None)
    if config is None or checkpoint is None:
        raise ConfigError("--detector mmdet needs --det-config and --det-checkpoint")
    return MMDetDetector(config, checkpoint, device=str(getattr(cfg, "device", "cpu")),
                         batch_size=int(getattr(cfg, "batch_size", 8)))
