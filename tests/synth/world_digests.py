"""Digests of a synth world's outputs, to pin that a change leaves recorded worlds byte-identical."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from fdpose import __version__

#: The world's top-level entries the synth tests pin.
ENTRIES = ("frames", "labelme", "gt", "detections", "annotations", "world.json")


def entry_digests(root: Path, entries: Iterable[str] = ENTRIES) -> dict[str, tuple[int, str]]:
    """Per entry (a file or a folder under ``root``): (file count, first 16 hex of a sha256 over every
    file's relative path and bytes, in sorted order). world.json's package version is blanked, so a
    version bump alone changes nothing."""
    out = {}
    for entry in entries:
        h = hashlib.sha256()
        p = root / entry
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
        for q in files:
            data = q.read_bytes()
            if q.name == "world.json":
                data = data.replace(f'"fdpose_version": "{__version__}"'.encode(), b'"fdpose_version": ""')
            h.update(str(q.relative_to(root)).encode())
            h.update(b"\0")
            h.update(data)
        out[entry] = (len(files), h.hexdigest()[:16])
    return out
