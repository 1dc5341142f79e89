"""Check LabelMe folders against the labelling protocol and report every problem found.

Unlike :func:`fdpose.annotations.labelme.parse_labelme`, which raises on the first malformed
shape, the checks here walk the raw JSON and collect *all* problems of a file (a reviewer
wants the whole list in one pass). Nothing here raises on bad input: unreadable, truncated,
binary or ill-typed files each become a :class:`Problem`.

Errors break the protocol (the file cannot be used for training as is); warnings are
plausibility hints (absent joints, points on top of each other, left/right sides that look
swapped) that a reviewer should look at.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from fdpose.skeleton import BOX_LABEL, JOINT_INDEX, JOINT_NAMES, NUM_JOINTS
from fdpose.video import natural_key

from fdpose.annotations.problems import FrameCheck, Problem, Severity, ValidationReport
from fdpose.annotations.plausibility import near_duplicates, shoulder_hip_angle, side_swaps
from fdpose.annotations.protocol import OCCLUDED_FLAG
from fdpose.annotations.validate_read import check_image, is_number, load_json, show_value, type_name

log = logging.getLogger(__name__)

#: Default size limit for one annotation JSON (embedded imageData of a large photo stays below).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class ValidateConfig:
    """Thresholds of :func:`validate_paths` (pixels unless stated)."""

    tolerance_px: float = 1.0  #: how far outside the image a point may lie
    box_margin: float = 0.1  #: the diver box is enlarged by this fraction of its size before the containment check
    duplicate_px: float = 1.5  #: two different joints closer than this are reported
    require_all_joints: bool = False  #: absent joints are errors (final reviewed data), else warnings
    max_bytes: int = DEFAULT_MAX_BYTES
    swap_ratio: float = 0.5  #: a pair counts as switched when swapped cost < ratio * same-label cost ...
    swap_min_px: float = 4.0  #: ... and the costs differ by more than this
    swap_min_sep: float = 0.5  #: pairs closer than this x their typical separation are not judged
    cross_angle_deg: float = 120.0  #: shoulder vs hip direction angle above this is reported
    check_sequences: bool = True


# --------------------------------------------------------------------------- shapes


@dataclass
class _Shape:
    index: int
    label: str
    points: np.ndarray  # (n, 2)
    shape_type: str
    flags: dict[str, bool]


def _check_shape(fc: FrameCheck, i: int, s: Any) -> Optional[_Shape]:
    """Type checks of one raw shape; returns it when it is usable for the protocol checks."""
    if not isinstance(s, dict):
        fc.error("shape-type", f"shape must be a JSON object, got {type_name(s)}", i)
        return None
    usable = True
    label = s.get("label")
    shown: Optional[str] = label if isinstance(label, str) else None
    if "label" not in s:
        fc.error("label-missing", "shape has no label", i)
        usable = False
    elif not isinstance(label, str):
        fc.error("label-type", f"label must be a string, got {type_name(label)} {show_value(label)}", i)
        usable = False

    pts = s.get("points")
    points: list[list[float]] = []
    if "points" not in s:
        fc.error("points-missing", "shape has no points", i, shown)
        usable = False
    elif not isinstance(pts, list):
        fc.error("points-type", f"points must be a list of [x, y], got {type_name(pts)} {show_value(pts)}", i, shown)
        usable = False
    elif not pts:
        fc.error("points-empty", "points is empty", i, shown)
        usable = False
    else:
        for k, p in enumerate(pts):
            if not (isinstance(p, list) and len(p) == 2 and all(is_number(v) for v in p)):
                fc.error("point-format", f"point {k} is not [x, y] numbers: {show_value(p)}", i, shown)
                usable = False
            elif not all(math.isfinite(float(v)) for v in p):
                fc.error("point-nonfinite", f"point {k} has non-finite coordinates {show_value(p)}", i, shown)
                usable = False
            else:
                points.append([float(p[0]), float(p[1])])

    shape_type = s.get("shape_type")
    if shape_type is None:
        # labelme 5.x files may lack shape_type; a single point then is a point shape.
        shape_type = "point" if len(points) == 1 else "polygon"
    elif not isinstance(shape_type, str):
        fc.error("shape-type-field", f"shape_type must be a string, got {type_name(shape_type)} {show_value(shape_type)}", i, shown)
        usable = False

    flags = s.get("flags")
    if flags is None:
        flags = {}
    elif not isinstance(flags, dict) or not all(isinstance(v, bool) for v in flags.values()):
        fc.error("flags-type", f"flags must map names to true/false, got {show_value(flags)}", i, shown)
        flags = {}
    for key, kind in (("group_id", int), ("description", str), ("mask", str)):
        v = s.get(key)
        if v is not None and (not isinstance(v, kind) or isinstance(v, bool)):
            fc.error(f"{key.replace('_', '-')}-type", f"{key} must be {'an integer' if kind is int else 'a string'} or null, "
                     f"got {type_name(v)} {show_value(v)}", i, shown)
    if not usable or not isinstance(label, str) or not isinstance(shape_type, str):
        return None
    return _Shape(i, label, np.asarray(points, dtype=np.float64).reshape(-1, 2), shape_type, dict(flags))


def _suggest(label: str) -> str:
    norm = label.strip().lower().replace("-", "_").replace(" ", "_")
    known = (BOX_LABEL, *JOINT_NAMES)
    if norm in known:
        return f" (did you mean '{norm}'?)"
    close = difflib.get_close_matches(norm, known, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _inside(xy: np.ndarray, size: tuple[int, int], tol: float) -> bool:
    w, h = size
    return bool(-tol <= xy[0] <= w + tol and -tol <= xy[1] <= h + tol)


def _fmt_xy(xy: np.ndarray) -> str:
    return f"({xy[0]:.1f}, {xy[1]:.1f})"


def _check_protocol(fc: FrameCheck, shapes: list[_Shape], cfg: ValidateConfig) -> None:
    """Box and joint rules on the shapes that passed the type checks."""
    boxes: list[_Shape] = []
    first_joint: dict[int, _Shape] = {}
    size = fc.image_size
    for s in shapes:
        if s.label == BOX_LABEL:
            if s.shape_type != "rectangle" or len(s.points) != 2:
                fc.error("box-shape", f"diver box must be a rectangle with 2 points, got {s.shape_type} with {len(s.points)} points",
                         s.index, s.label)
                continue
            if boxes:
                fc.error("box-multiple", f"more than one diver box (the first is shape[{boxes[0].index}])", s.index, s.label)
                continue
            boxes.append(s)
            xyxy = np.concatenate([s.points.min(axis=0), s.points.max(axis=0)])
            if xyxy[2] - xyxy[0] < 1 or xyxy[3] - xyxy[1] < 1:
                fc.error("box-empty", f"diver box has no area ({xyxy[2] - xyxy[0]:.1f} x {xyxy[3] - xyxy[1]:.1f} px)", s.index, s.label)
            else:
                fc.box = xyxy
            if size is not None and not all(_inside(p, size, cfg.tolerance_px) for p in s.points):
                fc.error("box-outside", f"diver box [{', '.join(f'{v:.1f}' for v in xyxy)}] extends outside the "
                         f"{size[0]}x{size[1]} image", s.index, s.label)
        elif s.label in JOINT_INDEX:
            j = JOINT_INDEX[s.label]
            if s.shape_type != "point" or len(s.points) != 1:
                fc.error("joint-shape", f"joint must be a point shape with 1 point, got {s.shape_type} with {len(s.points)} points",
                         s.index, s.label)
                continue
            unknown = sorted(k for k in s.flags if k != OCCLUDED_FLAG)
            if unknown:
                fc.warn("flag-unknown", f"unknown shape flag(s) {', '.join(unknown)} (only '{OCCLUDED_FLAG}' is used)", s.index, s.label)
            if j in first_joint:
                fc.error("joint-duplicate", f"joint labelled more than once (first at shape[{first_joint[j].index}])", s.index, s.label)
                continue
            first_joint[j] = s
            fc.joints[j] = s.points[0]
            fc.joint_shapes[j] = s.index
        else:
            fc.error("label-unknown", f"unknown label '{s.label}'{_suggest(s.label)}", s.index, s.label)

    if not any(s.label == BOX_LABEL for s in shapes):  # a malformed box was reported above
        fc.error("box-missing", f"no diver box (one rectangle labelled '{BOX_LABEL}' is required)")
    absent = [JOINT_NAMES[j] for j in range(NUM_JOINTS) if j not in first_joint]
    if absent:
        msg = f"{len(absent)} joint(s) absent (no point): {', '.join(absent)}"
        if cfg.require_all_joints:
            fc.error("joints-missing", msg)
        else:
            fc.warn("joints-missing", msg + " (fine only when really out of view)")

    enlarged = None
    if fc.box is not None:
        half = (fc.box[2:] - fc.box[:2]) * (1 + cfg.box_margin) / 2
        centre = (fc.box[:2] + fc.box[2:]) / 2
        enlarged = np.concatenate([centre - half - cfg.tolerance_px, centre + half + cfg.tolerance_px])
    for _j, s in sorted(first_joint.items()):  # joint order: problems listed as in MPII
        xy = s.points[0]
        if size is not None and not _inside(xy, size, cfg.tolerance_px):
            fc.error("joint-outside-image", f"point {_fmt_xy(xy)} is outside the {size[0]}x{size[1]} image", s.index, s.label)
        elif enlarged is not None and not (enlarged[0] <= xy[0] <= enlarged[2] and enlarged[1] <= xy[1] <= enlarged[3]):
            msg = f"point {_fmt_xy(xy)} is outside the diver box (enlarged by {cfg.box_margin:.0%})"
            if s.flags.get(OCCLUDED_FLAG, False):
                # An occluded joint is placed where it must be (under water, behind an occluder), while
                # the box frames the visible diver: worth a look, not a labelling error.
                fc.warn("occluded-joint-outside-box", msg + " (occluded joint)", s.index, s.label)
            else:
                fc.error("joint-outside-box", msg, s.index, s.label)
    _check_plausibility(fc, cfg)


def _check_plausibility(fc: FrameCheck, cfg: ValidateConfig) -> None:
    """Warnings on one frame: joints on one spot, shoulders crossing the hips."""
    order = np.where(fc.joint_shapes >= 0, fc.joint_shapes, NUM_JOINTS * 1000)
    for a, b, d in near_duplicates(fc.joints, order, cfg.duplicate_px):
        what = "same position as" if d == 0 else f"{d:.1f} px from"
        fc.warn("duplicate-point", f"{what} shape[{fc.joint_shapes[a]}] {JOINT_NAMES[a]} (two joints on one spot?)",
                int(fc.joint_shapes[b]), JOINT_NAMES[b])
    angle = shoulder_hip_angle(fc.joints)
    if angle is not None and angle > cfg.cross_angle_deg:
        rs = JOINT_INDEX["r_shoulder"]
        fc.warn("lr-cross", f"r_shoulder->l_shoulder points {angle:.0f} deg away from r_hip->l_hip: "
                "one left/right pair is probably swapped", int(fc.joint_shapes[rs]), JOINT_NAMES[rs])


def validate_file(path: str | os.PathLike[str], config: Optional[ValidateConfig] = None, display: Optional[str] = None) -> FrameCheck:
    """Check one LabelMe JSON file; never raises on bad content (problems are in the result)."""
    cfg = config or ValidateConfig()
    p = Path(path)
    fc = FrameCheck(p, display if display is not None else str(path))
    obj = load_json(fc, cfg.max_bytes)
    if obj is None:
        return fc
    if not isinstance(obj, dict):
        fc.error("not-object", f"top level must be a JSON object, got {type_name(obj)}")
        return fc
    flags = obj.get("flags")
    if flags is not None and not isinstance(flags, dict):
        fc.error("file-flags-type", f"flags must be an object, got {type_name(flags)}")
    check_image(fc, obj)
    if "shapes" not in obj:
        fc.error("shapes-missing", "no 'shapes' list")
        return fc
    raw_shapes = obj["shapes"]
    if not isinstance(raw_shapes, list):
        fc.error("shapes-type", f"'shapes' must be a list, got {type_name(raw_shapes)}")
        return fc
    shapes = [s for s in (_check_shape(fc, i, raw) for i, raw in enumerate(raw_shapes)) if s is not None]
    _check_protocol(fc, shapes, cfg)
    return fc


# --------------------------------------------------------------------------- sequences



def check_sequence(frames: list[FrameCheck], config: Optional[ValidateConfig] = None) -> list[Problem]:
    """Left/right swap warnings for the frames of one sequence (one folder), given in frame order
    (see :func:`fdpose.annotations.plausibility.side_swaps`)."""
    cfg = config or ValidateConfig()
    usable = [f for f in frames if f.readable]
    if len(usable) < 2:
        return []
    joints = np.stack([f.joints for f in usable])
    problems: list[Problem] = []
    for fd in side_swaps(joints, cfg.swap_ratio, cfg.swap_min_px, cfg.swap_min_sep):
        r, l = fd.pair
        f = usable[fd.frame]
        prev, cur = usable[fd.switch.frame - 1].path.name, usable[fd.switch.frame].path.name
        problems.append(Problem(
            f.display, Severity.WARNING, "lr-swap",
            f"{JOINT_NAMES[r]}/{JOINT_NAMES[l]} look swapped relative to most frames of this sequence "
            f"(sides switch between {prev} and {cur}: keeping labels moves {fd.switch.same:.1f} px, "
            f"swapping {fd.switch.swapped:.1f} px)",
            int(f.joint_shapes[r]), JOINT_NAMES[r]))
    return problems


# --------------------------------------------------------------------------- folders


def iter_label_files(root: Path) -> Iterator[Path]:
    """``*.json`` entries under ``root`` (hidden entries skipped), sorted; a directory that is
    itself named ``*.json`` is descended into, not reported."""
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: log.warning("cannot list %s: %s", e.filename, e.strerror)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(".json"):
                yield Path(dirpath) / name


def collect_files(roots: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Problem]]:
    """Label files named by ``roots`` (files as given, folders scanned) and problems with the roots."""
    files: list[Path] = []
    problems: list[Problem] = []
    for root in roots:
        r = Path(root)
        if r.is_dir():
            found = list(iter_label_files(r))
            if not found:
                problems.append(Problem(str(r), Severity.ERROR, "no-files", "no LabelMe JSON files found"))
            files.extend(found)
        elif r.exists() or r.is_symlink():
            files.append(r)
        else:
            problems.append(Problem(str(r), Severity.ERROR, "no-such-path", "no such file or directory"))
    return files, problems


def validate_paths(
    roots: Iterable[str | os.PathLike[str]],
    config: Optional[ValidateConfig] = None,
    progress: Any = None,
) -> ValidationReport:
    """Validate every LabelMe file under ``roots`` and run the sequence checks per folder.

    progress: optional wrapper for the file iterable (e.g. ``tqdm``), called as ``progress(files)``.
    Problems are ordered by file (then shape); root-level problems come first.
    """
    cfg = config or ValidateConfig()
    files, problems = collect_files(roots)
    seen: set[str] = set()
    unique: list[Path] = []
    for f in files:
        real = os.path.realpath(f)  # unlike Path.resolve, never raises on symlink loops
        if real not in seen:
            seen.add(real)
            unique.append(f)
    checks: list[FrameCheck] = []
    for f in progress(unique) if progress is not None else unique:
        checks.append(validate_file(f, cfg))
    per_file: dict[str, list[Problem]] = {fc.display: list(fc.problems) for fc in checks}
    if cfg.check_sequences:
        by_folder: dict[Path, list[FrameCheck]] = {}
        for fc in checks:
            by_folder.setdefault(fc.path.parent, []).append(fc)
        for group in by_folder.values():
            group.sort(key=lambda fc: natural_key(fc.path.name))
            for pr in check_sequence(group, cfg):
                per_file[pr.path].append(pr)
    for fc in checks:
        problems.extend(sorted(per_file[fc.display], key=lambda p: (-1 if p.shape_index is None else p.shape_index)))
    return ValidationReport(problems, len(unique))
