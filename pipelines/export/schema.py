"""The FineDiving-Pose manifest schema (shipped as package data) and the provenance code table.

``manifest.json`` is validated against ``schema/finediving_pose.schema.json`` (JSON Schema
draft 2020-12) before it is written and whenever it is read, so a dataset on disk always
matches the documented format. Problems are reported with their JSON location, e.g.
``clips[3].dive_score: 'x' is not of type 'number'``.
"""

from __future__ import annotations

import enum
import json
import os
from functools import lru_cache
from importlib import resources
from typing import Any, Optional

from fdpose.errors import ValidationError
from fdpose.records import JointSource
from fdpose.sampling import EXPORT_MANIFEST_NAME

#: Name of the manifest inside a dataset folder, and the version this code writes and reads.
MANIFEST_NAME = EXPORT_MANIFEST_NAME  # (in the core: the AQA loader reads its dropped list)
SCHEMA_VERSION = 1
FORMAT_NAME = "FineDiving-Pose"
SCHEMA_FILE = "finediving_pose.schema.json"


class Provenance(enum.IntEnum):
    """Per-joint provenance code stored in the ``provenance`` arrays (uint8).

    0 missing: no estimate; the coordinates are a placeholder copied from the nearest frame in
    which the joint is known (confidence 0), so the arrays never hold NaN.
    1 estimated: the pose model's output. 2 interpolated: filled across a short gap (Eq. 27).
    3 manual: an annotator's point (visible or occluded) replaced the automatic value.
    """

    MISSING = 0
    ESTIMATED = 1
    INTERPOLATED = 2
    MANUAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


#: JointSource string (per-clip pipeline JSON) -> provenance code.
SOURCE_CODES: dict[str, Provenance] = {
    JointSource.MISSING.value: Provenance.MISSING,
    JointSource.ESTIMATED.value: Provenance.ESTIMATED,
    JointSource.INTERPOLATED.value: Provenance.INTERPOLATED,
    JointSource.MANUAL.value: Provenance.MANUAL,
}

#: The ``provenance_codes`` object of the manifest.
PROVENANCE_TABLE: dict[str, int] = {p.label: int(p) for p in Provenance}


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The manifest JSON Schema shipped with the package."""
    text = resources.files("fdpose.pipelines.export").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _location(error: Any) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "manifest"


def manifest_problems(doc: Any) -> list[str]:
    """Every schema violation of ``doc`` as ``location: message`` (empty when valid), in document order."""
    if isinstance(doc, dict) and doc.get("schema_version") not in (None, SCHEMA_VERSION) \
            and isinstance(doc.get("schema_version"), int):
        return [f"schema_version: unsupported version {doc['schema_version']} (this reader knows {SCHEMA_VERSION})"]
    errors = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_location(e)}: {' '.join(e.message.split())[:200]}" for e in errors]


def validate_manifest(doc: Any, path: Optional[str | os.PathLike[str]] = None) -> dict[str, Any]:
    """Return ``doc`` when it matches the schema, else raise :class:`ValidationError` naming the
    file and the first problem (and how many more there are)."""
    problems = manifest_problems(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationError(f"not a valid {FORMAT_NAME} manifest: {problems[0]}{more}", path)
    return doc
