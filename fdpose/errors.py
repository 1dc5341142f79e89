"""One error hierarchy for the whole toolkit.

Every error carries the file (and, where known, a location such as ``frame 12`` or
``shape[3]``) so the CLI can print one line that names what is wrong and where,
without a traceback.
"""

from __future__ import annotations

import os
from typing import Optional


class FdposeError(Exception):
    """Base class: ``str(err)`` is the one-line message ``path: location: message``."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        path: Optional[str | os.PathLike[str]] = None,
        location: Optional[str] = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.location = location
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.location) if p]
        one_line = " ".join(str(self.message).split())  # keep it on one line whatever the cause
        return ": ".join([*parts, one_line])


class InputError(FdposeError):
    """A file or argument that cannot be read or does not have the expected format."""


class ValidationError(FdposeError):
    """Content that parses but breaks a rule (schema, protocol, shapes)."""


class ConfigError(FdposeError):
    """An inconsistent configuration or option combination."""


class DependencyError(FdposeError):
    """An optional third-party component that is missing or broken in this environment."""
