"""``fdpose finetune-hrnet``: fine-tune a top-down HRNet on LabelMe folders (method.md 2.2).

Steps of :func:`train`: read the folders (annotation toolkit), split by clip (or use ``--val``),
export both sides as MPII files under ``WORK_DIR/data``, build the effective config (saved as
``WORK_DIR/config.py``), train with :class:`~fdpose.hrnet_finetune.runner.FdposeRunner`
(validation every epoch on the held-out clips, best epoch by PCKh@0.5), then write into WORK_DIR:

* ``best.pth``: weights of the best validation epoch + meta (epoch, config text, metrics),
  without optimizer state or numpy objects;
* ``metrics.json``: the best checkpoint's PCKh@0.5/@0.1 and PCK@0.2 per joint on the validation
  clips, the split, the run settings and the training speed;
* ``history.json`` and ``training_curve.png``; ``hint.txt``: the ``track-and-estimate`` call.

mmengine's epoch checkpoints (``epoch_N.pth``, last two kept, written atomically) stay for
``--resume``, which continues exactly as the uninterrupted run would (:mod:`~fdpose.hrnet_finetune.resume`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fdpose.errors import ConfigError, InputError
from fdpose.io import atomic_write_text, write_json
from fdpose.hrnet_finetune.config import DATA_DIGEST, TrainSettings, build_config, resolve_device
from fdpose.hrnet_finetune.data import (export_dataset, given_split, read_folders, split_by_clip, split_digest,
                                        thin_frames)

log = logging.getLogger(__name__)

BEST_NAME = "best.pth"
CONFIG_NAME = "config.py"
METRICS_NAME = "metrics.json"
CURVE_NAME = "training_curve.png"
HINT_NAME = "hint.txt"
DATA_DIR = "data"


@dataclass
class TrainResult:
    """Where a run put its outputs and what it measured."""

    work_dir: Path
    best_checkpoint: Path
    config: Path
    metrics_file: Path
    curve: Path
    hint: str
    best_epoch: int
    epochs: int
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    init: Optional[dict[str, Any]] = None
    resumed_from: Optional[str] = None
    split: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        last = self.history[-1] if self.history else {}
        return {
            "work_dir": str(self.work_dir),
            "best_checkpoint": str(self.best_checkpoint),
            "config": str(self.config),
            "metrics_file": str(self.metrics_file),
            "training_curve": str(self.curve),
            "hint": self.hint,
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "final_train_loss": last.get("train_loss"),
            "images_per_s": mean_images_per_s(self.history),
            "val": {k: self.metrics["val"][k]["mean"] for k in ("PCKh@0.5", "PCKh@0.1", "PCK@0.2")},
            "split": self.split,
            "init": self.init,
            "resumed_from": self.resumed_from,
        }


def mean_images_per_s(history: list[dict[str, Any]]) -> Optional[float]:
    """Training images per second over all recorded epochs (None without history)."""
    images = sum(h.get("images", 0) for h in history)
    seconds = sum(h.get("seconds", 0.0) for h in history)
    return images / seconds if seconds > 0 else None


def hint_line(work_dir: Path) -> str:
    """The pipeline call that uses this run's model."""
    wd = work_dir.resolve()
    return (f"fdpose track-and-estimate --pose hrnet --pose-config {wd / CONFIG_NAME} "
            f"--pose-checkpoint {wd / BEST_NAME} ...")


def _best_mmengine_checkpoint(runner: Any, work_dir: Path) -> tuple[Path, int]:
    """The checkpoint mmengine's CheckpointHook kept as best (path, epoch)."""
    from fdpose.hrnet_finetune.checkpoints import torch_load

    path = runner.message_hub.get_info("best_ckpt")
    if not path or not Path(path).is_file():
        candidates = sorted(work_dir.glob("best_*.pth"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            raise InputError("training finished without a best checkpoint (no validation ran)", work_dir)
        path = candidates[-1]
    meta = torch_load(path).get("meta", {})
    return Path(path), int(meta.get("epoch", 0))


def _read_split(settings: TrainSettings) -> Any:
    """Read the LabelMe folders and split them by clip (or by ``--val``); the training side thinned."""
    roots = read_folders(settings.labelme_dirs, settings.progress)
    if settings.val_dirs:
        split = given_split(roots, read_folders(settings.val_dirs, settings.progress))
    else:
        split = split_by_clip(roots, settings.val_share, settings.seed)
    if settings.frame_stride > 1:  # thin the training side only: validation PCKh stays on every labelled frame
        split = dataclasses.replace(split, train=thin_frames(split.train, settings.frame_stride))
    return split


def _prepare(settings: TrainSettings, split: Any, data_digest: str) -> tuple[dict[str, Any], Any]:
    """Export the split under WORK_DIR/data; returns (split dict, config)."""
    data_root = settings.work_dir / DATA_DIR
    export_dataset(split, data_root, settings.progress)
    device = resolve_device(settings.device)
    cfg = build_config(settings, data_root, len(split.train), device, data_digest)
    return split.to_dict(), cfg


def _resume_checkpoint(settings: TrainSettings, work_dir: Path, data_digest: str) -> Optional[Path]:
    """The checkpoint ``--resume`` continues from (None for a fresh run); the rule of ``train-aqa``:
    ``--resume`` without a checkpoint and a fresh run over an existing one are both refused."""
    from fdpose.hrnet_finetune.resume import choose_resume_checkpoint, epoch_checkpoints, remove_stale_temporaries

    if not settings.resume:
        if epoch_checkpoints(work_dir):
            raise ConfigError("work dir already holds a run (epoch_*.pth): use --resume to continue it or choose "
                              "another -o", work_dir)
        return None
    if not work_dir.is_dir():
        raise InputError("nothing to resume: the work dir does not exist", work_dir)
    remove_stale_temporaries(work_dir)
    return choose_resume_checkpoint(work_dir, {**settings.to_dict(), DATA_DIGEST: data_digest})


def train(settings: TrainSettings) -> TrainResult:
    """Run the fine-tuning described by ``settings`` (see the module docstring)."""
    settings.check()
    work_dir = Path(settings.work_dir)
    split = _read_split(settings)
    data_digest = split_digest(split)  # a resume may move the labels, not change them
    resume_from = _resume_checkpoint(settings, work_dir, data_digest)
    work_dir.mkdir(parents=True, exist_ok=True)
    split_dict, cfg = _prepare(settings, split, data_digest)
    if resume_from is not None:
        cfg.load_from = str(resume_from)  # mmengine resumes from load_from when resume is set
    config_file = work_dir / CONFIG_NAME
    atomic_write_text(config_file, cfg.pretty_text)

    from mmengine import Config

    from fdpose.hrnet_finetune.runner import FdposeRunner

    cfg = Config.fromfile(str(config_file))  # the runner dumps its config to work_dir/config.py: the same file
    start = time.perf_counter()
    runner = FdposeRunner.from_cfg(cfg)
    runner.train()
    seconds = time.perf_counter() - start
    return finalize(runner, settings, split, split_dict, seconds)


def finalize(runner: Any, settings: TrainSettings, split: Any, split_dict: dict[str, Any], seconds: float) -> TrainResult:
    """Best checkpoint, metrics, curve and hint of a finished run."""
    from fdpose.hrnet_finetune.checkpoints import save_slim_checkpoint, state_dict_of, torch_load
    from fdpose.hrnet_finetune.curves import plot_history
    from fdpose.hrnet_finetune.evaluate import evaluate_frames
    from fdpose.hrnet_finetune.hooks import read_history
    from fdpose.hrnet_finetune.inference import load_pose_model
    from fdpose.hrnet_finetune.mmpose_dataset import jsonable_metainfo

    work_dir = Path(settings.work_dir)
    best_src, best_epoch = _best_mmengine_checkpoint(runner, work_dir)
    history = read_history(work_dir)
    best_ckpt = work_dir / BEST_NAME
    save_slim_checkpoint(best_ckpt, state_dict_of(torch_load(best_src), best_src), {
        "epoch": best_epoch,
        "cfg": (work_dir / CONFIG_NAME).read_text(encoding="utf-8"),
        "dataset_meta": jsonable_metainfo(),
        "source_checkpoint": best_src.name,
        "fdpose_settings": settings.to_dict(),
    })
    pm = load_pose_model(work_dir / CONFIG_NAME, best_ckpt, resolve_device(settings.device))
    scores, _, _ = evaluate_frames(pm, split.val, flip_test=True, progress=settings.progress)
    hint = hint_line(work_dir)
    metrics = {
        "checkpoint": str(best_ckpt),
        "best_epoch": best_epoch,
        "selected_on": "PCKh@0.5 of the validation clips",
        "val": scores.to_dict(),
        "split": split_dict,
        "training": {
            "epochs": len(history),
            "seconds_this_session": seconds,
            "images_per_s": mean_images_per_s(history),
            "final_train_loss": history[-1]["train_loss"] if history else None,
        },
        "init": runner.init_report.to_dict() if runner.init_report else None,
        "settings": settings.to_dict(),
        "hint": hint,
    }
    write_json(work_dir / METRICS_NAME, metrics)
    curve = plot_history(history, work_dir / CURVE_NAME, title=f"{settings.arch}: {work_dir.name}")
    atomic_write_text(work_dir / HINT_NAME, hint + "\n")
    return TrainResult(
        work_dir=work_dir, best_checkpoint=best_ckpt, config=work_dir / CONFIG_NAME, metrics_file=work_dir / METRICS_NAME,
        curve=curve, hint=hint, best_epoch=best_epoch, epochs=len(history), history=history, metrics=metrics,
        init=metrics["init"], resumed_from=runner.resumed_from, split=split_dict,
    )


def train_small_synth(labelme_dir: Path, work_dir: Path, epochs: int = 8, input_size: tuple[int, int] = (64, 64),
                      batch_size: int = 16, seed: int = 0, device: str = "cpu") -> TrainResult:
    """A quick CPU run of the small architecture (about half a minute on a 4-clip synth world).

    For demos and pipeline tests that need a real checkpoint without shipping weights. The same
    as ``fdpose finetune-hrnet LABELME_DIR -o WORK_DIR --arch hrnet-small --epochs 8
    --input-size 64x64 --batch-size 16 --workers 0 --device cpu --val-split 0.25``.
    """
    return train(TrainSettings([Path(labelme_dir)], Path(work_dir), arch="hrnet-small", epochs=epochs,
                               batch_size=batch_size, input_size=input_size, val_share=0.25, workers=0, device=device,
                               seed=seed))
