"""Precomputed detections read from files: the ``file`` detector backend.

Two formats, one file per clip:

- MOT-challenge det format (``.txt``): one detection per line,
  ``frame,id,bb_left,bb_top,bb_width,bb_height,score[,x,y,z]`` with **1-based** frame numbers
  (MOT convention; ``frame`` 1 is the clip's first frame). ``id`` is -1 for plain detections.
  Blank lines and lines starting with ``#`` are ignored. This is what ``fdpose synth`` writes
  under ``OUT/detections/{match}/{idx}.txt``.
- JSON (``.json``): ``{"clip_id": ..., "frames": [{"frame_index": 0,
  "boxes": [[x1, y1, x2, y2, score], ...]}, ...]}`` with **0-based** frame indices, xyxy boxes.

:class:`FileDetector` finds a clip's file under a root folder: for clip id ``{match}__{idx}``
it tries ``{root}/{match}/{idx}.txt|.json``, then ``{root}/{clip_id}.txt|.json``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from fdpose.errors import InputError, ValidationError
from fdpose.io import atomic_write_text, read_json, write_json
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.pipelines.frames import CLIP_ID_SEP
from fdpose.records import Boxes

log = logging.getLogger(__name__)

DETECTION_SUFFIXES: tuple[str, ...] = (".txt", ".json")
_MOT_MIN_FIELDS = 7


def parse_mot_text(text: str, path: str | Path = "<text>") -> dict[int, Boxes]:
    """Parse MOT det lines into the boxes of each 0-based frame (frames without a line are absent).

    The ``id`` column is read and dropped: plain detections carry -1 and the tracker picks the
    diver itself.

    Raises :class:`InputError` naming ``path`` and the 1-based line number for a line with too
    few fields, a non-number, a non-finite value, a frame number below 1 or a negative size.
    """
    rows: dict[int, list[list[float]]] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        where = f"line {lineno}"
        if len(fields) < _MOT_MIN_FIELDS:
            raise InputError(f"expected at least {_MOT_MIN_FIELDS} comma-separated fields "
                             f"(frame,id,x,y,w,h,score), got {len(fields)}", path, where)
        try:
            vals = [float(f) for f in fields[:_MOT_MIN_FIELDS]]
        except ValueError:
            bad = next(f for f in fields[:_MOT_MIN_FIELDS] if not _is_number(f))
            raise InputError(f"not a number: {bad!r}", path, where) from None
        if not all(math.isfinite(v) for v in vals):
            raise InputError("non-finite value", path, where)
        frame, _ident, x, y, w, h, score = vals
        if frame != int(frame) or frame < 1:
            raise InputError(f"frame must be an integer >= 1 (MOT frames are 1-based), got {fields[0]}", path, where)
        if w < 0 or h < 0:
            raise InputError(f"negative box size {w:g}x{h:g}", path, where)
        rows.setdefault(int(frame) - 1, []).append([x, y, x + w, y + h, score])
    return {t: Boxes.from_rows(r) for t, r in rows.items()}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_mot(path: str | Path) -> dict[int, Boxes]:
    """Read a MOT det file (see :func:`parse_mot_text`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("detection file not found", p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read detection file ({exc})", p) from None
    return parse_mot_text(text, p)


def read_detection_json(path: str | Path) -> dict[int, Boxes]:
    """Read the JSON detection form (0-based frame indices, xyxy + score boxes)."""
    p = Path(path)
    doc = read_json(p)
    frames = doc.get("frames") if isinstance(doc, dict) else None
    if not isinstance(frames, list):
        raise InputError('expected an object with a "frames" list', p)
    out: dict[int, list[Boxes]] = {}
    for k, fr in enumerate(frames):
        where = f"frames[{k}]"
        if not isinstance(fr, dict) or "frame_index" not in fr or "boxes" not in fr:
            raise InputError('each frame needs "frame_index" and "boxes"', p, where)
        fi = fr["frame_index"]
        if not isinstance(fi, int) or isinstance(fi, bool) or fi < 0:
            raise InputError(f"frame_index must be an integer >= 0, got {fi!r}", p, where)
        try:
            boxes = Boxes.from_rows(fr["boxes"], "boxes")
        except (ValidationError, ValueError, TypeError) as exc:
            raise InputError(getattr(exc, "message", str(exc)), p, where) from None
        if len(boxes):
            out.setdefault(fi, []).append(boxes)
    return {t: Boxes.concat(parts) for t, parts in out.items()}


def read_detections(path: str | Path) -> dict[int, Boxes]:
    """Read a detection file by suffix (``.txt`` MOT, ``.json`` JSON)."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        return read_detection_json(p)
    if p.suffix.lower() == ".txt":
        return read_mot(p)
    raise InputError(f"unknown detection file type (expected {' or '.join(DETECTION_SUFFIXES)})", p)


def write_mot(path: str | Path, per_frame: Sequence[Boxes] | Mapping[int, Boxes]) -> Path:
    """Atomically write per-frame boxes (0-based frames) as MOT det lines."""
    items = per_frame.items() if isinstance(per_frame, Mapping) else enumerate(per_frame)
    lines = []
    for t, boxes in sorted(items, key=lambda kv: kv[0]):
        for x1, y1, x2, y2, s in Boxes.from_rows(boxes, f"frame {t}").rows():
            lines.append(f"{t + 1},-1,{x1:.3f},{y1:.3f},{x2 - x1:.3f},{y2 - y1:.3f},{s:.5f},-1,-1,-1")
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


def write_detection_json(path: str | Path, per_frame: Sequence[Boxes], clip_id: Optional[str] = None) -> Path:
    """Atomically write per-frame boxes (0-based, one entry per frame) in the JSON form."""
    doc: dict[str, Any] = {"clip_id": clip_id, "frames": [
        {"frame_index": t, "boxes": np.round(Boxes.from_rows(b, f"frame {t}").rows(), 5)}
        for t, b in enumerate(per_frame)]}
    return write_json(path, doc, indent=None)


class ClipFileDetections:
    """Detections of one clip, served through the :class:`PersonDetector` protocol."""

    def __init__(self, path: Path, detections: Mapping[int, Boxes], info: BackendInfo) -> None:
        self.path = path
        self._info = info
        self._by_frame = {int(t): b for t, b in detections.items() if len(b)}
        scores = np.concatenate([b.score for b in self._by_frame.values()]) if self._by_frame else np.zeros(0)
        if scores.size and (scores.min() < 0 or scores.max() > 1):
            # The tracker mixes score and distance, so scores should be probabilities.
            log.warning("%s: detection scores outside [0, 1] (%.3g..%.3g)", path, scores.min(), scores.max())

    @property
    def info(self) -> BackendInfo:
        return self._info

    @property
    def frame_indices(self) -> list[int]:
        """0-based frames that have at least one detection."""
        return sorted(self._by_frame)

    def boxes(self, frame_index: int) -> Boxes:
        """The candidates of one frame (empty when none; records are read-only, so shared safely)."""
        return self._by_frame.get(int(frame_index), Boxes.empty())

    def detect(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int]) -> list[Boxes]:
        return [self.boxes(t) for t in frame_indices]

    def all_frames(self, frame_count: int) -> list[Boxes]:
        """One :class:`Boxes` per frame ``0..frame_count-1``."""
        return [self.boxes(t) for t in range(frame_count)]

    def check_frame_count(self, frame_count: int) -> None:
        """:class:`InputError` naming the file (and the MOT line) when a detection lies beyond the clip's
        ``frame_count`` frames: detections of another clip or another frame rate, not "no person"."""
        beyond = [t for t in self._by_frame if t >= frame_count]
        if not beyond:
            return
        first = min(beyond)
        where = None
        if self.path.suffix.lower() == ".txt":
            for lineno, raw in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
                head = raw.strip().split(",", 1)[0].strip()
                if head and not head.startswith("#") and _is_number(head) and int(float(head)) - 1 >= frame_count:
                    where = f"line {lineno}"
                    break
        raise InputError(f"detection for frame {first + 1} (1-based) but the clip has {frame_count} frames "
                         f"({len(beyond)} frames beyond it)", self.path, where)


class FileDetector:
    """The ``file`` backend: a folder of per-clip detection files, looked up by clip id.

    ``for_clip(clip_id)`` returns a :class:`ClipFileDetections` (which implements the
    :class:`PersonDetector` protocol) or raises :class:`InputError` when no file exists.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError("detections folder not found", self.root)

    @property
    def info(self) -> BackendInfo:
        return BackendInfo(name="file", version="1", checkpoint=str(self.root))

    def candidate_paths(self, clip_id: str) -> list[Path]:
        """Where the detections of ``clip_id`` may live, in lookup order."""
        stems: list[Path] = []
        if CLIP_ID_SEP in clip_id:
            match, idx = clip_id.rsplit(CLIP_ID_SEP, 1)
            stems.append(self.root / match / idx)
        stems.append(self.root / clip_id)
        return [Path(f"{s}{suf}") for s in stems for suf in DETECTION_SUFFIXES]

    def find(self, clip_id: str) -> Optional[Path]:
        return next((p for p in self.candidate_paths(clip_id) if p.is_file()), None)

    def for_clip(self, clip_id: str) -> ClipFileDetections:
        path = self.find(clip_id)
        if path is None:
            tried = ", ".join(str(p.relative_to(self.root)) for p in self.candidate_paths(clip_id))
            raise InputError(f"no detections for clip {clip_id!r} (looked for {tried})", self.root)
        return ClipFileDetections(path, read_detections(path),
                                  BackendInfo(name="file", version="1", checkpoint=str(path)))
