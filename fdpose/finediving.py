"""The FineDiving annotation format (Xu et al., CVPR 2022): typed records, exact load/save, checks.

Four pickles make one annotation set (``shared/data/finediving/README.md``):

* ``FineDiving_fine-grained_annotation.pkl``: dict ``(match: str, idx: int)`` ->
  ``{'action_type': str ('407c'), 'dive_score': float, 'difficulty': float,
  'steps_transit_frames': int64 array (2, 3 or 4 entries), 'frames_labels': int64 array
  (one step label per trimmed frame), 'sub-action_types': {np.int64 label: name}}``.
* ``FineDiving_coarse_annotation.pkl``: same keys -> ``{'action_type', 'start_frame': int,
  'end_frame': int, 'dive_score': float, 'difficulty': float, 'judge_scores': list of
  3/5/7 floats (np.float64 or float)}``; the trimmed clip is frames ``start_frame..end_frame``
  of the untrimmed video, inclusive: ``end_frame - start_frame + 1`` frames (all 3000 real records).
* ``train_split.pkl`` / ``test_split.pkl``: lists of keys.

Rules measured on the real files (3000 dives) and enforced by :func:`fdpose.finediving_checks.validate`:

* Transit convention: ``steps_transit_frames[k]`` is the LAST frame of stage k, i.e. the index
  ``i`` with ``frames_labels[i] != frames_labels[i + 1]`` (2990 of 3000 real records; the other
  10 have a ``-1`` or an out-of-order entry and are reported as issues, not fixed).
  Stage k therefore spans frames ``transit[k-1] + 1 .. transit[k]``. 2 transits = 3 stages
  (take-off group, flight, entry); twisting dives often have 3 (somersault and twist phases
  are separate stages), a few 4.
* Score: with 7 judges the official ``dive_score`` = sum of the middle three judge scores x
  difficulty; with 3 judges it is the sum of all three x difficulty; the 5-judge records are
  synchronised dives and use sum of the five x difficulty x 0.6 (a reduced synchro panel).
  120 of 3000 real records (4%) break this by more than 0.05 (annotation noise); :func:`official_score`
  gives the rule.
* Real statistics (:func:`fdpose.finediving_checks.summary_statistics` on the real set): score 0-114.8, mean 66.4, std 15.2;
  difficulty 1.5-4.1; clip length 63-273 frames (mean 104); stage lengths ~31 / 36 / 37.

The real pickles and the synthetic world's pickles (``fdpose synth``) load through the same
:func:`load_annotations`; :func:`save_annotations` writes the exact same structure (numpy key
and value types included), atomically.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from fdpose.errors import InputError, ValidationError
from fdpose.io import read_pickle, write_pickle

log = logging.getLogger(__name__)

FINE_GRAINED_FILE = "FineDiving_fine-grained_annotation.pkl"
COARSE_FILE = "FineDiving_coarse_annotation.pkl"
TRAIN_SPLIT_FILE = "train_split.pkl"
TEST_SPLIT_FILE = "test_split.pkl"

#: A FineDiving key: (match name, clip index within the match).
Key = tuple[str, int]

#: The label of the entry stage in the real ``sub-action_types`` tables.
ENTRY_LABEL = 36


def _canon(text: str) -> str:
    """The interned copy of ``text``: pickle memoises strings by identity, so equal strings must
    be the same object for the file bytes to depend on content only (not on where records were
    built, e.g. in worker processes)."""
    return sys.intern(str(text))


def _raw_key(key: Key) -> tuple[str, int]:
    return (_canon(key[0]), int(key[1]))


@dataclass
class FineGrainedRecord:
    """One fine-grained entry.

    steps_transit_frames: (K-1,) int64, the last frame of each stage but the last.
    frames_labels: (T,) int64, one step label per trimmed frame.
    sub_action_types: label -> name (e.g. 25 -> '3.5 Soms.Tuck').
    """

    action_type: str
    dive_score: float
    difficulty: float
    steps_transit_frames: np.ndarray
    frames_labels: np.ndarray
    sub_action_types: dict[int, str]

    @property
    def num_frames(self) -> int:
        return int(len(self.frames_labels))

    def stage_bounds(self) -> list[tuple[int, int]]:
        """Inclusive (first, last) frame of every stage, from the transits (len = transits + 1)."""
        return stage_bounds(self.steps_transit_frames, self.num_frames)

    def to_raw(self) -> dict[str, Any]:
        """The exact real pickle value (numpy int64 arrays and label keys, python floats)."""
        return {
            "action_type": _canon(self.action_type),
            "dive_score": float(self.dive_score),
            "difficulty": float(self.difficulty),
            "steps_transit_frames": np.asarray(self.steps_transit_frames, dtype=np.int64),
            "frames_labels": np.asarray(self.frames_labels, dtype=np.int64),
            "sub-action_types": {np.int64(k): _canon(v) for k, v in self.sub_action_types.items()},
        }


@dataclass
class CoarseRecord:
    """One coarse entry: the clip's place in the untrimmed video and the judges' scores."""

    action_type: str
    start_frame: int
    end_frame: int
    dive_score: float
    difficulty: float
    judge_scores: list[float]

    def to_raw(self) -> dict[str, Any]:
        """The exact real pickle value (judge scores as np.float64, frames as int)."""
        return {
            "action_type": _canon(self.action_type),
            "start_frame": int(self.start_frame),
            "end_frame": int(self.end_frame),
            "dive_score": float(self.dive_score),
            "difficulty": float(self.difficulty),
            "judge_scores": [np.float64(s) for s in self.judge_scores],
        }


@dataclass
class FineDivingAnnotations:
    """A whole annotation set; any part may be empty when its file was not there."""

    fine: dict[Key, FineGrainedRecord] = field(default_factory=dict)
    coarse: dict[Key, CoarseRecord] = field(default_factory=dict)
    train: list[Key] = field(default_factory=list)
    test: list[Key] = field(default_factory=list)
    source: Optional[Path] = None

    def keys(self) -> list[Key]:
        """All keys in the fine-grained file (else the coarse one), in file order."""
        return list(self.fine) if self.fine else list(self.coarse)


# ----------------------------------------------------------------------------- rules


def stage_bounds(transits: Iterable[int], num_frames: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) frames of the stages delimited by ``transits`` (last-frame convention)."""
    out: list[tuple[int, int]] = []
    first = 0
    for t in [int(x) for x in transits]:
        out.append((first, t))
        first = t + 1
    out.append((first, num_frames - 1))
    return out


def transits_from_labels(frames_labels: np.ndarray) -> np.ndarray:
    """(K-1,) int64: the frames i where ``frames_labels[i] != frames_labels[i + 1]``."""
    labels = np.asarray(frames_labels)
    return np.nonzero(labels[1:] != labels[:-1])[0].astype(np.int64)


def labels_from_transits(transits: Iterable[int], stage_labels: Iterable[int], num_frames: int) -> np.ndarray:
    """(T,) int64 per-frame labels: stage k's label from ``transit[k-1] + 1`` to ``transit[k]``."""
    labels = list(stage_labels)
    bounds = stage_bounds(transits, num_frames)
    if len(labels) != len(bounds):
        raise ValidationError(f"{len(labels)} stage labels for {len(bounds)} stages")
    out = np.empty(num_frames, dtype=np.int64)
    for (a, b), lab in zip(bounds, labels):
        out[a : b + 1] = lab
    return out


def official_score(judge_scores: Iterable[float], difficulty: float) -> float:
    """The dive score from the judges' scores (rule in the module docstring), rounded to 2 decimals."""
    js = sorted(float(s) for s in judge_scores)
    n = len(js)
    if n == 7:
        total = sum(js[2:5])
    elif n == 3:
        total = sum(js)
    elif n == 5:
        total = sum(js) * 0.6
    else:
        raise ValidationError(f"expected 3, 5 or 7 judge scores, got {n}")
    return round(total * float(difficulty), 2)


# ----------------------------------------------------------------------------- parsing


def _parse_key(key: Any, path: Path) -> Key:
    if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str) and isinstance(key[1], (int, np.integer))):
        raise InputError(f"key {key!r:.80} is not (match_name: str, idx: int)", path)
    return (key[0], int(key[1]))


def _need(d: Any, names: tuple[str, ...], path: Path, key: Any) -> None:
    if not isinstance(d, dict):
        raise InputError(f"value is {type(d).__name__}, expected a dict", path, repr(key))
    missing = [n for n in names if n not in d]
    if missing:
        raise InputError(f"missing field(s) {', '.join(missing)}", path, repr(key))


def _int_array(v: Any, name: str, path: Path, key: Any) -> np.ndarray:
    arr = np.asarray(v)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise InputError(f"{name} must be a 1-D integer array, got dtype {arr.dtype} shape {arr.shape}", path, repr(key))
    return arr.astype(np.int64)


def _finite(v: Any, name: str, path: Path, key: Any) -> float:
    """A finite float, else one line naming the file, the key and the field (a NaN score would only show
    up later as a training loss of NaN, which reads like a bad learning rate)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {v!r}", path, repr(key)) from None
    if not np.isfinite(x):
        raise InputError(f"{name} is {x} (not a finite number)", path, repr(key))
    return x


def parse_fine_grained(obj: Any, path: Path) -> dict[Key, FineGrainedRecord]:
    """Typed records from the loaded fine-grained pickle (errors name the file and key)."""
    if not isinstance(obj, dict):
        raise InputError(f"fine-grained annotation must be a dict, got {type(obj).__name__}", path)
    out: dict[Key, FineGrainedRecord] = {}
    names = ("action_type", "dive_score", "difficulty", "steps_transit_frames", "frames_labels", "sub-action_types")
    for raw_key, v in obj.items():
        key = _parse_key(raw_key, path)
        _need(v, names, path, raw_key)
        subs = v["sub-action_types"]
        if not isinstance(subs, dict):
            raise InputError("sub-action_types must be a dict", path, repr(raw_key))
        out[key] = FineGrainedRecord(
            str(v["action_type"]),
            _finite(v["dive_score"], "dive_score", path, raw_key),
            _finite(v["difficulty"], "difficulty", path, raw_key),
            _int_array(v["steps_transit_frames"], "steps_transit_frames", path, raw_key),
            _int_array(v["frames_labels"], "frames_labels", path, raw_key),
            {int(k): str(n) for k, n in subs.items()},
        )
    return out


def parse_coarse(obj: Any, path: Path) -> dict[Key, CoarseRecord]:
    """Typed records from the loaded coarse pickle."""
    if not isinstance(obj, dict):
        raise InputError(f"coarse annotation must be a dict, got {type(obj).__name__}", path)
    out: dict[Key, CoarseRecord] = {}
    names = ("action_type", "start_frame", "end_frame", "dive_score", "difficulty", "judge_scores")
    for raw_key, v in obj.items():
        key = _parse_key(raw_key, path)
        _need(v, names, path, raw_key)
        js = v["judge_scores"]
        if not isinstance(js, (list, tuple, np.ndarray)):
            raise InputError("judge_scores must be a list", path, repr(raw_key))
        out[key] = CoarseRecord(
            str(v["action_type"]), int(v["start_frame"]), int(v["end_frame"]),
            _finite(v["dive_score"], "dive_score", path, raw_key), _finite(v["difficulty"], "difficulty", path, raw_key),
            [_finite(s, "judge_scores", path, raw_key) for s in js],
        )
    return out


def parse_split(obj: Any, path: Path) -> list[Key]:
    if not isinstance(obj, (list, tuple)):
        raise InputError(f"split must be a list of keys, got {type(obj).__name__}", path)
    return [_parse_key(k, path) for k in obj]


def load_split(path: str | os.PathLike[str]) -> list[Key]:
    """Keys of a ``train_split.pkl`` / ``test_split.pkl`` file."""
    p = Path(path)
    return parse_split(read_pickle(p), p)


def _kind_of(obj: Any) -> str:
    if isinstance(obj, (list, tuple)):
        return "split"
    if isinstance(obj, dict) and obj:
        first = next(iter(obj.values()))
        if isinstance(first, dict) and "frames_labels" in first:
            return "fine"
        if isinstance(first, dict) and "judge_scores" in first:
            return "coarse"
    return "unknown"


def load_annotations(path: str | os.PathLike[str]) -> FineDivingAnnotations:
    """Load a FineDiving annotation folder (any of the four standard files) or one pickle.

    A single file is recognised by content (fine-grained, coarse or split; a single split file
    goes to ``train`` when its name contains 'train', else ``test``).
    """
    p = Path(path)
    ann = FineDivingAnnotations(source=p)
    if p.is_dir():
        files = {name: p / name for name in (FINE_GRAINED_FILE, COARSE_FILE, TRAIN_SPLIT_FILE, TEST_SPLIT_FILE)}
        if not any(f.is_file() for f in files.values()):
            raise InputError(f"no FineDiving annotation files ({FINE_GRAINED_FILE}, {COARSE_FILE}, splits)", p)
        if files[FINE_GRAINED_FILE].is_file():
            ann.fine = parse_fine_grained(read_pickle(files[FINE_GRAINED_FILE]), files[FINE_GRAINED_FILE])
        if files[COARSE_FILE].is_file():
            ann.coarse = parse_coarse(read_pickle(files[COARSE_FILE]), files[COARSE_FILE])
        if files[TRAIN_SPLIT_FILE].is_file():
            ann.train = load_split(files[TRAIN_SPLIT_FILE])
        if files[TEST_SPLIT_FILE].is_file():
            ann.test = load_split(files[TEST_SPLIT_FILE])
        return ann
    obj = read_pickle(p)
    kind = _kind_of(obj)
    if kind == "fine":
        ann.fine = parse_fine_grained(obj, p)
    elif kind == "coarse":
        ann.coarse = parse_coarse(obj, p)
    elif kind == "split":
        keys = parse_split(obj, p)
        if "train" in p.name:
            ann.train = keys
        else:
            ann.test = keys
    else:
        raise InputError("not a FineDiving annotation pickle (expected fine-grained, coarse or split)", p)
    return ann


# ----------------------------------------------------------------------------- saving


def save_fine_grained(path: str | os.PathLike[str], records: dict[Key, FineGrainedRecord]) -> Path:
    """Atomically write a fine-grained pickle in the real structure."""
    return write_pickle(path, {_raw_key(k): r.to_raw() for k, r in records.items()})


def save_coarse(path: str | os.PathLike[str], records: dict[Key, CoarseRecord]) -> Path:
    """Atomically write a coarse pickle in the real structure."""
    return write_pickle(path, {_raw_key(k): r.to_raw() for k, r in records.items()})


def save_split(path: str | os.PathLike[str], keys: Iterable[Key]) -> Path:
    """Atomically write a split pickle (list of (str, int) tuples)."""
    return write_pickle(path, [_raw_key(k) for k in keys])


def save_annotations(folder: str | os.PathLike[str], ann: FineDivingAnnotations) -> list[Path]:
    """Write the four standard files into ``folder``; returns the paths written."""
    d = Path(folder)
    return [
        save_fine_grained(d / FINE_GRAINED_FILE, ann.fine),
        save_coarse(d / COARSE_FILE, ann.coarse),
        save_split(d / TRAIN_SPLIT_FILE, ann.train),
        save_split(d / TEST_SPLIT_FILE, ann.test),
    ]
