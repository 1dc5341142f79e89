"""Settings changed from the command line: ``NAME=VALUE`` pairs checked against a config dataclass's defaults.

Shared by the stages whose configs a run may change field by field (the diver tracker's sections,
the mediapipe pose backend): a value is read as JSON when it parses (``true``, ``2.5``,
``[120, 240]``), else as text, and must have the type of the field's default, so a typo or a wrong
type is a one-line :class:`~fdpose.errors.ConfigError` rather than a traceback inside the stage.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from fdpose.errors import ConfigError

__all__ = ["coerce", "split_assignment", "dataclass_defaults", "any_length_fields"]


def coerce(value: Any, default: Any, name: str, any_length: bool = False) -> Any:
    """``value`` as the type of ``default`` (bool, int, float, str, or a tuple of those), else ConfigError.

    An int is accepted for a float field; a bool never stands for a number, nor NaN or an infinity for one. A tuple field takes a
    list of numbers: of the default's length (``(1.5, 2.25)``: two), or of any length with
    ``any_length`` (a ``tuple[float, ...]`` field, :func:`any_length_fields`).
    """
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name} must be text, got {value!r}")
    if isinstance(default, tuple):
        fixed = not any_length and len(default) > 0
        if not isinstance(value, (list, tuple)) or (fixed and len(value) != len(default)):
            want = f"{len(default)} values like {list(default)}" if fixed else "a list of numbers"
            raise ConfigError(f"{name} must be {want}, got {value!r}")
        return tuple(coerce(v, 0.0, name) for v in value)
    return value


def any_length_fields(cls: Any) -> set[str]:
    """Names of a dataclass's variable-length tuple fields (annotated ``tuple[X, ...]``)."""
    return {f.name for f in dataclasses.fields(cls) if "..." in str(f.type)}


def split_assignment(text: str, option: str) -> tuple[str, Any]:
    """``"name=value"`` -> (name, value read as JSON, else as text); ConfigError naming ``option`` otherwise."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"{option} {text!r}: expected NAME=VALUE")
    try:
        return key, json.loads(raw, parse_constant=_reject_constant)
    except _NonFinite as exc:
        raise ConfigError(f"{option} {text!r}: {exc.args[0]} is not a finite number") from None
    except ValueError:
        return key, raw


class _NonFinite(Exception):
    """NaN / Infinity in a value: not JSON, and no setting takes them."""


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


def dataclass_defaults(cls_or_obj: Any) -> dict[str, Any]:
    """Field name -> default (a class) or current value (an instance) of a dataclass."""
    obj = cls_or_obj() if isinstance(cls_or_obj, type) else cls_or_obj
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
