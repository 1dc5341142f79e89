"""Content digests: a sha256 of what a run read, independent of where it lay.

Long runs (``train-aqa``, ``finetune-hrnet``) store such digests beside their checkpoints so a
``--resume`` may move its data but not change it. :func:`content_digest` hashes a canonical JSON form
(dataclasses as field dicts, arrays as shape + values, dict items sorted), so the same content read
from another folder, or from a file written with another pickle protocol, gives the same digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np


def canonical(obj: Any) -> Any:
    """A JSON-serialisable form of ``obj`` with a fixed order (dataclasses, arrays, tuples, dict keys)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        return {"shape": list(obj.shape), "values": obj.ravel().tolist()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return [[canonical(k), canonical(v)] for k, v in sorted(obj.items(), key=lambda kv: repr(kv[0]))]
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def content_digest(obj: Any) -> str:
    """sha256 (hex) of :func:`canonical` ``obj`` (objects JSON cannot hold count by their ``repr``)."""
    return hashlib.sha256(json.dumps(canonical(obj), sort_keys=True, default=repr).encode()).hexdigest()
