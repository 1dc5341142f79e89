"""COCO keypoints JSON (MPII 16 joints) <-> protocol labels.

Layout written: ``images`` (``id``, ``file_name`` = image path relative to the image root,
``width``, ``height``, plus ``fdpose_label_file`` = the LabelMe JSON's relative path),
``annotations`` (one per image: ``keypoints`` 16 x (x, y, v), ``num_keypoints``, ``bbox`` xywh,
``area``, ``iscrowd`` 0, ``category_id`` 1, ``image_id``, plus ``fdpose_box``: false when the
frame had no diver box and ``bbox`` is only the joints' extent), ``categories`` (one
``person`` category with ``keypoints`` = :data:`fdpose.skeleton.JOINT_NAMES` and ``skeleton`` =
1-based :data:`fdpose.skeleton.BONES`).

Visibility v: 0 absent (written as ``(0, 0, 0)``), 1 occluded, 2 visible; the same numbers as
the protocol, so conversion is the identity. Coordinates are written as full-precision floats.

OKS sigmas (:data:`MPII_SIGMAS`) for keypoint evaluation: COCO's per-joint constants
(Ronchi & Perona, measured inter-annotator spread) carried over by anatomical analogue:
ankles 0.089, knees 0.087, hips 0.107, wrists 0.062, elbows 0.072, shoulders 0.079 as in COCO;
pelvis 0.107 (a hip-level landmark placed as loosely as the hips), thorax and upper_neck 0.079
(shoulder-level landmarks), head_top 0.035 (a point on the head outline, like COCO's ears).
mmpose's ``mpii.py`` metainfo uses 0.026 for the four centre-line joints and 0.179 for the
shoulders; we do not copy those: they are not consistent with COCO's measurements.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from fdpose.errors import ValidationError
from fdpose.records import Boxes
from fdpose.skeleton import BONES, JOINT_NAMES, NUM_JOINTS
from fdpose.annotations.interchange import FrameEntry, safe_relpath
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE, ManualLabel

log = logging.getLogger(__name__)

CATEGORY_ID = 1

#: OKS sigmas in MPII order (see the module docstring for where each comes from).
MPII_SIGMAS: tuple[float, ...] = (
    0.089, 0.087, 0.107, 0.107, 0.087, 0.089,  # ankles, knees, hips (COCO)
    0.107, 0.079, 0.079, 0.035,  # pelvis, thorax, upper_neck, head_top
    0.062, 0.072, 0.079, 0.079, 0.072, 0.062,  # wrists, elbows, shoulders (COCO)
)
assert len(MPII_SIGMAS) == NUM_JOINTS

#: mmpose's long joint names (its MPII metainfo), accepted on input as equivalent to ours.
MMPOSE_NAMES: tuple[str, ...] = tuple(
    n.replace("r_", "right_", 1) if n.startswith("r_") else n.replace("l_", "left_", 1) if n.startswith("l_") else n
    for n in JOINT_NAMES
)


def category() -> dict[str, Any]:
    """The one COCO category: a person with the MPII 16 keypoints and 1-based bone pairs."""
    return {
        "id": CATEGORY_ID,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(JOINT_NAMES),
        "skeleton": [[a + 1, b + 1] for a, b in BONES],
    }


def _annotation_box(label: ManualLabel) -> tuple[list[float], bool]:
    """(xywh, drawn): the diver box, else the joints' extent, else the whole image, else zeros."""
    if label.box is not None:
        x1, y1, x2, y2 = (float(v) for v in label.box.xyxy[0])
        return [x1, y1, x2 - x1, y2 - y1], True
    pts = label.xy[label.present]
    if len(pts):
        lo, hi = pts.min(0), pts.max(0)
        return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])], False
    if label.image_width and label.image_height:
        return [0.0, 0.0, float(label.image_width), float(label.image_height)], False
    return [0.0, 0.0, 0.0, 0.0], False


def entries_to_coco(entries: list[FrameEntry], description: str = "") -> dict[str, Any]:
    """A COCO keypoints dataset: one image and one annotation per entry (ids 1..N in entry order).

    Every entry must know its image size (``label.image_width/height``).
    """
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for i, e in enumerate(entries, start=1):
        lab = e.label
        if not (lab.image_width and lab.image_height):
            raise e.error(ValidationError, "image size unknown (no imageWidth/imageHeight and no readable image; use --images)")
        images.append(
            {
                "id": i,
                "file_name": e.image_rel,
                "width": int(lab.image_width),
                "height": int(lab.image_height),
                "fdpose_label_file": e.label_file,
            }
        )
        kps: list[float] = []
        for j in range(NUM_JOINTS):
            v = int(lab.visibility[j])
            kps += [0.0, 0.0, 0] if v == VIS_ABSENT else [float(lab.xy[j, 0]), float(lab.xy[j, 1]), v]
        xywh, drawn = _annotation_box(lab)
        anns.append(
            {
                "id": i,
                "image_id": i,
                "category_id": CATEGORY_ID,
                "keypoints": kps,
                "num_keypoints": int((lab.visibility > VIS_ABSENT).sum()),
                "bbox": xywh,
                "area": float(xywh[2] * xywh[3]),
                "iscrowd": 0,
                "fdpose_box": drawn,
            }
        )
    return {
        "info": {"description": description or "FineDiving-Pose manual labels (fdpose)", "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [category()],
        "fdpose_oks_sigmas": list(MPII_SIGMAS),
    }


def _finite_numbers(values: Any, n: Optional[int] = None) -> bool:
    return (
        isinstance(values, list)
        and (n is None or len(values) == n)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    )


def _check_category(obj: dict[str, Any], path: Path) -> int:
    cats = obj.get("categories")
    if not isinstance(cats, list) or not cats:
        raise ValidationError("missing or empty 'categories'", path)
    for k, cat in enumerate(cats):
        if not isinstance(cat, dict):
            raise ValidationError("category must be an object", path, f"categories[{k}]")
        names = cat.get("keypoints")
        if isinstance(names, list) and len(names) == NUM_JOINTS:
            if list(names) not in (list(JOINT_NAMES), list(MMPOSE_NAMES)):
                log.warning("%s: category %r keypoint names differ from MPII's; reading them in MPII order", path, cat.get("name"))
            return int(cat.get("id", CATEGORY_ID))
    raise ValidationError(f"no category with {NUM_JOINTS} keypoints (not an MPII-16 COCO file)", path)


def _parse_annotation(ann: Any, path: Path, loc: str) -> tuple[int, np.ndarray, np.ndarray, Optional[Boxes]]:
    if not isinstance(ann, dict):
        raise ValidationError("annotation must be an object", path, loc)
    image_id = ann.get("image_id")
    if not isinstance(image_id, int) or isinstance(image_id, bool):
        raise ValidationError(f"image_id must be an integer, got {image_id!r:.40}", path, loc)
    kps = ann.get("keypoints")
    if not _finite_numbers(kps, 3 * NUM_JOINTS):
        raise ValidationError(f"keypoints must be {3 * NUM_JOINTS} finite numbers (16 x [x, y, v])", path, loc)
    arr = np.asarray(kps, dtype=np.float64).reshape(NUM_JOINTS, 3)
    vis = arr[:, 2]
    if not np.all(np.isin(vis, (VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE))):
        raise ValidationError(f"visibility flags must be 0, 1 or 2, got {sorted(set(vis.tolist()))}", path, loc)
    xy = np.where((vis > 0)[:, None], arr[:, :2], np.nan)
    bbox = ann.get("bbox")
    box: Optional[Boxes] = None
    if bbox is not None:
        if not _finite_numbers(bbox, 4):
            raise ValidationError("bbox must be [x, y, w, h] numbers", path, loc)
        x, y, w, h = (float(v) for v in bbox)
        if ann.get("fdpose_box", True):
            box = Boxes.from_rows(np.array([x, y, x + w, y + h]))
    return image_id, xy, vis.astype(np.int8), box


def coco_to_entries(obj: Any, path: Path, images_root: Optional[Path]) -> list[FrameEntry]:
    """Entries (one per image with an annotation, in image order) from a parsed COCO dict.

    images_root: where ``file_name`` resolves (``image_source``); None leaves sources unknown.
    An image with several person annotations keeps the one with most keypoints (warning).
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("images"), list) or not isinstance(obj.get("annotations"), list):
        raise ValidationError("a COCO file needs 'images' and 'annotations' lists", path)
    cat_id = _check_category(obj, path)
    images: dict[int, tuple[int, dict[str, Any]]] = {}
    for k, img in enumerate(obj["images"]):
        loc = f"images[{k}]"
        if not isinstance(img, dict) or not isinstance(img.get("id"), int):
            raise ValidationError("image must be an object with an integer id", path, loc)
        if img["id"] in images:
            raise ValidationError(f"duplicate image id {img['id']}", path, loc)
        images[img["id"]] = (k, img)
    chosen: dict[int, tuple[int, np.ndarray, np.ndarray, Optional[Boxes]]] = {}
    for k, ann in enumerate(obj["annotations"]):
        loc = f"annotations[{k}]"
        if isinstance(ann, dict) and ann.get("category_id", cat_id) != cat_id:
            continue
        image_id, xy, vis, box = _parse_annotation(ann, path, loc)
        if image_id not in images:
            raise ValidationError(f"image_id {image_id} is not in 'images'", path, loc)
        if image_id in chosen:
            log.warning("%s: image %d has several person annotations; keeping the one with most keypoints", path, image_id)
            if (chosen[image_id][2] > 0).sum() >= (vis > 0).sum():
                continue
        chosen[image_id] = (k, xy, vis, box)
    entries: list[FrameEntry] = []
    for image_id, (k, img) in images.items():
        if image_id not in chosen:
            continue
        ann_index, xy, vis, box = chosen[image_id]
        loc = f"images[{k}]"
        image_rel = safe_relpath(img.get("file_name"), "file_name", path, loc)
        default_json = str(Path(image_rel).with_suffix(".json").as_posix())
        label_file = safe_relpath(img.get("fdpose_label_file", default_json), "fdpose_label_file", path, loc)
        w, h = img.get("width"), img.get("height")
        size_ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (w, h))
        label = ManualLabel(xy, vis, box, "", h if size_ok else None, w if size_ok else None)
        source = images_root / image_rel if images_root is not None else None
        entries.append(FrameEntry(label_file, image_rel, label, source, (path, f"annotations[{ann_index}]")))
    return entries
