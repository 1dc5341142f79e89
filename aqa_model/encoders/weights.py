"""Loading pretrained encoder weights from local files (no downloads), shared by every encoder."""

from __future__ import annotations

import logging
import os
from typing import Callable, Optional

import torch
from torch import nn

from fdpose.errors import InputError

log = logging.getLogger(__name__)


def read_state_dict(path: str | os.PathLike[str], what: str, containers: tuple[str, ...] = ("state_dict", "model")) -> dict:
    """Load a state dict with ``weights_only=True`` (plain tensors, safe under torch >= 2.6).

    A checkpoint holding the dict under one of ``containers`` is unwrapped. Any unreadable file is
    one :class:`InputError` naming it.
    """
    try:
        obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is an input error (pickle, zip, IO)
        raise InputError(f"cannot load {what} weights: {' '.join(str(exc).split())[:200]}", path) from None
    if isinstance(obj, dict):
        for key in containers:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise InputError("not a state dict", path)
    return obj


def load_matching(
    model: nn.Module,
    state: dict,
    path: str | os.PathLike[str],
    what: str,
    ignore_missing: Optional[Callable[[str], bool]] = None,
) -> None:
    """Load ``state`` into ``model`` after checking that keys and shapes match exactly.

    ignore_missing: predicate for model keys that the file may lack (e.g. BatchNorm's
    ``num_batches_tracked`` in files that predate it). Every other mismatch is an
    :class:`InputError` naming the file and the first offending keys.
    """
    own = model.state_dict()
    missing = sorted(k for k in set(own) - set(state) if not (ignore_missing and ignore_missing(k)))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise InputError(f"{what} weights do not match the model: missing {missing[:3]} unexpected {unexpected[:3]}"
                         f" ({len(missing)} missing, {len(unexpected)} unexpected)", path)
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise InputError(f"{what} weight {k} has shape {tuple(v.shape)}, model expects {tuple(own[k].shape)}", path)
    model.load_state_dict(state, strict=ignore_missing is None)
    log.info("loaded %s weights from %s (%d tensors)", what, path, len(state))
