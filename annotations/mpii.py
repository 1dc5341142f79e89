"""MPII JSON (mmpose's list-of-records annotation format) <-> protocol labels.

A record: ``{image, joints: 16 x [x, y], joints_vis: 16 x {0, 1}, center: [x, y], scale}``
plus three keys of ours that mmpose ignores: ``bbox`` (the exact diver box, xyxy, or null),
``label_file`` (the LabelMe JSON's relative path) and ``image_size`` ([width, height]).

How mmpose 1.3.2 (``MpiiDataset._load_annotations``) reads a record, and what we write so
that it reproduces OUR box and joints:

* ``joints`` are taken verbatim as float32 (no 1-based correction in mmpose 1.x), so we write
  our 0-based pixel coordinates unchanged (float32 keeps them within ~3e-5 px on 455 px frames).
* ``joints_vis`` is taken verbatim as ``keypoints_visible``.
* ``scale`` (float32) is multiplied by 200 (``pixel_std``) into a square box side. MPII boxes are square,
  so we write ``scale = max(box_w, box_h) / 200``: mmpose's box is the square about our box
  centre that just contains our box. (Its top-down pipeline later pads it by 1.25 in
  ``GetBBoxCenterScale``; that is training-time context padding, not part of the label.)
* ``center`` is shifted down by ``15 / 200 * scale_px = 15 * scale`` pixels ("to avoid cropping
  limbs"), then 1 is subtracted from both coordinates (MPII's matlab 1-based indexing). We
  write ``center = (cx + 1, cy + 1 - 15 * scale)`` so mmpose ends at exactly ``(cx, cy)``.
  (mmpose skips the shift when the written ``center[0] == -1``, i.e. a box centred at x = -2,
  outside any image: the exporter rejects such a box.)
* ``image`` must be a number plus an extension: mmpose computes ``int(image.split('.')[0])``.
  The exporter therefore renames images to ``000001.jpg``... and writes ``image_ids.json``
  (numeric name -> original relative image path) next to the JSON.

Visibility: ``joints_vis`` is 1 for visible joints and 0 otherwise; an occluded joint keeps its
coordinates, an absent joint is ``[-1, -1]`` (protocol.py). Reading reverses this. Because the
square ``center/scale`` loses the box's aspect ratio, the exact box travels in ``bbox``; files
without it (real MPII, other tools) get the union of the square box mmpose would compute and the
labelled joints' extent enlarged by :data:`JOINT_BOX_MARGIN` (the joint part clipped to the image
when its size is known): a human label may put joints outside MPII's person box (raised arms,
wrists above the square), and such a label is correct, so the derived box must contain it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fdpose.errors import ValidationError
from fdpose.records import Boxes
from fdpose.skeleton import NUM_JOINTS
from fdpose.annotations.interchange import FrameEntry, image_size, safe_relpath
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE, ManualLabel

#: mmpose's normalisation of MPII scales (a box side of 200 px is scale 1).
PIXEL_STD = 200.0
#: mmpose shifts the centre down by this many pixels per unit scale before building the box.
CENTER_SHIFT = 15.0
#: Coordinates of an absent joint in MPII files.
ABSENT_XY = (-1.0, -1.0)
#: Name of the numeric-name -> original-image mapping written next to the JSON.
IMAGE_IDS_NAME = "image_ids.json"
#: Margin around the joints' extent when a box is derived from a record without ``bbox``, as a
#: fraction of the extent's longer side (at least :data:`JOINT_BOX_MIN_MARGIN_PX`): joints are
#: body centres, the hands, feet and head reach a little beyond them.
JOINT_BOX_MARGIN = 0.05
JOINT_BOX_MIN_MARGIN_PX = 2.0


def box_to_center_scale(xyxy: np.ndarray) -> tuple[np.ndarray, float]:
    """MPII ``(center, scale)`` that mmpose turns back into the square box around ``xyxy``.

    xyxy: (4,) 0-based pixels. Returns center (2,) as written in the file (1-based, shifted
    up by ``15 * scale``) and scale = max side / 200.
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    scale = max(x2 - x1, y2 - y1) / PIXEL_STD
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([cx + 1.0, cy + 1.0 - CENTER_SHIFT * scale]), scale


def mmpose_center_scale(center: Any, scale: float) -> tuple[np.ndarray, float]:
    """What mmpose 1.3.2 makes of a record's ``center``/``scale``: (0-based centre (2,), box side px)."""
    c = np.asarray(center, dtype=np.float64).copy()
    side = float(scale) * PIXEL_STD
    if c[0] != -1:
        c[1] += CENTER_SHIFT / PIXEL_STD * side
    return c - 1.0, side


def square_box(center0: np.ndarray, side: float) -> np.ndarray:
    """(4,) xyxy of the square of side ``side`` centred at the 0-based ``center0``."""
    h = side / 2
    return np.array([center0[0] - h, center0[1] - h, center0[0] + h, center0[1] + h])


def _joint_extent(label: ManualLabel) -> Optional[np.ndarray]:
    pts = label.xy[label.present]
    if len(pts) == 0:
        return None
    lo, hi = pts.min(0), pts.max(0)
    return np.array([lo[0], lo[1], max(hi[0], lo[0] + 1.0), max(hi[1], lo[1] + 1.0)])


def crop_box(label: ManualLabel) -> Optional[np.ndarray]:
    """The box used for ``center/scale``: the diver box, else the joints' extent, else the whole image."""
    if label.box is not None:
        return label.box.xyxy[0]
    ext = _joint_extent(label)
    if ext is not None:
        return ext
    if label.image_width and label.image_height:
        return np.array([0.0, 0.0, label.image_width - 1.0, label.image_height - 1.0])
    return None


def derived_box(square: np.ndarray, xy: np.ndarray, present: np.ndarray,
                size: Optional[tuple[int, int]] = None) -> np.ndarray:
    """The box of a record without ``bbox``: the union of mmpose's ``square`` (4,) xyxy and the
    present joints' extent (``xy`` (16, 2), ``present`` (16,) bool) enlarged by the margin.

    The enlarged joint extent is clipped to the image (x, y >= 0; < width, height when ``size``
    (width, height) is given) so that the margin never pushes the box outside the frame; the
    square is kept as mmpose reads it.
    """
    pts = xy[present]
    if len(pts) == 0:
        return square
    lo, hi = pts.min(0), pts.max(0)
    m = max(JOINT_BOX_MIN_MARGIN_PX, JOINT_BOX_MARGIN * float(np.max(hi - lo)))
    lo, hi = lo - m, hi + m
    lo = np.maximum(lo, np.minimum(0.0, pts.min(0)))  # the margin stops at the border, the joints don't move
    if size is not None:
        hi = np.minimum(hi, np.maximum(np.array(size, dtype=np.float64) - 1.0, pts.max(0)))
    return np.concatenate([np.minimum(square[:2], lo), np.maximum(square[2:], hi)])


def label_to_record(label: ManualLabel, image: str, label_file: str, where: tuple[Path, Optional[str]]) -> dict[str, Any]:
    """One MPII record for ``label`` whose image is exported as ``image`` (e.g. ``000001.jpg``)."""
    box = crop_box(label)
    if box is None:
        raise ValidationError("frame has no box, no joints and no image size: nothing to centre an MPII record on", *where)
    center, scale = box_to_center_scale(box)
    if not scale > 0:
        raise ValidationError(f"diver box {box.tolist()} has zero size", *where)
    if center[0] == -1.0:
        raise ValidationError(f"box {box.tolist()} is centred at x = -2, which mmpose reads as 'no centre'", *where)
    joints: list[list[float]] = []
    for j in range(NUM_JOINTS):
        joints.append(list(ABSENT_XY) if label.visibility[j] == VIS_ABSENT else [float(v) for v in label.xy[j]])
    rec: dict[str, Any] = {
        "image": image,
        "joints": joints,
        "joints_vis": [int(v == VIS_VISIBLE) for v in label.visibility],
        "center": [float(c) for c in center],
        "scale": float(scale),
        "bbox": None if label.box is None else [float(v) for v in label.box.xyxy[0]],
        "label_file": label_file,
    }
    if label.image_width and label.image_height:
        rec["image_size"] = [int(label.image_width), int(label.image_height)]
    return rec


def _numbers(value: Any, n: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    )


def record_to_label(rec: Any, path: Path, index: int, size_hint: Optional[tuple[int, int]] = None) -> ManualLabel:
    """Parse and validate one record (errors name ``path`` and ``record[index]``).

    size_hint: (width, height) of the record's image when known from elsewhere (the image file);
    the record's own ``image_size`` wins. Used only to clip a box derived without ``bbox``.
    """
    loc = f"record[{index}]"
    if not isinstance(rec, dict):
        raise ValidationError(f"record must be an object, got {type(rec).__name__}", path, loc)
    for key in ("image", "joints", "center", "scale"):
        if key not in rec:
            raise ValidationError(f"missing key '{key}'", path, loc)
    joints, vis = rec["joints"], rec.get("joints_vis", [1] * NUM_JOINTS)
    if not (isinstance(joints, list) and len(joints) == NUM_JOINTS and all(_numbers(p, 2) for p in joints)):
        raise ValidationError(f"joints must be {NUM_JOINTS} finite [x, y] pairs", path, loc)
    if not (isinstance(vis, list) and len(vis) == NUM_JOINTS and all(v in (0, 1) and not isinstance(v, bool) for v in vis)):
        raise ValidationError(f"joints_vis must be {NUM_JOINTS} values 0/1", path, loc)
    if not _numbers(rec["center"], 2):
        raise ValidationError("center must be [x, y] numbers", path, loc)
    scale = rec["scale"]
    if not (isinstance(scale, (int, float)) and not isinstance(scale, bool) and math.isfinite(scale)):
        raise ValidationError(f"scale must be a number, got {scale!r:.40}", path, loc)
    xy = np.full((NUM_JOINTS, 2), np.nan)
    visibility = np.zeros(NUM_JOINTS, dtype=np.int8)
    for j, (p, v) in enumerate(zip(joints, vis)):
        if (float(p[0]), float(p[1])) == ABSENT_XY:
            continue  # absent: keeps NaN / visibility 0
        xy[j] = p
        visibility[j] = VIS_VISIBLE if v == 1 else VIS_OCCLUDED
    width = height = None
    size = rec.get("image_size")
    if size is not None:
        if not (_numbers(size, 2) and all(isinstance(v, int) and v > 0 for v in size)):
            raise ValidationError("image_size must be [width, height] positive integers", path, loc)
        width, height = size
    box: Optional[Boxes]
    if "bbox" in rec:
        raw = rec["bbox"]
        if raw is not None and not _numbers(raw, 4):
            raise ValidationError("bbox must be [x1, y1, x2, y2] numbers or null", path, loc)
        box = None if raw is None else Boxes.from_rows(np.asarray(raw, dtype=np.float64))
    else:
        c0, side = mmpose_center_scale(rec["center"], float(scale))
        known = (width, height) if width is not None and height is not None else size_hint
        box = Boxes.from_rows(derived_box(square_box(c0, side), xy, visibility > 0, known)) if side > 0 else None
    return ManualLabel(xy, visibility, box, "", height, width)


def numeric_image_name(number: int, original: str) -> str:
    """``000001.jpg`` for image number 1 (the extension of ``original``, ``.jpg`` if none)."""
    suffix = Path(original).suffix or ".jpg"
    return f"{number:06d}{suffix}"


def parse_image_ids(obj: Any, path: Path) -> dict[str, str]:
    """Validate an ``image_ids.json`` mapping (numeric name -> original relative image path)."""
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in obj.items()):
        raise ValidationError("must map image names to original relative image paths (strings)", path)
    return dict(obj)


def entries_to_mpii(entries: list[FrameEntry]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """MPII records (image ``000001.<ext>``... in entry order) and the ``image_ids.json`` mapping."""
    records: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    for n, e in enumerate(entries, start=1):
        name = numeric_image_name(n, e.image_rel)
        records.append(label_to_record(e.label, name, e.label_file, e.origin))
        ids[name] = e.image_rel
    return records, ids


def mpii_to_entries(obj: Any, path: Path, images_dir: Path, image_ids: dict[str, str]) -> list[FrameEntry]:
    """Entries from a parsed MPII JSON list.

    images_dir: where the records' ``image`` files are (mmpose's ``data_prefix.img``);
    image_ids: numeric name -> original relative path (empty when there is no ``image_ids.json``:
    the numeric names are then kept).
    """
    if not isinstance(obj, list):
        raise ValidationError(f"an MPII file is a list of records, got {type(obj).__name__}", path)
    entries: list[FrameEntry] = []
    for i, rec in enumerate(obj):
        loc = f"record[{i}]"
        hint = None
        if isinstance(rec, dict) and "bbox" not in rec and "image_size" not in rec and isinstance(rec.get("image"), str):
            # A box derived from center/scale + joints is clipped to the image: read its header.
            hint = image_size(images_dir / safe_relpath(rec["image"], "image", path, loc))
        label = record_to_label(rec, path, i, hint)
        image = safe_relpath(rec["image"], "image", path, loc)
        image_rel = safe_relpath(image_ids.get(image, image), f"image_ids[{image}]", path, loc)
        default_json = Path(image_rel).with_suffix(".json").as_posix()
        label_file = safe_relpath(rec.get("label_file") or default_json, "label_file", path, loc)
        entries.append(FrameEntry(label_file, image_rel, label, images_dir / image, (path, loc)))
    return entries
