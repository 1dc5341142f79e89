"""Checkpoints under ``torch.load(weights_only=True)`` and ``--init`` from a local pretrained file.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors, plain containers
and explicitly allowed globals. mmengine 0.10.7 writes numpy arrays and scalars (dataset meta,
message hub), its ``HistoryBuffer`` and ``collections`` types into every checkpoint, so a plain
``torch.load`` of an epoch checkpoint (and ``Runner.resume``) fails with ``Unsupported global``.
fdpose does not switch the check off: :func:`allowed_globals` is a fixed allow-list of those
data-only types, applied per call with ``torch.serialization.safe_globals`` (:func:`safe_loading`),
around our own loads and around mmengine's (``FdposeRunner.load_checkpoint``). The checkpoints
fdpose hands to users (``best.pth``) contain no numpy objects at all (:func:`save_slim_checkpoint`).

``--init`` (:func:`init_from_checkpoint`) accepts mmpose 1.x checkpoints, mmpose 0.x model-zoo
files (``keypoint_head.*`` names) and bare ImageNet HRNet backbones (no ``backbone.`` prefix).
The backbone must match the architecture exactly; head tensors whose shape differs (a 17-joint
COCO head) are re-initialised for the 16 MPII joints with a warning.
"""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from fdpose.errors import ConfigError, InputError
from fdpose.io import atomic_write_bytes

log = logging.getLogger(__name__)


def _numpy_reconstructors() -> list[Any]:
    """numpy's array/scalar rebuild functions under both module names: numpy 2 pickles them as
    ``numpy._core.multiarray.*``, numpy 1 (most model-zoo files) as ``numpy.core.multiarray.*``."""
    from numpy._core import multiarray

    out: list[Any] = []
    for fn in (multiarray._reconstruct, multiarray.scalar):
        out += [(fn, f"numpy._core.multiarray.{fn.__name__}"), (fn, f"numpy.core.multiarray.{fn.__name__}")]
    return out


#: Statistics methods mmengine's HistoryBuffer pickles by reference (``getattr(HistoryBuffer, name)``).
_HISTORY_BUFFER_METHODS = frozenset({"min", "max", "current", "mean"})


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``getattr`` during unpickling: only ``HistoryBuffer.<statistic>`` is resolved.

    mmengine pickles each HistoryBuffer's statistics table as ``getattr(HistoryBuffer, 'mean')``...;
    allowing the real ``getattr`` would let a crafted file reach any attribute of any allowed
    object, so this restricted function is registered under getattr's pickle names instead.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f"getattr({getattr(obj, '__name__', type(obj).__name__)}, {name!r}) is not allowed")


def allowed_globals() -> list[Any]:
    """Data-only types mmengine/mmpose checkpoints contain besides tensors (the allow-list)."""
    from mmengine.logging.history_buffer import HistoryBuffer

    dtype_classes = [type(np.dtype(t)) for t in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "complex64", "complex128", "U", "S", "O",
    )]
    return [
        *_numpy_reconstructors(),
        np.ndarray,
        np.dtype,
        *dtype_classes,
        collections.OrderedDict,
        collections.Counter,
        collections.defaultdict,
        HistoryBuffer,
        (_history_buffer_getattr, "builtins.getattr"),
        (_history_buffer_getattr, "__builtin__.getattr"),
    ]


@contextlib.contextmanager
def safe_loading() -> Iterator[None]:
    """Allow exactly :func:`allowed_globals` inside ``torch.load(weights_only=True)`` in this block."""
    with torch.serialization.safe_globals(allowed_globals()):
        yield


#: torch names a refused global two ways: "Unsupported global: GLOBAL m.x" (a class outside the allow-list)
#: and "unsupported GLOBAL m.x whose module m is blocked" (os, posix, subprocess, ...).
_UNSUPPORTED = re.compile(r"[Uu]nsupported (?:global: )?GLOBAL ([\w.]+)")


def torch_load(path: str | os.PathLike[str], map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with the allow-list; one-line :class:`InputError` on failure."""
    p = Path(path)
    if not p.is_file():
        raise InputError("checkpoint not found", p)
    try:
        with safe_loading():
            return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        m = _UNSUPPORTED.search(text)
        if m is None and "is not allowed" not in text:
            raise InputError("cannot read checkpoint: not a torch checkpoint or damaged", p) from None
        what = f"an object of type {m.group(1)}" if m else "a disallowed attribute lookup (getattr)"
        raise InputError(
            f"checkpoint holds {what} that fdpose does not unpickle (torch weights_only loading with a numpy/mmengine "
            "allow-list); re-save it with only its state_dict", p) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise InputError(f"cannot read checkpoint: {err}", p) from None
    except (IndexError, KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        # arbitrary bytes drive the unpickler's opcode machine into any of these (b"this is ..." -> IndexError)
        raise InputError("cannot read checkpoint: not a torch checkpoint or damaged", p) from None


def state_dict_of(checkpoint: Any, path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The weights of a loaded checkpoint (``state_dict`` key, ``model`` key, or the dict itself),
    with DataParallel's ``module.`` prefix removed."""
    if isinstance(checkpoint, Mapping):
        for key in ("state_dict", "model"):
            if key in checkpoint and isinstance(checkpoint[key], Mapping):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, Mapping) or not any(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise InputError("checkpoint has no state_dict of tensors", path)
    out: dict[str, torch.Tensor] = {}
    for k, v in checkpoint.items():
        if isinstance(v, torch.Tensor):
            out[k[len("module."):] if k.startswith("module.") else k] = v
    return out


def checkpoint_meta(checkpoint: Any) -> dict[str, Any]:
    """The ``meta`` dict of a loaded checkpoint ({} when absent)."""
    meta = checkpoint.get("meta") if isinstance(checkpoint, Mapping) else None
    return dict(meta) if isinstance(meta, Mapping) else {}


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays/scalars turned into lists/numbers (recursively)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def save_slim_checkpoint(path: str | os.PathLike[str], state_dict: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> Path:
    """Write ``{meta, state_dict}`` (CPU tensors, no numpy objects) atomically; loadable with plain weights_only."""
    payload = {
        "meta": _plain(dict(meta)),
        "state_dict": collections.OrderedDict((k, v.detach().cpu()) for k, v in state_dict.items()),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


@dataclass
class InitReport:
    """What :func:`init_from_checkpoint` did."""

    checkpoint: str
    loaded: int
    reinitialised: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "loaded": self.loaded, "reinitialised": self.reinitialised,
                "ignored": self.ignored, "message": self.message}


def _rename_keys(weights: dict[str, torch.Tensor], model_keys: set[str]) -> dict[str, torch.Tensor]:
    """mmpose 0.x head names and bare backbones mapped onto the mmpose 1.x TopdownPoseEstimator names."""
    renamed = {k.replace("keypoint_head.", "head.", 1) if k.startswith("keypoint_head.") else k: v for k, v in weights.items()}
    backbone_keys = {k[len("backbone."):] for k in model_keys if k.startswith("backbone.")}
    if not any(k.startswith(("backbone.", "head.")) for k in renamed) and set(renamed) & backbone_keys:
        renamed = {f"backbone.{k}": v for k, v in renamed.items()}
    return renamed


def init_from_checkpoint(model: torch.nn.Module, path: str | os.PathLike[str]) -> InitReport:
    """Load pretrained weights from a LOCAL checkpoint into a freshly built top-down model.

    Every ``backbone.*`` tensor of the model must be in the checkpoint with the same shape
    (else :class:`ConfigError`: the checkpoint is another architecture). ``head.*`` tensors
    of a different shape (e.g. the 17-joint COCO ``head.final_layer``) keep their fresh
    initialisation and are reported; keys the model does not have are ignored.
    """
    p = Path(path)
    weights = state_dict_of(torch_load(p), p)
    own = model.state_dict()
    weights = _rename_keys(weights, set(own))
    backbone = [k for k in own if k.startswith("backbone.")]
    missing = [k for k in backbone if k not in weights]
    wrong = [k for k in backbone if k in weights and tuple(weights[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        example = (missing + wrong)[0]
        raise ConfigError(
            f"checkpoint does not fit this architecture: {len(missing)} backbone tensor(s) missing and {len(wrong)} of a "
            f"different shape out of {len(backbone)} (e.g. {example}); choose the matching --arch", p)
    load: dict[str, torch.Tensor] = {}
    reinit: list[str] = []
    for k, v in weights.items():
        if k not in own:
            continue
        if tuple(v.shape) != tuple(own[k].shape):
            reinit.append(k)
            continue
        load[k] = v
    ignored = sorted(k for k in weights if k not in own)
    missing_head = sorted(k for k in own if k.startswith("head.") and k not in weights)
    model.load_state_dict(load, strict=False)
    report = InitReport(str(p), len(load), sorted(reinit + missing_head), ignored)
    if reinit:
        out_w = next((weights[k] for k in reinit if k.endswith("final_layer.weight")), None)
        joints = f"{out_w.shape[0]}-joint " if out_w is not None else ""
        report.message = (f"{p.name}: the {joints}head does not fit the 16 MPII joints: re-initialised "
                          f"{len(reinit)} head tensor(s) ({', '.join(sorted(reinit))}); backbone kept ({len(backbone)} tensors)")
    elif missing_head:
        report.message = f"{p.name}: backbone only; head initialised from scratch ({len(missing_head)} tensors)"
    else:
        report.message = f"{p.name}: loaded all {len(load)} tensors (backbone and 16-joint head)"
    log.warning("--init %s", report.message) if (reinit or missing_head) else log.info("--init %s", report.message)
    return report
