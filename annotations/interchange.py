"""The format-neutral frame every conversion passes around, and the file helpers they share.

A :class:`FrameEntry` is one labelled frame detached from LabelMe: where its label file and
image belong (relative paths that survive a round trip), the protocol label, and where the
image file currently is. Readers (LabelMe folder, MPII JSON, COCO JSON) produce entries;
writers consume them.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from fdpose.errors import InputError, ValidationError
from fdpose.annotations.protocol import ManualLabel

log = logging.getLogger(__name__)


@dataclass
class FrameEntry:
    """One labelled frame in transit between formats.

    label_file: the LabelMe JSON's path relative to the label root (posix, e.g. ``"seq/00001.json"``).
    image_rel: the image's path relative to the image root (posix, e.g. ``"seq/00001.jpg"``).
    label: box and 16 joints (``label.image_width/height`` hold the image size when known).
    image_source: where the image file is now (None or a missing path when unknown).
    origin: ``(path, location)`` of the record it came from, for error messages.
    """

    label_file: str
    image_rel: str
    label: ManualLabel
    image_source: Optional[Path]
    origin: tuple[Path, Optional[str]]

    def error(self, cls: type[InputError] | type[ValidationError], message: str) -> InputError | ValidationError:
        """An error of ``cls`` located at this entry's origin."""
        return cls(message, self.origin[0], self.origin[1])


def safe_relpath(value: Any, what: str, path: Path, location: str) -> str:
    """Validate a relative posix path read from an annotation file (no absolute path, no ``..``).

    Output folders are built from these values, so a hostile or broken file must not be able to
    write outside them.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string, got {value!r:.60}", path, location)
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise ValidationError(f"{what} must be a relative path inside the dataset, got {value!r:.80}", path, location)
    return str(p)


def image_size(path: Path) -> Optional[tuple[int, int]]:
    """``(width, height)`` from the image header, or None when the file is missing or unreadable."""
    if not path.is_file():
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return int(im.width), int(im.height)
    except (OSError, UnidentifiedImageError):
        return None


def place_image(src: Path, dst: Path, overwrite: bool) -> bool:
    """Put ``src`` at ``dst`` as a hard link (copy when linking is impossible).

    Returns False when ``dst`` already is that file. An existing different ``dst`` raises
    :class:`InputError` unless ``overwrite``.
    """
    if dst.exists():
        if os.path.samefile(src, dst):
            return False
        if not overwrite:
            raise InputError("output image exists (use --overwrite to replace it)", dst)
        dst.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        # Different file systems or no hard-link support: copy through a temp name so a crash
        # never leaves a truncated image under the final name.
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")  # the pid lets a rerun remove a killed copy's file
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    return True


def fill_image_size(entry: FrameEntry) -> None:
    """Set ``entry.label.image_width/height`` from the image header when they are unknown."""
    if entry.label.image_width is not None and entry.label.image_height is not None:
        return
    if entry.image_source is None:
        return
    size = image_size(entry.image_source)
    if size is not None:
        entry.label.image_width, entry.label.image_height = size
