"""What a training run read, as digests: ``--resume`` may move the data, not change it.

A resumed run is only equal to an uninterrupted one when it reads the same annotations, pose files
and frames. Paths may change between the two (a dataset copied to another disk), so the run stores
digests of the content, computed when it starts, and a resume recomputes and compares them:

* ``annotations``: sha256 of the parsed annotation set (splits, fine-grained and coarse records) in
  a canonical JSON form, so the same content read from another folder or another pickle protocol
  has the same digest;
* ``poses``: sha256 over every clip's ``pred_comp`` file bytes (clips without one count as absent);
* ``frames``: sha256 over every clip's frame names and byte sizes (reading every JPEG of a
  FineDiving-sized tree would cost minutes; a re-encoded or added or removed frame changes a size
  or a name).

Each digest is kept per clip for poses and frames, so the error can name the first clip that changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Optional

from fdpose.aqa_model.data.finediving import key_name
from fdpose.digest import content_digest
from fdpose.finediving import FineDivingAnnotations, Key
from fdpose.io import file_sha256
from fdpose.sampling import pred_comp_path

#: Version of the fingerprint's recipe: a stored fingerprint of another version is not compared.
FINGERPRINT_VERSION = 1


def annotations_digest(ann: FineDivingAnnotations) -> str:
    """sha256 of the annotation set's content (its ``source`` path left out)."""
    return content_digest({"train": sorted(ann.train, key=repr), "test": sorted(ann.test, key=repr),
                           "fine": ann.fine, "coarse": ann.coarse})


def _file_sha256(path: Path) -> Optional[str]:
    try:
        return file_sha256(path)
    except FileNotFoundError:
        return None


def _frames_listing(frames_root: str | os.PathLike[str], key: Key) -> Optional[str]:
    folder = Path(frames_root) / str(key[0]) / str(key[1])
    try:
        entries = sorted((e.name, e.stat().st_size) for e in os.scandir(folder) if e.is_file())
    except FileNotFoundError:
        return None
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def data_fingerprint(ann: FineDivingAnnotations, keys: Iterable[Key], frames_root: str | None,
                     poses_root: str | None) -> dict[str, Any]:
    """Digests of what a run over ``keys`` reads (see the module docstring).

    Returns ``{"version", "annotations": hex, "poses": {clip: hex | None} | None,
    "frames": {clip: hex | None} | None}`` (``None`` where the run reads no such folder).
    """
    ordered = sorted(set(keys), key=repr)
    return {
        "version": FINGERPRINT_VERSION,
        "annotations": annotations_digest(ann),
        "poses": None if poses_root is None else
        {key_name(k): _file_sha256(pred_comp_path(poses_root, k[0], k[1])) for k in ordered},
        "frames": None if frames_root is None else {key_name(k): _frames_listing(frames_root, k) for k in ordered},
    }


def fingerprint_changes(stored: dict[str, Any] | None, now: dict[str, Any]) -> list[str]:
    """What differs between a run's stored fingerprint and the current data, in words (empty: same).

    A missing or other-version stored fingerprint (a run written before it existed) compares equal.
    """
    if not stored or stored.get("version") != now.get("version"):
        return []
    changes: list[str] = []
    if stored.get("annotations") != now.get("annotations"):
        changes.append("the annotations")
    for part, noun in (("poses", "pose files"), ("frames", "frames")):
        old, new = stored.get(part), now.get(part)
        if old is None and new is None:
            continue
        if old is None or new is None:
            changes.append(f"the {noun} (the run {'read' if old is not None else 'did not read'} them)")
            continue
        differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if differ:
            changes.append(f"the {noun} of {len(differ)} clip{'s' if len(differ) != 1 else ''} "
                           f"(first: {differ[0]})")
    return changes
