"""AQA checkpoints: atomic writes, ``weights_only`` loading, RNG states, run-dir resolution.

A checkpoint is one ``torch.save`` file holding ONLY tensors and plain Python values (dict,
list, tuple, str, int, float, bool, None), so ``torch.load(path, weights_only=True)`` reads
it on torch >= 2.6 without the unsafe unpickler::

    {
      "format": "fdpose-aqa-checkpoint", "format_version": 1,
      "config": AQAConfig.to_dict(),
      "model": state_dict,                 # the bare HPMCoRe (never the DDP wrapper)
      "epoch": completed epochs (0 = untrained),
      "optimizer": ..., "scheduler": ..., "scaler": ...,   # training checkpoints only
      "rng": {"torch", "cuda", "numpy", "python"},          # training checkpoints only
      "history": [per-epoch records], "best": {...}, "run": {training options},
    }

Writes go through :func:`fdpose.io.atomic_write_bytes`: a run killed while saving keeps the
previous file intact, so ``--resume`` always finds a complete checkpoint.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import pickle
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.model import HPMCoRe
from fdpose.errors import ConfigError, InputError
from fdpose.io import atomic_write_bytes

log = logging.getLogger(__name__)

FORMAT = "fdpose-aqa-checkpoint"
FORMAT_VERSION = 1
LAST_NAME = "last.pt"
BEST_NAME = "best.pt"


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Atomically write ``state`` (tensors and plain values only) with the format header."""
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


#: What torch.load raises on a file that is not a checkpoint: arbitrary bytes drive the weights-only
#: unpickler's opcode machine into any of the lookup/type errors too (text "this is ..." -> IndexError).
_UNREADABLE = (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
               IndexError, KeyError, TypeError, AttributeError, UnicodeDecodeError)


def why_unreadable(exc: BaseException) -> str:
    """The reason in a few words, without torch's advice to retry with ``weights_only=False`` (never taken)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, pickle.UnpicklingError):
        found = re.search(r"unsupported GLOBAL ([\w.]+)", text)
        if found:
            return f"it holds a Python object ({found.group(1)}) besides tensors and plain values: refused"
        return "not a torch checkpoint or damaged"
    if isinstance(exc, (EOFError, IndexError, KeyError, TypeError, AttributeError, UnicodeDecodeError)):
        return "not a torch checkpoint or damaged"
    return text.split(". ")[0][:160] or type(exc).__name__


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; a clear :class:`InputError` when it is not one."""
    p = Path(path)
    if not p.is_file():
        raise InputError("checkpoint not found", p)
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except _UNREADABLE as exc:
        raise InputError(f"not a readable checkpoint ({why_unreadable(exc)})", p) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"not an fdpose AQA checkpoint (no '{FORMAT}' header)", p)
    if int(state.get("format_version", 0)) > FORMAT_VERSION:
        raise InputError(f"checkpoint format {state['format_version']} is newer than this fdpose "
                         f"({FORMAT_VERSION})", p)
    for key in ("config", "model"):
        if key not in state:
            raise InputError(f"checkpoint has no '{key}' entry", p)
    return state


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file, or a run directory -> its ``best.pt`` (else ``last.pt``)."""
    p = Path(path)
    if p.is_dir():
        for name in (BEST_NAME, LAST_NAME):
            if (p / name).is_file():
                return p / name
        raise InputError(f"run directory has no {BEST_NAME} or {LAST_NAME}", p)
    if not p.is_file():
        raise InputError("no such checkpoint file or run directory", p)
    return p


def config_from_checkpoint(state: dict[str, Any], source: str | os.PathLike[str] | None = None) -> AQAConfig:
    """The :class:`AQAConfig` stored in a checkpoint (validated)."""
    try:
        return AQAConfig.from_dict(dict(state["config"]), source=None if source is None else str(source))
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"checkpoint config is malformed ({exc})", source) from None


def build_model(config: AQAConfig, weights_follow: bool = False) -> HPMCoRe:
    """``HPMCoRe(config)``; with ``weights_follow`` the caller loads trained weights right after, so
    the pretrained files the config names are not read (they may have moved since training; the
    model keeps ``config`` as given) and the "random initialisation" warnings are silenced."""
    if not weights_follow:
        return HPMCoRe(config)
    quiet = logging.getLogger("fdpose.aqa_model.encoders")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        model = HPMCoRe(dataclasses.replace(config, i3d_weights=None, resnet_weights=None, regnet_weights=None))
    finally:
        quiet.setLevel(level)
    model.config = config
    return model


def model_from_checkpoint(path: str | os.PathLike[str], device: str | torch.device = "cpu"
                          ) -> tuple[HPMCoRe, dict[str, Any], Path]:
    """Build the model of a checkpoint (or run dir) in eval mode -> (model, state, checkpoint path)."""
    ckpt = resolve_checkpoint(path)
    state = load_checkpoint(ckpt)
    cfg = config_from_checkpoint(state, ckpt)
    model = build_model(cfg, weights_follow=True)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise InputError(f"weights do not fit the stored config ({' '.join(str(exc).split())[:200]})", ckpt) from None
    return model.to(device).eval(), state, ckpt


# ----------------------------------------------------------------------------- RNG states


def capture_rng_state() -> dict[str, Any]:
    """Every global RNG (torch CPU, CUDA, numpy legacy, python) as tensors / plain values."""
    np_state = np.random.get_state(legacy=True)
    assert isinstance(np_state, tuple)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": str(np_state[0]), "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": random.getstate(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state` (CUDA states only when the device count matches)."""
    torch.set_rng_state(state["torch"].cpu())
    npy = state["numpy"]
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([t.cpu() for t in cuda])


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
