"""The training-curve figure: mean training loss and validation PCKh per epoch (matplotlib, Agg)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

from fdpose.io import atomic_write_bytes
from fdpose.hrnet_finetune.metric import PCK_BOX_02, PCKH_01, PCKH_05


def plot_history(history: Sequence[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Write a two-panel PNG (loss; validation metrics) of ``history`` (records of history.json)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=100)
    ax_loss, ax_val = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker="o", ms=3)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (heatmap MSE)")
    ax_loss.set_yscale("log")
    ax_loss.grid(True, alpha=0.3)
    for key in (PCKH_05, PCKH_01, PCK_BOX_02):
        pts = [(h["epoch"], h["val"][key]) for h in history if key in h.get("val", {})]
        if pts:
            ax_val.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label=key)
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel("validation accuracy")
    ax_val.set_ylim(0, 1)
    ax_val.grid(True, alpha=0.3)
    if ax_val.lines:
        ax_val.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic_write_bytes(path, buf.getvalue())
