"""Exact reading and writing of LabelMe JSON files (labelme 5.x, 6.x and 7.x).

The format: ``version``, ``flags``, ``shapes`` (each ``label``, ``points``, ``group_id``,
``shape_type``, ``flags``, ``description``, optional ``mask``), ``imagePath`` (relative to
the JSON file; Windows separators accepted), ``imageData`` (base64 or null), ``imageHeight``,
``imageWidth``. Unknown keys, top-level or per shape, are kept and written back unchanged.

Differences between versions handled here: 5.x may omit ``shape_type`` (it then meant
"polygon", but a one-point shape without a type is read as "point"), ``description``
appeared in 5.2, 7.x requires ``shape_type``. We always write the full 6.x key set.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any, Optional

from fdpose.errors import InputError, ValidationError
from fdpose.io import dumps_json, read_json, atomic_write_text

#: The labelme version string written into files we create (the installed labelme's format).
WRITE_VERSION = "6.3.1"

_SHAPE_KEYS = ("label", "points", "group_id", "description", "shape_type", "flags", "mask")
_TOP_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth")


@dataclass
class LabelmeShape:
    """One LabelMe shape. ``points``: list of [x, y] pixel pairs (floats)."""

    label: str
    points: list[list[float]]
    shape_type: str = "point"
    group_id: Optional[int] = None
    flags: dict[str, bool] = field(default_factory=dict)
    description: str = ""
    mask: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "points": [[float(x), float(y)] for x, y in self.points],
            "group_id": self.group_id,
            "description": self.description,
            "shape_type": self.shape_type,
            "flags": dict(self.flags),
            "mask": self.mask,
        }
        out.update(self.extra)
        return out


@dataclass
class LabelmeDoc:
    """A whole LabelMe file. ``path`` is where it was read from / will be written to."""

    shapes: list[LabelmeShape]
    image_path: str
    image_height: Optional[int] = None
    image_width: Optional[int] = None
    image_data: Optional[str] = None
    version: str = WRITE_VERSION
    flags: dict[str, bool] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Optional[Path] = None

    def image_file(self) -> Optional[Path]:
        """Absolute path of the referenced image (``imagePath`` is relative to the JSON)."""
        if not self.image_path:
            return None
        rel = Path(PureWindowsPath(self.image_path).as_posix()) if "\\" in self.image_path else Path(self.image_path)
        base = self.path.parent if self.path is not None else Path(".")
        return rel if rel.is_absolute() else base / rel

    def image_bytes(self) -> Optional[bytes]:
        """Decoded ``imageData`` or None when the image is not embedded."""
        if self.image_data is None:
            return None
        try:
            return base64.b64decode(self.image_data, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("imageData is not valid base64", self.path, "imageData") from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "flags": dict(self.flags),
            "shapes": [s.to_dict() for s in self.shapes],
            "imagePath": self.image_path,
            "imageData": self.image_data,
            "imageHeight": self.image_height,
            "imageWidth": self.image_width,
        }
        out.update(self.extra)
        return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_shape(obj: Any, path: Optional[Path], index: int) -> LabelmeShape:
    """Parse one shape dict; raises :class:`ValidationError` at ``shape[index]`` when malformed."""
    loc = f"shape[{index}]"
    if not isinstance(obj, dict):
        raise ValidationError(f"shape must be an object, got {type(obj).__name__}", path, loc)
    label = obj.get("label")
    if not isinstance(label, str):
        raise ValidationError(f"label must be a string, got {type(label).__name__}", path, loc)
    loc = f"shape[{index}] {label}"
    pts = obj.get("points")
    if not isinstance(pts, list) or not pts:
        raise ValidationError("points must be a non-empty list of [x, y]", path, loc)
    points: list[list[float]] = []
    for p in pts:
        if not (isinstance(p, list) and len(p) == 2 and all(_number(v) for v in p)):
            raise ValidationError(f"point {p!r:.60} is not [x, y] numbers", path, loc)
        if not all(math.isfinite(float(v)) for v in p):
            raise ValidationError(f"point {p!r} is not finite", path, loc)
        points.append([float(p[0]), float(p[1])])
    shape_type = obj.get("shape_type")
    if shape_type is None:
        shape_type = "point" if len(points) == 1 else "polygon"  # labelme 5.x default
    if not isinstance(shape_type, str):
        raise ValidationError(f"shape_type must be a string, got {type(shape_type).__name__}", path, loc)
    flags = obj.get("flags") or {}
    if not isinstance(flags, dict) or not all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        raise ValidationError("flags must map names to true/false", path, loc)
    group_id = obj.get("group_id")
    if group_id is not None and not (isinstance(group_id, int) and not isinstance(group_id, bool)):
        raise ValidationError(f"group_id must be an integer or null, got {group_id!r:.40}", path, loc)
    description = obj.get("description") or ""
    if not isinstance(description, str):
        raise ValidationError("description must be a string", path, loc)
    mask = obj.get("mask")
    if mask is not None and not isinstance(mask, str):
        raise ValidationError("mask must be a base64 PNG string or null", path, loc)
    extra = {k: v for k, v in obj.items() if k not in _SHAPE_KEYS}
    return LabelmeShape(label, points, shape_type, group_id, dict(flags), description, mask, extra)


def parse_labelme(obj: Any, path: Optional[str | Path] = None) -> LabelmeDoc:
    """Build a :class:`LabelmeDoc` from a parsed JSON object (errors name the file and shape)."""
    p = Path(path) if path is not None else None
    if not isinstance(obj, dict):
        raise ValidationError(f"top level must be an object, got {type(obj).__name__}", p)
    shapes_raw = obj.get("shapes")
    if not isinstance(shapes_raw, list):
        raise ValidationError("missing or non-list 'shapes'", p)
    image_path = obj.get("imagePath")
    if not isinstance(image_path, str):
        raise ValidationError("missing or non-string 'imagePath'", p)
    image_data = obj.get("imageData")
    if image_data is not None and not isinstance(image_data, str):
        raise ValidationError("imageData must be a base64 string or null", p)
    dims: list[Optional[int]] = []
    for key in ("imageHeight", "imageWidth"):
        v = obj.get(key)
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
            raise ValidationError(f"{key} must be a positive integer, got {v!r:.40}", p)
        dims.append(v)
    flags = obj.get("flags") or {}
    if not isinstance(flags, dict):
        raise ValidationError("flags must be an object", p)
    version = obj.get("version", "")
    if not isinstance(version, str):
        version = str(version)
    shapes = [parse_shape(s, p, i) for i, s in enumerate(shapes_raw)]
    extra = {k: v for k, v in obj.items() if k not in _TOP_KEYS}
    return LabelmeDoc(shapes, image_path, dims[0], dims[1], image_data, version, dict(flags), extra, p)


def read_labelme(path: str | Path) -> LabelmeDoc:
    """Read and parse a LabelMe JSON file; every failure is one error naming the file."""
    p = Path(path)
    return parse_labelme(read_json(p), p)


def write_labelme(doc: LabelmeDoc, path: Optional[str | Path] = None) -> Path:
    """Write ``doc`` atomically (to ``path`` or ``doc.path``) in labelme's own layout."""
    dst = Path(path) if path is not None else doc.path
    if dst is None:
        raise InputError("no output path for LabelMe document")
    atomic_write_text(dst, dumps_json(doc.to_dict(), indent=2))
    doc.path = dst
    return dst
