"""Per-clip arrays of a FineDiving-Pose dataset and the typed reader :func:`load_dataset`.

Layout of a dataset folder::

    DATASET/manifest.json                 # versioned, schema-checked (see schema.py)
    DATASET/clips/{match}/{idx}.npz       # one file per clip, arrays below
    DATASET/README.md                     # dataset card
    DATASET/Pose/{match}/pred_comp_{idx}.npz, DATASET/mpii/..., DATASET/coco/...   # optional formats

Arrays of a clip file (n = ``num_frames`` = 96, joints in MPII-16 order)::

    keypoints          (n, 16, 3) float32  merged [x, y, confidence], manual wins; finite everywhere
    provenance         (n, 16)    uint8    Provenance code of each merged joint (0 missing, 1 estimated,
                                           2 interpolated, 3 manual)
    frame_indices      (n,)       int64    0-based positions in the source clip (the AQA loader's rule)
    frame_numbers      (n,)       int64    file numbers of those frames (-1 when the source has none)
    manual_visibility  (n, 16)    int8     0 no manual point, 1 occluded, 2 visible
    auto_keypoints     (n, 16, 3) float32  the pipeline's output before the merge (finite)
    auto_provenance    (n, 16)    uint8    its provenance codes

Missing joints carry placeholder coordinates (nearest frame where the joint is known,
confidence 0), so the arrays can be fed to a model as they are; use ``provenance`` to mask them.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fdpose.errors import InputError, ValidationError
from fdpose.finediving import Key
from fdpose.io import atomic_write_bytes, npz_read_error, read_json
from fdpose.pipelines.export.schema import MANIFEST_NAME, PROVENANCE_TABLE, Provenance, validate_manifest
from fdpose.skeleton import JOINT_NAMES, NUM_JOINTS

CLIPS_DIR = "clips"

#: Array name -> (dtype, shape suffix after the frame axis).
ARRAY_SPECS: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
    "keypoints": (np.dtype(np.float32), (NUM_JOINTS, 3)),
    "provenance": (np.dtype(np.uint8), (NUM_JOINTS,)),
    "frame_indices": (np.dtype(np.int64), ()),
    "frame_numbers": (np.dtype(np.int64), ()),
    "manual_visibility": (np.dtype(np.int8), (NUM_JOINTS,)),
    "auto_keypoints": (np.dtype(np.float32), (NUM_JOINTS, 3)),
    "auto_provenance": (np.dtype(np.uint8), (NUM_JOINTS,)),
}


@dataclass
class ClipArrays:
    """The arrays of one clip (shapes in the module docstring)."""

    keypoints: np.ndarray
    provenance: np.ndarray
    frame_indices: np.ndarray
    frame_numbers: np.ndarray
    manual_visibility: np.ndarray
    auto_keypoints: np.ndarray
    auto_provenance: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAY_SPECS}

    def provenance_counts(self) -> dict[str, int]:
        """Joints per provenance label, e.g. ``{"missing": 0, "estimated": 1400, ...}``."""
        return {p.label: int(np.sum(self.provenance == p)) for p in Provenance}

    def provenance_share(self, code: Provenance) -> float:
        """Share of the clip's joints with provenance ``code`` (0 for an empty clip): the export's
        ``--drop-failing`` and the check's interpolated-joints limit read the same number."""
        return float(np.mean(self.provenance == code)) if self.provenance.size else 0.0


@dataclass
class ClipEntry:
    """One clip of the manifest, joined with its FineDiving record."""

    key: Key
    clip_id: str
    split: str
    dive_number: str
    dive_score: float
    difficulty: float
    judge_scores: Optional[list[float]]
    file: str
    sha256: str
    source_frames: int
    manual_frames: int
    provenance: dict[str, int]
    backends: dict[str, str]

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> "ClipEntry":
        return cls(key=(str(d["key"][0]), int(d["key"][1])), clip_id=d["clip_id"], split=d["split"],
                   dive_number=d["dive_number"], dive_score=float(d["dive_score"]),
                   difficulty=float(d["difficulty"]),
                   judge_scores=None if d["judge_scores"] is None else [float(s) for s in d["judge_scores"]],
                   file=d["file"], sha256=d["sha256"], source_frames=int(d["source_frames"]),
                   manual_frames=int(d["manual_frames"]), provenance=dict(d["provenance"]),
                   backends=dict(d["backends"]))

    def to_doc(self) -> dict[str, Any]:
        return {"key": [self.key[0], int(self.key[1])], "clip_id": self.clip_id, "split": self.split,
                "dive_number": self.dive_number, "dive_score": float(self.dive_score),
                "difficulty": float(self.difficulty), "judge_scores": self.judge_scores, "file": self.file,
                "sha256": self.sha256, "source_frames": int(self.source_frames),
                "manual_frames": int(self.manual_frames), "provenance": dict(self.provenance),
                "backends": dict(self.backends)}


def clip_file(match: str, idx: int | str) -> str:
    """Relative path of a clip's array file inside the dataset (posix)."""
    return f"{CLIPS_DIR}/{match}/{idx}.npz"


def write_clip_arrays(path: str | os.PathLike[str], arrays: ClipArrays, num_frames: int) -> Path:
    """Check ``arrays`` (shapes, dtypes, finite, codes) and write them atomically as a compressed npz."""
    raw = arrays.as_dict()
    problems = array_problems(raw, num_frames)
    if problems:
        raise ValidationError(f"refusing to write clip arrays: {problems[0][1]}", path)
    buf = io.BytesIO()
    savez: Any = np.savez_compressed  # numpy's stub lets a **kwargs key bind `allow_pickle`, so mypy refuses **raw
    savez(buf, **raw)
    return atomic_write_bytes(path, buf.getvalue())


def read_raw_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All arrays of a clip file, unchecked (:class:`InputError` naming the file when unreadable)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise InputError("clip array file not found", p) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise npz_read_error(exc, p) from None


def _first_bad(mask: np.ndarray) -> str:
    where = np.argwhere(mask)[0]
    text = f"frame {int(where[0])}"
    if len(where) > 1:
        text += f", joint {JOINT_NAMES[int(where[1])]}"
    return text


def array_problems(raw: dict[str, np.ndarray], num_frames: int) -> list[tuple[str, str]]:
    """Every rule a clip's arrays break, as ``(category, message)`` (empty when they are fine).

    Categories: ``arrays`` (presence, dtype, shape, codes), ``frames`` (not ``num_frames``
    frames), ``finite`` (NaN / infinite coordinates).
    """
    problems: list[tuple[str, str]] = []
    for name, (dtype, tail) in ARRAY_SPECS.items():
        if name not in raw:
            problems.append(("arrays", f"array '{name}' is missing"))
            continue
        arr = raw[name]
        if arr.ndim != 1 + len(tail) or arr.shape[1:] != tail:
            want = ", ".join(map(str, (num_frames, *tail)))
            problems.append(("arrays", f"'{name}' has shape {arr.shape}, expected ({want})"))
            continue
        if arr.shape[0] != num_frames:
            problems.append(("frames", f"{arr.shape[0]} frames in '{name}' (expected {num_frames})"))
        if arr.dtype != dtype:
            problems.append(("arrays", f"'{name}' has dtype {arr.dtype}, expected {dtype}"))
    if problems:
        return problems
    for name in ("keypoints", "auto_keypoints"):
        bad = ~np.isfinite(raw[name])
        if bad.any():
            kind = "NaN" if np.isnan(raw[name]).any() else "infinite"
            problems.append(("finite", f"'{name}' has {int(bad.sum())} {kind} value(s), first at {_first_bad(bad)}"))
    codes = max(PROVENANCE_TABLE.values())
    for name in ("provenance", "auto_provenance"):
        bad = raw[name] > codes
        if bad.any():
            problems.append(("arrays", f"'{name}' has unknown code {int(raw[name][bad][0])} at {_first_bad(bad)}"))
    vis = raw["manual_visibility"]
    if ((vis < 0) | (vis > 2)).any():
        problems.append(("arrays", f"'manual_visibility' outside 0..2 at {_first_bad((vis < 0) | (vis > 2))}"))
    unmarked = (vis > 0) & (raw["provenance"] != Provenance.MANUAL)
    if unmarked.any():
        problems.append(("arrays", f"manual point not marked manual in 'provenance' at {_first_bad(unmarked)}"))
    idx = raw["frame_indices"]
    if idx.size and (idx.min() < 0 or np.any(np.diff(idx) < 0)):
        problems.append(("arrays", "'frame_indices' must be non-negative and non-decreasing"))
    return problems


@dataclass
class FineDivingPose:
    """A FineDiving-Pose dataset on disk: the manifest's clips and lazy access to their arrays."""

    root: Path
    manifest: dict[str, Any]
    clips: list[ClipEntry]
    splits: dict[str, list[Key]]
    num_frames: int
    outputs: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.clips)

    def keys(self, split: Optional[str] = None) -> list[Key]:
        """Clip keys in manifest order (only those of ``split`` when given)."""
        return [c.key for c in self.clips if split is None or c.split == split]

    def table(self) -> Any:
        """The manifest's clips as a pandas DataFrame, one row per clip in manifest order: ``match``,
        ``idx``, ``clip_id``, ``split``, ``dive_number``, ``dive_score``, ``difficulty``,
        ``manual_frames``, ``source_frames``, ``detector``, ``pose``."""
        import pandas as pd

        columns = ["match", "idx", "clip_id", "split", "dive_number", "dive_score", "difficulty", "manual_frames",
                   "source_frames", "detector", "pose"]
        return pd.DataFrame([[c.key[0], c.key[1], c.clip_id, c.split, c.dive_number, c.dive_score, c.difficulty,
                              c.manual_frames, c.source_frames, c.backends.get("detector"), c.backends.get("pose")]
                             for c in self.clips], columns=columns)

    def clip(self, key: Key) -> ClipEntry:
        for c in self.clips:
            if c.key == (str(key[0]), int(key[1])):
                return c
        raise InputError(f"no clip {key!r} in the dataset", self.root / MANIFEST_NAME)

    def path_of(self, entry: ClipEntry) -> Path:
        return self.root / entry.file

    def arrays(self, key: Key | ClipEntry) -> ClipArrays:
        """The checked arrays of one clip (:class:`ValidationError` naming the file on any problem)."""
        entry = key if isinstance(key, ClipEntry) else self.clip(key)
        path = self.path_of(entry)
        raw = read_raw_arrays(path)
        problems = array_problems(raw, self.num_frames)
        if problems:
            raise ValidationError(f"clip {entry.clip_id}: {problems[0][1]}", path)
        return ClipArrays(**{name: raw[name] for name in ARRAY_SPECS})


def manifest_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p / MANIFEST_NAME if p.is_dir() or not p.suffix else p


def load_dataset(path: str | os.PathLike[str]) -> FineDivingPose:
    """Read and schema-check a dataset (its folder or its ``manifest.json``); arrays load lazily
    with :meth:`FineDivingPose.arrays`."""
    mpath = manifest_path(path)
    if not mpath.is_file():
        raise InputError(f"no {MANIFEST_NAME}: not a FineDiving-Pose dataset folder", mpath.parent)
    doc = validate_manifest(read_json(mpath), mpath)
    if list(doc["joints"]) != list(JOINT_NAMES):
        raise ValidationError("joints: order differs from the MPII-16 order of fdpose.skeleton", mpath)
    splits = {name: [(str(k[0]), int(k[1])) for k in keys] for name, keys in doc["splits"].items()}
    return FineDivingPose(root=mpath.parent, manifest=doc, clips=[ClipEntry.from_doc(c) for c in doc["clips"]],
                          splits=splits, num_frames=int(doc["num_frames"]), outputs=dict(doc["outputs"]))
