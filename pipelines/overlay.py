"""Overlays of the pipeline's output: box + MPII skeleton drawn on frames, as an mp4 and a PNG sheet.

:func:`write_overlay` draws one processed clip (its :class:`~fdpose.pipelines.frames.ClipSource`
and :class:`~fdpose.pipelines.clip_json.ClipPoses`) into ``OUT_DIR/{clip_id}.mp4`` and
``OUT_DIR/{clip_id}_sheet.png``; :func:`render_overlay` is the general form for any frames.

Input is the clip JSON's per-frame shape (:mod:`fdpose.pipelines.clip_json`, ``doc["frames"]``):
a mapping with ``bbox`` (``[x1, y1, x2, y2, score]`` or None), ``keypoints`` (16 x
``[x, y, conf]``, x / y None for missing joints) and ``joint_source`` (16 strings).

Style: colours from :func:`fdpose.skeleton.joint_color` / :func:`~fdpose.skeleton.bone_color`
(right warm, left cool, centre green). Estimated (and manual) joints are filled discs and their
bones solid lines; **interpolated** joints are hollow circles and a bone touching one is dashed;
**missing** joints (and their bones) are not drawn.

Video: written by :class:`fdpose.video.VideoWriter` (PyAV, atomic): H.264 (``libx264``, yuv420p)
needs even sizes, so frames of odd width or height (FineDiving's 455x256) are written as MPEG-4
Part 2 (``mpeg4``), which keeps the exact size.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import cv2
import numpy as np

from fdpose.errors import InputError, ValidationError
from fdpose.io import atomic_write_bytes
from fdpose.records import JointSource
from fdpose.skeleton import BONES, NUM_JOINTS, bone_color, joint_color
from fdpose.video import VideoWriter

log = logging.getLogger(__name__)

_INTERP = JointSource.INTERPOLATED.value
_MISSING = JointSource.MISSING.value


@dataclass(frozen=True)
class OverlayStyle:
    """Drawing parameters (pixels at the frame's resolution; BGR colours)."""

    joint_radius: int = 3
    bone_thickness: int = 2
    box_thickness: int = 1
    box_color: tuple[int, int, int] = (0, 230, 255)
    dash_length: int = 5  #: on/off length of dashed (interpolated) bones
    text_color: tuple[int, int, int] = (255, 255, 255)
    show_text: bool = True  #: frame index and box score


@dataclass(frozen=True)
class ParsedRecord:
    """A frame record as arrays: box (5,) or None, xy (16, 2) NaN where missing, source (16,) str."""

    box: Optional[np.ndarray]
    xy: np.ndarray
    source: np.ndarray


def parse_record(record: Mapping[str, Any], where: str = "record") -> ParsedRecord:
    """Validate one clip-JSON frame record for drawing (:class:`ValidationError` naming ``where``)."""
    if not isinstance(record, Mapping):
        raise ValidationError(f"{where}: expected an object with bbox/keypoints/joint_source, got {type(record).__name__}")
    bbox = record.get("bbox")
    box = None
    if bbox is not None:
        box = np.asarray(bbox, dtype=np.float64).reshape(-1)
        if box.shape[0] not in (4, 5) or not np.all(np.isfinite(box)):
            raise ValidationError(f"{where}.bbox: expected [x1, y1, x2, y2(, score)], got {bbox!r}")
    kps = record.get("keypoints")
    xy = np.full((NUM_JOINTS, 2), np.nan)
    source: np.ndarray = np.full(NUM_JOINTS, _MISSING, dtype=object)
    if kps is not None:
        if len(kps) != NUM_JOINTS:
            raise ValidationError(f"{where}.keypoints: expected {NUM_JOINTS} entries, got {len(kps)}")
        for j, p in enumerate(kps):
            x, y = (np.nan if v is None else float(v) for v in list(p)[:2])
            xy[j] = (x, y)
        src = record.get("joint_source") or [JointSource.ESTIMATED.value] * NUM_JOINTS
        if len(src) != NUM_JOINTS:
            raise ValidationError(f"{where}.joint_source: expected {NUM_JOINTS} entries, got {len(src)}")
        source = np.asarray([str(s) for s in src], dtype=object)
    present = np.isfinite(xy).all(axis=1) & (source != _MISSING)
    xy[~present] = np.nan
    source[~present] = _MISSING
    return ParsedRecord(box, xy, source)


def _dashed_line(img: np.ndarray, p: np.ndarray, q: np.ndarray, color: tuple[int, int, int], thickness: int,
                 dash: int) -> None:
    length = float(np.hypot(*(q - p)))
    if length < 1e-6:
        return
    steps = max(int(length // dash), 1)
    for k in range(0, steps, 2):
        a = p + (q - p) * (k / steps)
        b = p + (q - p) * (min(k + 1, steps) / steps)
        cv2.line(img, _pt(a), _pt(b), color, thickness, cv2.LINE_AA)


def _pt(p: np.ndarray | Sequence[float]) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw_record(image_bgr: np.ndarray, record: Mapping[str, Any] | ParsedRecord, style: OverlayStyle = OverlayStyle(),
                frame_label: Optional[str] = None) -> np.ndarray:
    """A copy of ``image_bgr`` ``(H, W, 3) uint8`` with the record's box and skeleton drawn."""
    rec = record if isinstance(record, ParsedRecord) else parse_record(record)
    img = np.ascontiguousarray(image_bgr).copy()
    if rec.box is not None:
        x1, y1, x2, y2 = rec.box[:4]
        cv2.rectangle(img, _pt((x1, y1)), _pt((x2, y2)), style.box_color, style.box_thickness, cv2.LINE_8)
        if style.show_text and rec.box.shape[0] == 5:
            cv2.putText(img, f"{rec.box[4]:.2f}", (int(x1), max(int(y1) - 3, 9)), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        style.box_color, 1, cv2.LINE_AA)
    present = rec.source != _MISSING
    for a, b in BONES:
        if not (present[a] and present[b]):
            continue
        color = bone_color((a, b))
        if rec.source[a] == _INTERP or rec.source[b] == _INTERP:
            _dashed_line(img, rec.xy[a], rec.xy[b], color, style.bone_thickness, style.dash_length)
        else:
            cv2.line(img, _pt(rec.xy[a]), _pt(rec.xy[b]), color, style.bone_thickness, cv2.LINE_AA)
    for j in range(NUM_JOINTS):
        if not present[j]:
            continue
        hollow = rec.source[j] == _INTERP
        cv2.circle(img, _pt(rec.xy[j]), style.joint_radius, joint_color(j), 1 if hollow else -1, cv2.LINE_AA)
    if style.show_text and frame_label is not None:
        cv2.putText(img, frame_label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, frame_label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, style.text_color, 1, cv2.LINE_AA)
    return img


def contact_sheet_indices(frame_count: int, n: int) -> np.ndarray:
    """Up to ``n`` evenly spaced frame positions in ``0..frame_count-1`` (first and last included)."""
    if frame_count <= 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, frame_count - 1, min(n, frame_count))).astype(np.int64))


def tile_sheet(tiles: Sequence[np.ndarray], columns: Optional[int] = None, tile_width: int = 320,
               gap: int = 2) -> np.ndarray:
    """Arrange images ``(h, w, 3)`` in a grid (resized to ``tile_width``), grey gaps between them."""
    if not tiles:
        raise ValidationError("contact sheet: no frames")
    cols = columns or int(math.ceil(math.sqrt(len(tiles))))
    h0, w0 = tiles[0].shape[:2]
    th = max(int(round(h0 * tile_width / w0)), 1)
    rows = int(math.ceil(len(tiles) / cols))
    sheet = np.full((rows * th + (rows + 1) * gap, cols * tile_width + (cols + 1) * gap, 3), 40, dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = gap + r * (th + gap), gap + c * (tile_width + gap)
        sheet[y:y + th, x:x + tile_width] = cv2.resize(tile, (tile_width, th), interpolation=cv2.INTER_AREA)
    return sheet


@dataclass(frozen=True)
class OverlayResult:
    """What :func:`render_overlay` wrote."""

    frames: int
    width: int
    height: int
    video_path: Optional[Path]
    codec: Optional[str]
    sheet_path: Optional[Path]
    sheet_indices: tuple[int, ...]


def render_overlay(frames: Iterable[np.ndarray], records: Sequence[Mapping[str, Any]],
                  video_path: Optional[str | os.PathLike[str]] = None,
                  sheet_path: Optional[str | os.PathLike[str]] = None, fps: float = 25.0, sheet_frames: int = 12,
                  sheet_columns: Optional[int] = None, tile_width: int = 320,
                  style: OverlayStyle = OverlayStyle()) -> OverlayResult:
    """Draw every frame and write an mp4 (``video_path``) and/or a PNG contact sheet (``sheet_path``).

    ``frames`` is consumed once, one frame at a time (only the sheet's ``sheet_frames`` tiles
    are kept). ``records[t]`` belongs to the t-th frame; a count mismatch raises
    :class:`ValidationError`. Each output is written atomically (temp file + rename).
    """
    if video_path is None and sheet_path is None:
        raise ValidationError("overlay: give a video path, a sheet path or both")
    parsed = [parse_record(r, f"frames[{t}]") for t, r in enumerate(records)]
    wanted = set(contact_sheet_indices(len(parsed), sheet_frames).tolist()) if sheet_path is not None else set()
    tiles: list[np.ndarray] = []
    writer: Optional[VideoWriter] = None
    size: Optional[tuple[int, int]] = None
    count = 0
    try:
        for t, image in enumerate(frames):
            if t >= len(parsed):
                raise ValidationError(f"overlay: more frames than the {len(parsed)} records")
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValidationError(f"overlay: frame {t}: expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
            h, w = image.shape[:2]
            if size is None:
                size = (w, h)
                if video_path is not None:
                    writer = VideoWriter(video_path, w, h, fps)
            elif size != (w, h):
                raise ValidationError(f"overlay: frame {t}: size {w}x{h} differs from the first frame's "
                                      f"{size[0]}x{size[1]}")
            drawn = draw_record(image, parsed[t], style, frame_label=f"#{t}")
            if writer is not None:
                writer.write(drawn)
            if t in wanted:
                tiles.append(drawn)
            count += 1
        if count == 0:
            raise ValidationError("overlay: no frames")
        if count != len(parsed):
            raise ValidationError(f"overlay: {count} frames but {len(parsed)} records")
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    out_sheet = None
    if sheet_path is not None:
        ok, png = cv2.imencode(".png", tile_sheet(tiles, sheet_columns, tile_width))
        if not ok:
            raise InputError("cannot encode the contact sheet as PNG", sheet_path)
        out_sheet = atomic_write_bytes(sheet_path, png.tobytes())
    assert size is not None  # count >= 1 was checked above
    return OverlayResult(frames=count, width=size[0], height=size[1],
                         video_path=Path(video_path) if video_path is not None else None,
                         codec=writer.codec if writer is not None else None, sheet_path=out_sheet,
                         sheet_indices=tuple(sorted(wanted)))


def clip_records(clip: Any) -> list[dict[str, Any]]:
    """Per-frame records (clip JSON shape) from a :class:`~fdpose.pipelines.clip_json.ClipPoses`."""
    records = []
    for t in range(clip.frame_count):
        box = clip.boxes[t]
        kps = [[None if not np.isfinite(x) else float(x), None if not np.isfinite(y) else float(y),
                float(c) if np.isfinite(c) else 0.0] for x, y, c in clip.keypoints[t]]
        records.append({"frame_index": t, "bbox": [float(v) for v in box] if np.isfinite(box[0]) else None,
                        "keypoints": kps, "joint_source": [str(s) for s in clip.joint_source[t]]})
    return records


def write_overlay(source: Any, clip: Any, out_dir: str | os.PathLike[str], sheet_frames: int = 12,
                  style: OverlayStyle = OverlayStyle()) -> OverlayResult:
    """Overlay video + contact sheet of one processed clip: ``out_dir/{clip_id}.mp4`` and ``_sheet.png``.

    ``source``: the clip's :class:`~fdpose.pipelines.frames.ClipSource` (decoded again, streaming);
    ``clip``: its :class:`~fdpose.pipelines.clip_json.ClipPoses`. fps from the clip (25 when unknown).
    """
    out = Path(out_dir)
    frames = (f.image for f in source.iter_frames())
    return render_overlay(frames, clip_records(clip), out / f"{clip.clip_id}.mp4", out / f"{clip.clip_id}_sheet.png",
                          fps=float(clip.fps) if clip.fps else 25.0, sheet_frames=sheet_frames, style=style)
