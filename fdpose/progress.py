"""The one progress bar every command uses: tqdm on stderr, shown only to a person at a terminal.

Rules (the same for every stage, so no command prints bars into a log file or a ``--json`` pipe):

- bars go to stderr, never stdout (stdout carries ``--json`` output);
- no bar when stderr is not a terminal (CI logs, ``2> file``, tests), when the caller passes
  ``enabled=False`` (a command's ``--no-progress``), after :func:`set_bars` ``(False)`` (``fdpose
  -q``), or when ``FDPOSE_NO_PROGRESS`` is set to a non-empty value other than ``0``;
- bars of inner loops disappear when done (``leave=False``), the terminal width is followed.

A disabled bar is still a working object: iterating it yields the items and ``update`` /
``close`` do nothing, so callers never branch on whether a bar is shown.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable, Optional, TypeVar

T = TypeVar("T")

#: Environment variable that turns every bar off (for scripts that capture a terminal).
ENV_DISABLE = "FDPOSE_NO_PROGRESS"

_process_enabled = True


def set_bars(enabled: bool) -> None:
    """Allow or forbid every bar of this process (the root command sets it from ``-q`` on each run)."""
    global _process_enabled
    _process_enabled = bool(enabled)


def bars_wanted(enabled: bool = True) -> bool:
    """Whether a bar would be shown: ``enabled``, allowed for the process, stderr a terminal and not
    switched off by the environment."""
    if not (enabled and _process_enabled) or os.environ.get(ENV_DISABLE, "") not in ("", "0"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def progress(iterable: Optional[Iterable[T]] = None, *, total: Optional[int] = None, desc: Optional[str] = None,
             unit: str = "it", enabled: bool = True, leave: bool = False) -> Any:
    """A tqdm bar over ``iterable`` (or a manual one with ``total`` and ``update(n)`` when it is None).

    Returns the tqdm object: iterate it as ``iterable``; ``total`` defaults to ``len(iterable)``.
    """
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave, dynamic_ncols=True,
                disable=not bars_wanted(enabled))


def tqdm(iterable: Optional[Iterable[T]] = None, *args: Any, **kwargs: Any) -> Any:
    """Drop-in for ``tqdm.tqdm`` under the rules above: ``file`` is always stderr and the bar is
    disabled unless :func:`bars_wanted` (a caller's ``disable=True`` still wins)."""
    from tqdm import tqdm as _tqdm

    kwargs["file"] = sys.stderr
    kwargs["disable"] = bool(kwargs.get("disable", False)) or not bars_wanted()
    kwargs.setdefault("dynamic_ncols", True)
    return _tqdm(iterable, *args, **kwargs)
