"""PNG figures of the AQA tools: training curves and predicted-vs-true scatter (matplotlib Agg).

Figures are rendered into memory and written atomically, so a reader never sees half a PNG.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fdpose.io import atomic_write_bytes


def _figure(width: float, height: float) -> Any:
    """A bare Agg figure: no pyplot (slow to import, keeps global state), no display needed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())


def _series(history: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    vals = [h.get(key) for h in history]
    return np.array([np.nan if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in vals])


def training_curve(history: Sequence[dict[str, Any]], path: str | os.PathLike[str], title: str = "") -> Path:
    """Loss parts (left) and validation SRCC / AIoU (right) per epoch -> PNG at ``path``."""
    epochs = np.array([int(h["epoch"]) for h in history])
    fig = _figure(10, 4)
    ax_loss, ax_val = fig.subplots(1, 2)
    for key, label in (("loss_total", "total"), ("loss_mse", "MSE"), ("loss_ce", "segmentation CE"),
                       ("loss_contrastive", "contrastive")):
        y = _series(history, key)
        if np.isfinite(y).any():
            ax_loss.plot(epochs, y, marker=".", label=label)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    if np.nanmin(np.r_[_series(history, "loss_total"), np.inf]) > 0:
        ax_loss.set_yscale("log")
    ax_loss.legend(fontsize=8)
    ax_loss.grid(alpha=0.3)
    plotted = False
    for key, label in (("val_srcc", "val SRCC"), ("val_aiou_50", "val AIoU@0.5 / 100"),
                       ("val_aiou_75", "val AIoU@0.75 / 100")):
        y = _series(history, key)
        if key.startswith("val_aiou"):
            y = y / 100.0
        if np.isfinite(y).any():
            ax_val.plot(epochs, y, marker=".", label=label)
            plotted = True
    best = [int(h["epoch"]) for h in history if h.get("is_best")]
    if best:
        ax_val.axvline(best[-1], color="grey", linestyle="--", linewidth=1, label=f"best epoch {best[-1]}")
    ax_val.set_xlabel("epoch")
    ax_val.set_ylim(-1.05, 1.05)
    ax_val.grid(alpha=0.3)
    if plotted or best:
        ax_val.legend(fontsize=8)
    else:
        ax_val.text(0.5, 0.5, "no validation split", ha="center", va="center", transform=ax_val.transAxes)
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.88 if title else 0.95, wspace=0.2)
    return _save(fig, path)


def score_scatter(true: Sequence[float], pred: Sequence[float], path: str | os.PathLike[str],
                  title: str = "", labels: Sequence[str] | None = None) -> Path:
    """Predicted vs true scores with the identity line -> PNG at ``path``."""
    t, p = np.asarray(true, np.float64), np.asarray(pred, np.float64)
    fig = _figure(5, 5)
    ax = fig.subplots()
    ax.scatter(t, p, s=14, alpha=0.8)
    lo = float(np.nanmin(np.r_[t, p])) if t.size else 0.0
    hi = float(np.nanmax(np.r_[t, p])) if t.size else 1.0
    pad = 0.05 * max(hi - lo, 1e-6)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", linewidth=1, linestyle="--")
    if labels is not None and len(labels) <= 40:
        for x, y, name in zip(t, p, labels):
            ax.annotate(name, (x, y), fontsize=5, alpha=0.7)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("true score")
    ax.set_ylabel("predicted score")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.1, top=0.88)
    return _save(fig, path)
