"""Convert manual labels between LabelMe folders, MPII JSON (mmpose) and COCO keypoints JSON.

``convert(src, dst, to)`` auto-detects the source from its content:

* a folder (or one file with ``shapes``): LabelMe, read with
  :func:`fdpose.annotations.dataset.load_labelme_folder`;
* a JSON list of records with ``joints``: MPII (:mod:`fdpose.annotations.mpii`);
* a JSON object with ``images`` and ``annotations``: COCO (:mod:`fdpose.annotations.coco`).

Outputs and where images go:

* ``--to mpii``: ``dst`` is the JSON file; images are hard-linked (copied across file systems)
  into ``dst.parent/images/000001.<ext>``... because mmpose needs numeric names, and
  ``dst.parent/image_ids.json`` maps them back to the original relative paths. An mmpose
  config uses ``data_root=dst.parent, ann_file=dst.name, data_prefix=dict(img='images/')``.
  Every image must exist (mmpose trains on them).
* ``--to coco``: ``dst`` is the JSON file; ``file_name`` is the image path relative to the
  image root (the LabelMe folder, or ``--images``); images are not copied; image sizes come from
  ``imageWidth/imageHeight`` or the image header.
* ``--to labelme``: ``dst`` is a folder; each label is written at its original relative path
  (kept in the MPII/COCO files) and its image is linked to its original relative path inside
  ``dst`` when the source image is found, so ``dst`` is a self-contained LabelMe folder.

Image roots for reading: LabelMe uses each file's ``imagePath`` (or ``--images/<sequence>/<name>``);
MPII uses ``--images`` or ``<json folder>/images`` (else the JSON's folder); COCO uses
``--images`` or the JSON's folder.

MPII and COCO keep only the protocol's box and 16 joints: other LabelMe shapes are dropped
with a warning (counted in the report). Existing outputs are never replaced without
``overwrite``. Every problem is one :class:`~fdpose.errors.FdposeError` naming the file and
record, raised before anything is written.
"""

from __future__ import annotations

import copy
import enum
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from fdpose.errors import ConfigError, InputError, ValidationError
from fdpose.io import read_json, remove_stale_temps, write_json
from fdpose.progress import progress as progress_bar
from fdpose.annotations import coco as coco_fmt
from fdpose.annotations import mpii as mpii_fmt
from fdpose.annotations.dataset import load_labelme_folder
from fdpose.annotations.interchange import FrameEntry, fill_image_size, image_size, place_image
from fdpose.annotations.labelme import write_labelme
from fdpose.annotations.protocol import label_to_doc

log = logging.getLogger(__name__)

#: Folder (next to the MPII JSON) that receives the numerically renamed images.
MPII_IMAGE_DIR = "images"


class Format(str, enum.Enum):
    """Annotation formats ``convert`` reads and writes."""

    LABELME = "labelme"
    MPII = "mpii"
    COCO = "coco"


@dataclass
class ConvertReport:
    """What a conversion did (printed by the CLI, ``--json`` gives :meth:`to_dict`)."""

    source: str
    source_format: str
    target: str
    target_format: str
    frames: int = 0
    outputs: list[str] = field(default_factory=list)
    images_placed: int = 0
    images_missing: list[str] = field(default_factory=list)
    dropped_shapes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_format": self.source_format,
            "target": self.target,
            "target_format": self.target_format,
            "frames": self.frames,
            "outputs": list(self.outputs),
            "images_placed": self.images_placed,
            "images_missing": list(self.images_missing),
            "dropped_shapes": dict(self.dropped_shapes),
            "warnings": list(self.warnings),
        }


def detect_format(src: str | os.PathLike[str]) -> tuple[Format, Any]:
    """``(format, parsed JSON or None)`` of ``src`` from its content (a folder is LabelMe)."""
    p = Path(src)
    if p.is_dir():
        return Format.LABELME, None
    if not p.is_file():
        raise InputError("no such file or directory", p)
    obj = read_json(p)
    if isinstance(obj, list) and all(isinstance(r, dict) and "joints" in r for r in obj[:1]):
        if not obj:
            raise InputError("empty JSON list: no MPII records to convert", p)
        return Format.MPII, obj
    if isinstance(obj, dict) and "images" in obj and "annotations" in obj:
        return Format.COCO, obj
    if isinstance(obj, dict) and "shapes" in obj:
        return Format.LABELME, None
    raise InputError(
        "unknown annotation format: expected a LabelMe folder or file, an MPII record list "
        "(records with 'joints') or a COCO keypoints file ('images' + 'annotations')",
        p,
    )


def labelme_entries(
    src: Path, images: Optional[Path], progress: bool = False
) -> tuple[list[FrameEntry], Counter[str], int]:
    """Entries of a LabelMe folder (or file), the count of non-protocol shapes per label, and the
    number of images outside the image root (their ``image_rel`` follows the label layout)."""
    dropped: Counter[str] = Counter()
    entries: list[FrameEntry] = []
    outside = 0
    for fr in load_labelme_folder(src, strict=True, progress=progress):
        label = copy.copy(fr.label)
        dropped.update(s.label for s in label.extra_shapes)
        outside += fr.image_outside_root(images)
        entry = FrameEntry(fr.rel_json, fr.image_rel(images), label, fr.image_file(images), (fr.json_path, None))
        entries.append(entry)
    return entries, dropped, outside


def read_entries(
    src: Path, images: Optional[Path] = None, progress: bool = False, report: Optional[ConvertReport] = None
) -> tuple[Format, list[FrameEntry], Counter[str]]:
    """Detect and read ``src`` into entries (with non-protocol shape counts for LabelMe)."""
    fmt, obj = detect_format(src)
    if fmt is Format.LABELME:
        entries, dropped, outside = labelme_entries(src, images, progress)
        if outside and report is not None:
            report.warn(
                f"{outside} image(s) lie outside {images or src}; their relative path follows the label layout "
                "(<sequence>/<image name>): pass --images with the folder that holds that layout"
            )
        return fmt, entries, dropped
    if fmt is Format.MPII:
        default_dir = src.parent / MPII_IMAGE_DIR
        img_dir = images if images is not None else (default_dir if default_dir.is_dir() else src.parent)
        ids_path = src.parent / mpii_fmt.IMAGE_IDS_NAME
        ids = mpii_fmt.parse_image_ids(read_json(ids_path), ids_path) if ids_path.is_file() else {}
        return fmt, mpii_fmt.mpii_to_entries(obj, src, img_dir, ids), Counter()
    root = images if images is not None else src.parent
    return fmt, coco_fmt.coco_to_entries(obj, src, root), Counter()


def _check_unique(entries: Iterable[FrameEntry], attr: str) -> None:
    seen: dict[str, FrameEntry] = {}
    for e in entries:
        key = getattr(e, attr)
        if key in seen:
            first = seen[key].origin
            raise e.error(ValidationError, f"{attr} {key!r} is already used by {first[0]}{': ' + first[1] if first[1] else ''}")
        seen[key] = e


def _refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    if overwrite:
        return
    for p in paths:
        if p.exists():
            raise InputError("output exists (use --overwrite to replace it)", p)


def _holds_json(path: Path, value: Any) -> bool:
    """Whether the JSON file ``path`` holds exactly ``value`` (False when it cannot be read)."""
    try:
        return bool(read_json(path) == value)
    except (InputError, ValidationError):
        return False


def _progress(items: list[FrameEntry], enabled: bool, desc: str) -> Iterable[FrameEntry]:
    return progress_bar(items, desc=desc, unit="frame", enabled=enabled)


def write_labelme_folder(
    entries: list[FrameEntry], dst: Path, report: ConvertReport, overwrite: bool = False, progress: bool = False
) -> None:
    """Write each entry as ``dst/label_file`` and link its image to ``dst/image_rel`` (when found)."""
    _check_unique(entries, "label_file")
    targets = [dst / e.label_file for e in entries]
    _refuse_existing(targets, overwrite)
    for e, json_path in zip(_progress(entries, progress, "writing LabelMe"), targets):
        img_target = dst / e.image_rel
        if e.image_source is not None and e.image_source.is_file():
            fill_image_size(e)
            report.images_placed += int(place_image(e.image_source, img_target, overwrite))
        elif not img_target.is_file():
            report.images_missing.append(e.image_rel)
        elif e.label.image_width is None:
            size = image_size(img_target)
            if size is not None:
                e.label.image_width, e.label.image_height = size
        label = copy.copy(e.label)
        label.image_path = Path(os.path.relpath(img_target, json_path.parent)).as_posix()
        label.json_path = json_path
        write_labelme(label_to_doc(label), json_path)
        report.outputs.append(str(json_path))
    if report.images_missing:
        report.warn(
            f"{len(report.images_missing)} image(s) not found (imagePath written anyway; pass --images): "
            + ", ".join(report.images_missing[:3])
            + (" ..." if len(report.images_missing) > 3 else "")
        )


def write_mpii_file(
    entries: list[FrameEntry], dst: Path, report: ConvertReport, overwrite: bool = False, progress: bool = False
) -> None:
    """Write the MPII JSON, ``image_ids.json`` and the numerically named images next to it."""
    for e in entries:
        if e.image_source is None or not e.image_source.is_file():
            raise e.error(InputError, f"image not found: {e.image_source} (MPII export needs every image; use --images)")
        fill_image_size(e)
    records, ids = mpii_fmt.entries_to_mpii(entries)  # validates every record before writing
    ids_path = dst.parent / mpii_fmt.IMAGE_IDS_NAME
    img_dir = dst.parent / MPII_IMAGE_DIR
    # image_ids.json is written just before the MPII JSON: found alone with exactly the mapping this
    # conversion makes, it is what a run killed between the two writes left, and a rerun completes it
    # (kill at any moment, rerun, same files); any other image_ids.json belongs to another conversion
    ours = ids_path.is_file() and not dst.exists() and _holds_json(ids_path, ids)
    _refuse_existing([dst] if ours else [dst, ids_path], overwrite)
    for e, rec in zip(_progress(entries, progress, "linking images"), records):
        assert e.image_source is not None
        report.images_placed += int(place_image(e.image_source, img_dir / rec["image"], overwrite))
    write_json(ids_path, ids)
    write_json(dst, records, indent=None)
    report.outputs += [str(dst), str(ids_path), str(img_dir)]


def write_coco_file(entries: list[FrameEntry], dst: Path, report: ConvertReport, overwrite: bool = False) -> None:
    """Write the COCO keypoints JSON (image sizes from the labels or the image headers)."""
    for e in entries:
        fill_image_size(e)
    obj = coco_fmt.entries_to_coco(entries)
    _refuse_existing([dst], overwrite)
    write_json(dst, obj, indent=None)
    report.outputs.append(str(dst))


def _remove_killed_writes(dst: Path, target: Format) -> None:
    """Temp files a killed conversion left beside its outputs (their writer's pid is gone): a rerun ends clean."""
    if target is Format.LABELME:
        remove_stale_temps(dst)
        return
    remove_stale_temps(dst.parent, recursive=False, prefix=f".{dst.name}.")
    if target is Format.MPII:
        remove_stale_temps(dst.parent, recursive=False, prefix=f".{mpii_fmt.IMAGE_IDS_NAME}.")
        remove_stale_temps(dst.parent / MPII_IMAGE_DIR)


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    to: Format | str,
    images: Optional[str | os.PathLike[str]] = None,
    overwrite: bool = False,
    progress: bool = False,
) -> ConvertReport:
    """Convert ``src`` (auto-detected) to format ``to`` at ``dst`` (see the module docstring)."""
    src_p, dst_p = Path(src), Path(dst)
    target = Format(to)
    images_p = Path(images) if images is not None else None
    if images_p is not None and not images_p.is_dir():
        raise InputError("--images is not a folder", images_p)
    report = ConvertReport(str(src_p), "", str(dst_p), target.value)
    fmt, entries, dropped = read_entries(src_p, images_p, progress, report)
    if fmt is target:
        raise ConfigError(f"{src_p} is already {fmt.value}; choose another --to")
    report.source_format, report.frames = fmt.value, len(entries)
    if not entries:
        raise InputError(f"no labelled frames found in {fmt.value} source", src_p)
    if target is not Format.LABELME and dropped:
        report.dropped_shapes = dict(sorted(dropped.items()))
        report.warn(
            f"{sum(dropped.values())} non-protocol shape(s) dropped ({target.value} keeps only the diver box "
            f"and the 16 joints): " + ", ".join(f"{k} x{v}" for k, v in report.dropped_shapes.items())
        )
    if target is not Format.LABELME and dst_p.is_dir():  # before the MPII images are placed beside it
        raise InputError(f"{target.value.upper()} output is a JSON file, not a folder", dst_p)
    _remove_killed_writes(dst_p, target)
    if target is Format.LABELME:
        if dst_p.exists() and not dst_p.is_dir():
            raise InputError("LabelMe output must be a folder", dst_p)
        write_labelme_folder(entries, dst_p, report, overwrite, progress)
    elif target is Format.MPII:
        write_mpii_file(entries, dst_p, report, overwrite, progress)
    else:
        write_coco_file(entries, dst_p, report, overwrite)
    log.info("converted %d frame(s) %s -> %s", report.frames, fmt.value, target.value)
    return report
