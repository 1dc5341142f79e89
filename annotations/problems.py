"""The findings of ``fdpose annotate validate``: one :class:`Problem` per rule broken, the
per-file record :class:`FrameCheck` that collects them, and the report.

A problem prints as one line, ``path: shape[i] label: severity: message`` (file-level
problems: ``path: severity: message``), and serialises to a flat JSON object for ``--json``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fdpose.skeleton import NUM_JOINTS


class Severity(str, enum.Enum):
    """Errors break the protocol (exit status 1); warnings are hints for the reviewer."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding. ``shape_index``/``label`` are None for file-level problems."""

    path: str
    severity: Severity
    code: str
    message: str
    shape_index: Optional[int] = None
    label: Optional[str] = None

    def location(self) -> str:
        parts = []
        if self.shape_index is not None:
            parts.append(f"shape[{self.shape_index}]")
        if self.label is not None:
            parts.append(self.label)
        return " ".join(parts)

    def line(self) -> str:
        """``path: shape[i] label: severity: message`` (``path: severity: message`` at file level)."""
        loc = self.location()
        msg = " ".join(self.message.split())
        return ": ".join(p for p in (self.path, loc, self.severity.value, msg) if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "shape_index": self.shape_index,
            "label": self.label,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class ValidationReport:
    """All problems found under the validated paths and how many files were checked."""

    problems: list[Problem]
    files_checked: int

    @property
    def errors(self) -> int:
        return sum(p.severity is Severity.ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity is Severity.WARNING for p in self.problems)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def warning_kinds(self) -> dict[str, int]:
        """Warnings per problem code, most frequent first."""
        counts: dict[str, int] = {}
        for p in self.problems:
            if p.severity is Severity.WARNING:
                counts[p.code] = counts.get(p.code, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def summary(self) -> str:
        line = f"{self.files_checked} files checked, {self.errors} errors, {self.warnings} warnings"
        kinds = self.warning_kinds()
        if len(kinds) > 1:  # which kind dominates matters when there are thousands
            top = ", ".join(f"{n} {code}" for code, n in list(kinds.items())[:3])
            line += f" ({top}{', ...' if len(kinds) > 3 else ''})"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "problems": [p.to_dict() for p in self.problems],
            "files_checked": self.files_checked,
            "errors": self.errors,
            "warnings": self.warnings,
            "warning_kinds": self.warning_kinds(),
            "ok": self.ok,
        }


@dataclass
class FrameCheck:
    """Result of checking one file.

    joints: (16, 2) float64 coordinates of the joints that could be read (NaN otherwise).
    joint_shapes: (16,) int64 shape index of each joint's first point shape (-1 when absent).
    """

    path: Path
    display: str
    problems: list[Problem] = field(default_factory=list)
    joints: np.ndarray = field(default_factory=lambda: np.full((NUM_JOINTS, 2), np.nan))
    joint_shapes: np.ndarray = field(default_factory=lambda: np.full(NUM_JOINTS, -1, dtype=np.int64))
    image_size: Optional[tuple[int, int]] = None  #: (width, height)
    box: Optional[np.ndarray] = None  #: (4,) xyxy

    @property
    def readable(self) -> bool:
        """True when the shapes could be read (so the frame can take part in sequence checks)."""
        return not any(p.code in _FATAL_CODES for p in self.problems)

    def add(self, severity: Severity, code: str, message: str, index: Optional[int] = None, label: Optional[str] = None) -> None:
        self.problems.append(Problem(self.display, severity, code, message, index, label))

    def error(self, code: str, message: str, index: Optional[int] = None, label: Optional[str] = None) -> None:
        self.add(Severity.ERROR, code, message, index, label)

    def warn(self, code: str, message: str, index: Optional[int] = None, label: Optional[str] = None) -> None:
        self.add(Severity.WARNING, code, message, index, label)


_FATAL_CODES = frozenset(
    {"not-a-file", "unreadable", "empty", "too-large", "not-utf8", "bad-json", "non-standard-number",
     "not-object", "shapes-missing", "shapes-type"}
)
