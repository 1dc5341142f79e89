"""mmengine hooks of the fine-tuning run: per-epoch history (loss, speed, validation metrics) and progress.

:class:`TrainingHistoryHook` keeps ``WORK_DIR/history.json``: a list of epochs
``{epoch, train_loss, images, seconds, images_per_s, lr, val: {PCKh@0.5, ...}}``, rewritten
atomically after every epoch and validation. On resume it keeps the epochs the resumed
checkpoint had finished and drops later ones (an interrupted epoch is trained again).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Optional

from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from fdpose.io import read_json, write_json

log = logging.getLogger(__name__)

HISTORY_NAME = "history.json"


def read_history(work_dir: str | Path) -> list[dict[str, Any]]:
    """The epochs recorded in ``work_dir/history.json`` ([] when absent)."""
    path = Path(work_dir) / HISTORY_NAME
    if not path.is_file():
        return []
    data = read_json(path)
    return list(data) if isinstance(data, list) else []


@HOOKS.register_module()
class TrainingHistoryHook(Hook):
    """Record the mean training loss, throughput, learning rate and validation metrics per epoch.

    progress: show a tqdm bar per epoch on stderr.
    """

    priority = "LOW"

    def __init__(self, progress: bool = False) -> None:
        self.progress = progress
        self.history: list[dict[str, Any]] = []
        self._loss_sum = 0.0
        self._iters = 0
        self._images = 0
        self._start = 0.0
        self._bar: Optional[Any] = None

    def _path(self, runner: Any) -> Path:
        return Path(runner.work_dir) / HISTORY_NAME

    def _write(self, runner: Any) -> None:
        write_json(self._path(runner), self.history)

    def before_train(self, runner: Any) -> None:
        # Runs after load_or_resume: runner.epoch is the number of finished (resumed) epochs.
        done = int(runner.epoch)
        self.history = [h for h in read_history(runner.work_dir) if int(h.get("epoch", 0)) <= done]
        self._write(runner)

    def before_train_epoch(self, runner: Any) -> None:
        self._loss_sum, self._iters, self._images = 0.0, 0, 0
        self._start = time.perf_counter()
        if self.progress:
            from fdpose.progress import tqdm

            self._bar = tqdm(total=len(runner.train_dataloader), desc=f"epoch {runner.epoch + 1}/{runner.max_epochs}",
                             unit="batch", file=sys.stderr, leave=False)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Optional[dict] = None) -> None:
        if outputs is not None and "loss" in outputs:
            self._loss_sum += float(outputs["loss"].detach())
            self._iters += 1
        if data_batch is not None and "inputs" in data_batch:
            self._images += len(data_batch["inputs"])
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{self._loss_sum / max(self._iters, 1):.5f}", refresh=False)
            self._bar.update(1)

    def after_train_epoch(self, runner: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        seconds = time.perf_counter() - self._start
        lrs = runner.optim_wrapper.get_lr().get("lr", [float("nan")])
        record = {
            "epoch": int(runner.epoch) + 1,  # runner.epoch counts finished epochs; this one is finishing
            "train_loss": self._loss_sum / max(self._iters, 1),
            "iterations": self._iters,
            "images": self._images,
            "seconds": seconds,
            "images_per_s": self._images / seconds if seconds > 0 else float("nan"),
            "lr": float(lrs[0]),
        }
        self.history = [h for h in self.history if h["epoch"] != record["epoch"]] + [record]
        log.info("epoch %d: loss %.6f, %.1f images/s", record["epoch"], record["train_loss"], record["images_per_s"])
        self._write(runner)

    def after_val_epoch(self, runner: Any, metrics: Optional[dict[str, float]] = None) -> None:
        if not metrics or not self.history:
            return
        epoch = int(runner.epoch)  # validation runs after the epoch counter moved on
        for h in self.history:
            if h["epoch"] == epoch:
                h["val"] = {k.split("/", 1)[-1]: float(v) for k, v in metrics.items()}
                log.info("epoch %d validation: %s", epoch, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        self._write(runner)
