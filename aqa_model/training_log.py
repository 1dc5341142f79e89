"""Per-epoch training logs: history, ``metrics.csv``, per-epoch JSON, curve PNG, TensorBoard.

The history (a list of per-epoch dicts) lives in every ``last.pt``, so a resumed run rewrites
exactly the same CSV as an uninterrupted one. Only the process created with ``enabled=True``
(rank 0) writes anything. TensorBoard is used only when the ``tensorboard`` package is
installed; the CSV is always written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fdpose.io import atomic_write_text, csv_text, write_json

log = logging.getLogger(__name__)

#: metrics.csv columns (val_* empty without a validation split; R-l2 range in val_rl2_min/max; test_* only
#: with --protocol official).
CSV_COLUMNS = ("epoch", "lr", "loss_total", "loss_mse", "loss_ce", "loss_contrastive", "train_pairs",
               "val_srcc", "val_l2", "val_rl2_x100", "val_rl2_min", "val_rl2_max", "val_aiou_50", "val_aiou_75",
               "val_baseline_srcc", "test_srcc", "test_l2", "test_rl2_x100", "is_best", "seconds")


def history_csv(history: list[dict[str, Any]]) -> str:
    """The CSV text of a history (floats with full precision; missing values empty)."""
    def cell(v: Any) -> Any:
        return int(v) if isinstance(v, bool) else repr(v) if isinstance(v, float) else v

    return csv_text(({col: cell(rec.get(col)) for col in CSV_COLUMNS} for rec in history), CSV_COLUMNS)


class TrainingLog:
    """History plus its files in a run directory."""

    def __init__(self, out_dir: Path, enabled: bool = True) -> None:
        self.out_dir, self.enabled = Path(out_dir), enabled
        self.history: list[dict[str, Any]] = []
        self._tb: Any = None

    def open_tensorboard(self, purge_step: int | None = None) -> bool:
        """Start TensorBoard logging if the package is installed (rank 0 only)."""
        if not self.enabled:
            return False
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.debug("tensorboard not installed: CSV logs only")
            return False
        self._tb = SummaryWriter(str(self.out_dir / "tensorboard"), purge_step=purge_step)
        return True

    def append(self, record: dict[str, Any], details: dict[str, Any] | None = None) -> None:
        """Add one epoch; ``details`` (per-rank queries, checksums) go to logs/epoch_NNNN.json."""
        self.history.append(dict(record))
        if not self.enabled:
            return
        epoch = int(record["epoch"])
        write_json(self.out_dir / "logs" / f"epoch_{epoch:04d}.json", {**record, **(details or {})})
        if self._tb is not None:
            for key, value in record.items():
                if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._tb.add_scalar(key.replace("_", "/", 1), value, epoch)
            self._tb.flush()

    def write_files(self, curve: bool = True, title: str = "") -> None:
        """metrics.csv from the whole history, and the training-curve PNG when ``curve``."""
        if not self.enabled or not self.history:
            return
        atomic_write_text(self.out_dir / "metrics.csv", history_csv(self.history))
        if curve:
            from fdpose.aqa_model.plots import training_curve

            training_curve(self.history, self.out_dir / "training_curve.png", title)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
