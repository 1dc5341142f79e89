"""The per-clip output of the pose pipeline: ``OUT/{clip_id}.json`` (writer, reader, validator).

Schema version 1 (names are a contract: other tools read them)::

    {
      "schema_version": 1,
      "clip_id": "{match}__{idx}" | video stem,
      "source": {"kind": "video" | "frame_tree", "path": str, ...},   # frame trees: match, idx
      "frame_count": T, "fps": float | null,
      "image_size": {"width": W, "height": H},
      "backends": {"detector": {"name", "version", "checkpoint"}, "pose": {...}},
      "settings": {...},                       # free-form: tracker / interpolation parameters
      "sampled_indices": [n ints],             # sampling.aligned_indices (n = 96 by default)
      "summary": {...},                        # derived from frames, checked on read
      "frames": [                              # exactly T entries, frame_index 0..T-1 in order
        {"frame_index": t, "file_name": "00012.jpg",          # file_name: frame trees only
         "bbox": [x1, y1, x2, y2, score] | null,
         "keypoints": 16 x [x, y, conf],                      # x, y null for missing joints
         "joint_source": 16 x "estimated" | "interpolated" | "missing" | "manual",
         "track": "init" | "matched" | "re-acquired" | "lost" | "filled"}   # filled: interpolated box
      ]
    }

Coordinates are image pixels (x right, y down, 0-based), MPII-16 joint order, rounded to
0.001 px; confidences to 1e-4. Each frame is written on one line so files stay small and
diffable. Writes are atomic, so a killed run never leaves a half-written JSON.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fdpose.errors import FdposeError, ValidationError
from fdpose.io import atomic_write_text, dumps_json, read_json
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.pipelines.frames import frame_number
from fdpose.sampling import aligned_indices
from fdpose.pipelines.tracking import TrackDecision
from fdpose.records import JointSource
from fdpose.skeleton import NUM_JOINTS

__all__ = ["SCHEMA_VERSION", "BackendInfo", "ClipPoses", "clip_to_doc", "write_clip_json", "read_clip_json",
           "validate_clip_doc", "is_complete", "summarize"]

SCHEMA_VERSION = 1
SOURCE_KINDS: tuple[str, ...] = ("video", "frame_tree")
TRACK_VALUES: tuple[str, ...] = tuple(d.value for d in TrackDecision)
JOINT_SOURCES: tuple[str, ...] = tuple(s.value for s in JointSource)
_BOXED = {TrackDecision.INIT.value, TrackDecision.MATCHED.value, TrackDecision.REACQUIRED.value,
          TrackDecision.FILLED.value}


@dataclass
class ClipPoses:
    """Everything the pipeline knows about one clip, as arrays.

    boxes: (T, 5) ``[x1, y1, x2, y2, score]``, NaN rows for frames without a box.
    keypoints: (T, 16, 3) ``[x, y, conf]``, NaN x, y for missing joints.
    joint_source: (T, 16) object array of :class:`JointSource` strings.
    track: T tracker decisions (strings of :class:`TrackDecision`).
    sampled_indices: (n,) int64 positions read by the AQA loader.
    file_names: T file names (frame trees) or None (videos).
    """

    clip_id: str
    source: dict[str, Any]
    fps: Optional[float]
    width: int
    height: int
    detector: BackendInfo
    pose: BackendInfo
    boxes: np.ndarray
    keypoints: np.ndarray
    joint_source: np.ndarray
    track: list[str]
    sampled_indices: np.ndarray
    file_names: Optional[list[str]] = None
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64)
        self.keypoints = np.asarray(self.keypoints, dtype=np.float64)
        self.joint_source = np.asarray(self.joint_source, dtype=object)
        self.sampled_indices = np.asarray(self.sampled_indices, dtype=np.int64)
        n = self.keypoints.shape[0] if self.keypoints.ndim == 3 else -1
        checks = [(self.keypoints.shape == (n, NUM_JOINTS, 3), f"keypoints (T, {NUM_JOINTS}, 3)", self.keypoints.shape),
                  (self.boxes.shape == (n, 5), "boxes (T, 5)", self.boxes.shape),
                  (self.joint_source.shape == (n, NUM_JOINTS), f"joint_source (T, {NUM_JOINTS})",
                   self.joint_source.shape),
                  (len(self.track) == n, "track of length T", len(self.track)),
                  (self.file_names is None or len(self.file_names) == n, "file_names of length T",
                   None if self.file_names is None else len(self.file_names))]
        for ok, what, got in checks:
            if not ok:
                raise ValidationError(f"clip {self.clip_id}: expected {what} with T={n}, got {got}")

    @property
    def frame_count(self) -> int:
        return int(self.keypoints.shape[0])

    def sampled_keypoints(self) -> np.ndarray:
        """(n, 16, 3) keypoints at the sampled indices (NaN where missing)."""
        return self.keypoints[self.sampled_indices]


def summarize(boxes: np.ndarray, joint_source: np.ndarray, keypoints: np.ndarray, track: list[str]) -> dict[str, Any]:
    """Summary statistics stored in (and checked against) the JSON; derived from the frames only."""
    n = len(track)
    src = np.asarray(joint_source).astype(str)
    joints = {s: int(np.sum(src == s)) for s in JOINT_SOURCES}
    total = max(int(src.size), 1)
    est = src == JointSource.ESTIMATED.value
    conf = np.asarray(keypoints, dtype=np.float64)[..., 2][est] if n else np.zeros(0)
    return {
        "frames": n,
        "tracked_frames": int(np.sum(np.isfinite(np.asarray(boxes, dtype=np.float64)[:, 0]))) if n else 0,
        # ("filled", the tracker's optional short-gap fill, is counted only when present: files
        # written before it existed stay valid)
        "track": {v: c for v in TRACK_VALUES
                  if (c := sum(1 for d in track if d == v)) or v != TrackDecision.FILLED.value},
        "joints": joints,
        "interpolated_share": round(joints[JointSource.INTERPOLATED.value] / total, 6),
        "missing_share": round(joints[JointSource.MISSING.value] / total, 6),
        "mean_estimated_confidence": round(float(np.mean(conf)), 4) if conf.size else None,
    }


def _num(v: float, digits: int) -> Optional[float]:
    return round(float(v), digits) if math.isfinite(float(v)) else None


def clip_to_doc(clip: ClipPoses) -> dict[str, Any]:
    """The JSON document of a clip (validated before it is returned)."""
    frames = []
    for t in range(clip.frame_count):
        fr: dict[str, Any] = {"frame_index": t}
        if clip.file_names is not None:
            fr["file_name"] = clip.file_names[t]
        b = clip.boxes[t]
        fr["bbox"] = None if not np.isfinite(b[0]) else [*(_num(v, 3) for v in b[:4]), _num(b[4], 4)]
        fr["keypoints"] = [[_num(x, 3), _num(y, 3), _num(c, 4) if math.isfinite(c) else 0.0]
                           for x, y, c in clip.keypoints[t]]
        fr["joint_source"] = [str(s) for s in clip.joint_source[t]]
        fr["track"] = str(clip.track[t])
        frames.append(fr)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "clip_id": clip.clip_id,
        "source": dict(clip.source),
        "frame_count": clip.frame_count,
        "fps": None if clip.fps is None else float(clip.fps),
        "image_size": {"width": int(clip.width), "height": int(clip.height)},
        "backends": {"detector": clip.detector.to_dict(), "pose": clip.pose.to_dict()},
        "settings": clip.settings,
        "sampled_indices": [int(i) for i in clip.sampled_indices],
        # Summarise the rounded values the reader will see, so the check on read is exact.
        "summary": summarize(clip.boxes, clip.joint_source,
                             np.array([[[0.0, 0.0, p[2]] for p in fr["keypoints"]] for fr in frames]).reshape(
                                 clip.frame_count, NUM_JOINTS, 3),
                             list(map(str, clip.track))),
        "frames": frames,
    }
    validate_clip_doc(doc)  # never write a file the reader would refuse
    return doc


def _format(doc: dict[str, Any]) -> str:
    """Pretty header, one line per frame and one line for the sampled indices."""
    head = dict(doc, frames="\0FRAMES\0", sampled_indices="\0SAMPLED\0")
    text = dumps_json(head, indent=2)
    frames = ",\n".join("    " + dumps_json(f, indent=None).strip() for f in doc["frames"])
    text = text.replace('"\\u0000FRAMES\\u0000"', "[\n" + frames + "\n  ]" if frames else "[]")
    return text.replace('"\\u0000SAMPLED\\u0000"', dumps_json(doc["sampled_indices"], indent=None).strip())


def write_clip_json(path: str | os.PathLike[str], clip: ClipPoses) -> Path:
    """Validate and atomically write a clip's JSON."""
    return atomic_write_text(path, _format(clip_to_doc(clip)))


# ---- validation -------------------------------------------------------------------------

class _Checker:
    """Collects the path for one-line errors: ``path: frames[3].bbox: message``."""

    def __init__(self, path: Optional[str | os.PathLike[str]]) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> None:
        raise ValidationError(message, self.path, where or None)

    def int_(self, v: Any, where: str, low: int = 0) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            self.fail(where, f"expected an integer >= {low}, got {v!r}")
        return int(v)

    def number(self, v: Any, where: str) -> float:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            self.fail(where, f"expected a finite number, got {v!r}")
        return float(v)

    def str_(self, v: Any, where: str, optional: bool = False) -> Optional[str]:
        if v is None and optional:
            return None
        if not isinstance(v, str) or not v:
            self.fail(where, f"expected a non-empty string, got {v!r}")
        return str(v)

    def obj(self, v: Any, where: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            self.fail(where, f"expected an object, got {type(v).__name__}")
        return v

    def keys(self, d: dict[str, Any], where: str, required: tuple[str, ...]) -> None:
        missing = [k for k in required if k not in d]
        if missing:
            self.fail(where, f"missing key(s) {', '.join(missing)}")


def validate_clip_doc(doc: Any, path: Optional[str | os.PathLike[str]] = None) -> ClipPoses:
    """Check a parsed clip JSON against schema version 1 and return it as :class:`ClipPoses`.

    Raises :class:`ValidationError` with the file and the JSON location of the first problem.
    """
    ck = _Checker(path)
    d = ck.obj(doc, "")
    ck.keys(d, "", ("schema_version", "clip_id", "source", "frame_count", "fps", "image_size", "backends",
                    "sampled_indices", "summary", "frames"))
    if d["schema_version"] != SCHEMA_VERSION:
        ck.fail("schema_version", f"unsupported schema_version {d['schema_version']!r} (this reader knows "
                                  f"{SCHEMA_VERSION})")
    clip_id = ck.str_(d["clip_id"], "clip_id")
    source = ck.obj(d["source"], "source")
    ck.keys(source, "source", ("kind", "path"))
    if source["kind"] not in SOURCE_KINDS:
        ck.fail("source.kind", f"expected one of {', '.join(SOURCE_KINDS)}, got {source['kind']!r}")
    ck.str_(source["path"], "source.path")
    n = ck.int_(d["frame_count"], "frame_count", low=1)
    fps = None if d["fps"] is None else ck.number(d["fps"], "fps")
    if fps is not None and fps <= 0:
        ck.fail("fps", f"expected a positive number or null, got {fps}")
    size = ck.obj(d["image_size"], "image_size")
    ck.keys(size, "image_size", ("width", "height"))
    width, height = ck.int_(size["width"], "image_size.width", 1), ck.int_(size["height"], "image_size.height", 1)
    backends = ck.obj(d["backends"], "backends")
    ck.keys(backends, "backends", ("detector", "pose"))
    infos = {}
    for role in ("detector", "pose"):
        b = ck.obj(backends[role], f"backends.{role}")
        ck.keys(b, f"backends.{role}", ("name",))
        infos[role] = BackendInfo(ck.str_(b["name"], f"backends.{role}.name") or "",
                                  ck.str_(b.get("version"), f"backends.{role}.version", optional=True),
                                  ck.str_(b.get("checkpoint"), f"backends.{role}.checkpoint", optional=True))
    settings = ck.obj(d.get("settings", {}), "settings")

    frames = d["frames"]
    if not isinstance(frames, list) or len(frames) != n:
        ck.fail("frames", f"expected a list of frame_count={n} frames, got "
                          f"{len(frames) if isinstance(frames, list) else type(frames).__name__}")
    boxes = np.full((n, 5), np.nan)
    kps = np.full((n, NUM_JOINTS, 3), np.nan)
    srcs = np.empty((n, NUM_JOINTS), dtype=object)
    track: list[str] = []
    names: list[str] = []
    need_names = source["kind"] == "frame_tree"
    for t, fr in enumerate(frames):
        w = f"frames[{t}]"
        ck.obj(fr, w)
        ck.keys(fr, w, ("frame_index", "bbox", "keypoints", "joint_source", "track"))
        if ck.int_(fr["frame_index"], f"{w}.frame_index") != t:
            ck.fail(f"{w}.frame_index", f"expected {t} (frames in order, 0-based), got {fr['frame_index']}")
        if need_names or "file_name" in fr:
            names.append(ck.str_(fr.get("file_name"), f"{w}.file_name") or "")
        if fr["bbox"] is not None:
            bb = fr["bbox"]
            if not isinstance(bb, list) or len(bb) != 5:
                ck.fail(f"{w}.bbox", f"expected [x1, y1, x2, y2, score] or null, got {bb!r}")
            boxes[t] = [ck.number(v, f"{w}.bbox[{i}]") for i, v in enumerate(bb)]
            if boxes[t, 0] > boxes[t, 2] or boxes[t, 1] > boxes[t, 3]:
                ck.fail(f"{w}.bbox", f"corners not ordered (x1 <= x2, y1 <= y2): {bb}")
        tr = fr["track"]
        if tr not in TRACK_VALUES:
            ck.fail(f"{w}.track", f"expected one of {', '.join(TRACK_VALUES)}, got {tr!r}")
        if tr in _BOXED and fr["bbox"] is None:
            ck.fail(f"{w}.bbox", f"track is {tr!r} but bbox is null")
        track.append(tr)
        kp, js = fr["keypoints"], fr["joint_source"]
        if not isinstance(kp, list) or len(kp) != NUM_JOINTS:
            ck.fail(f"{w}.keypoints", f"expected {NUM_JOINTS} [x, y, conf] entries, got "
                                      f"{len(kp) if isinstance(kp, list) else type(kp).__name__}")
        if not isinstance(js, list) or len(js) != NUM_JOINTS:
            ck.fail(f"{w}.joint_source", f"expected {NUM_JOINTS} entries, got "
                                         f"{len(js) if isinstance(js, list) else type(js).__name__}")
        for j in range(NUM_JOINTS):
            wj = f"{w}.keypoints[{j}]"
            p = kp[j]
            if not isinstance(p, list) or len(p) != 3:
                ck.fail(wj, f"expected [x, y, conf], got {p!r}")
            if js[j] not in JOINT_SOURCES:
                ck.fail(f"{w}.joint_source[{j}]", f"expected one of {', '.join(JOINT_SOURCES)}, got {js[j]!r}")
            conf = ck.number(p[2], f"{wj}[2]")
            if (p[0] is None) != (p[1] is None):
                ck.fail(wj, "x and y must both be numbers or both null")
            if p[0] is None:
                if js[j] != JointSource.MISSING.value:
                    ck.fail(wj, f"null coordinates but joint_source is {js[j]!r} (expected 'missing')")
            else:
                kps[t, j, :2] = ck.number(p[0], f"{wj}[0]"), ck.number(p[1], f"{wj}[1]")
                if js[j] == JointSource.MISSING.value:
                    ck.fail(wj, "joint_source is 'missing' but coordinates are given")
            kps[t, j, 2] = conf
            srcs[t, j] = js[j]

    sampled = d["sampled_indices"]
    if not isinstance(sampled, list) or not sampled:
        ck.fail("sampled_indices", "expected a non-empty list of frame positions")
    sampled_arr = np.array([ck.int_(v, f"sampled_indices[{i}]") for i, v in enumerate(sampled)], dtype=np.int64)
    numbers = [frame_number(s) for s in names] if need_names else None
    expected = aligned_indices(n, None if numbers is None or None in numbers else numbers, n=len(sampled_arr))
    if not np.array_equal(sampled_arr, expected):
        k = int(np.argmax(sampled_arr != expected))
        ck.fail(f"sampled_indices[{k}]", f"expected {int(expected[k])} by the linspace(first, last, "
                                         f"{len(sampled_arr)}) rule, got {int(sampled_arr[k])}")
    summary = summarize(boxes, srcs, kps, track)
    if d["summary"] != summary:
        ck.fail("summary", "does not match the frames (edited by hand or written by another tool?)")
    return ClipPoses(clip_id=clip_id or "", source=source, fps=fps, width=width, height=height,
                     detector=infos["detector"], pose=infos["pose"], boxes=boxes, keypoints=kps,
                     joint_source=srcs, track=track, sampled_indices=sampled_arr,
                     file_names=names if names else None, settings=settings)


def read_clip_json(path: str | os.PathLike[str]) -> ClipPoses:
    """Read and validate a clip JSON (:class:`InputError` / :class:`ValidationError` naming the file)."""
    return validate_clip_doc(read_json(path), path)


def is_complete(path: str | os.PathLike[str], clip_id: Optional[str] = None) -> bool:
    """True when ``path`` holds a valid clip JSON (of ``clip_id``, if given): safe to skip on resume."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        clip = read_clip_json(p)
    except FdposeError:
        return False
    return clip_id is None or clip.clip_id == clip_id
