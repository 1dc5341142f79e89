"""Option parsers shared by several command modules (each module imports these, never another command module)."""

from __future__ import annotations

import math
from typing import Optional

import click

from fdpose.errors import ConfigError


def parse_box(text: Optional[str], option: str = "--init-box") -> Optional[tuple[float, float, float, float]]:
    """``"x1,y1,x2,y2"`` -> a box with x2 > x1 and y2 > y1 (None stays None); else a one-line :class:`ConfigError`."""
    if text is None:
        return None
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= values[0] or values[3] <= values[1]:
        raise ConfigError(f"{option} must be x1,y1,x2,y2 with x2 > x1 and y2 > y1, got {text!r}")
    return values[0], values[1], values[2], values[3]


def finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """click callback: refuse NaN and infinities (``click.FloatRange`` lets them through)."""
    if not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number, got {value}")
    return value
