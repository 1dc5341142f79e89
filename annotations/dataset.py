"""Read a folder of LabelMe files into labelled frames with stable ids.

This is the one "read a labelled folder" function every stage uses (conversion, review,
HRNet fine-tuning). The rules:

* The folder is searched recursively for ``*.json`` files; hidden files (``.name``) and
  fdpose's own side files (:data:`SIDE_FILE_NAMES`, e.g. the review report) are skipped.
* Files are sorted by their path relative to the root, so the order (and every numbering
  derived from it, e.g. the MPII export's ``000001.jpg``) is stable across machines.
* ``sequence`` is the JSON's parent folder relative to the root (posix, ``""`` for files in
  the root itself); ``frame`` is the JSON's stem; ``id`` is ``sequence/frame`` (or ``frame``).
  The id is therefore the label file's relative path without ``.json``: unique and stable.
* Every file must be a valid LabelMe document following the protocol
  (:func:`fdpose.annotations.protocol.doc_to_label`, strict); the first bad file raises one
  :class:`~fdpose.errors.FdposeError` naming it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable, Optional

from fdpose.errors import InputError
from fdpose.progress import progress as progress_bar
from fdpose.annotations.labelme import LabelmeDoc, read_labelme
from fdpose.annotations.protocol import ManualLabel, doc_to_label

log = logging.getLogger(__name__)

#: File names fdpose writes into label folders that are not LabelMe documents.
REVIEW_REPORT_NAME = "review_report.json"
SIDE_FILE_NAMES: frozenset[str] = frozenset({REVIEW_REPORT_NAME})


@dataclass
class LabelledFrame:
    """One LabelMe file of a labelled folder.

    root: the folder the set was read from; json_path: the file (absolute or as given);
    sequence: parent folder relative to ``root`` (posix, "" at the root); frame: the file stem;
    label: the protocol's box and joints; doc: the full LabelMe document (kept so writers can
    preserve image data, flags and unknown keys).
    """

    root: Path
    json_path: Path
    sequence: str
    frame: str
    label: ManualLabel
    doc: LabelmeDoc

    @property
    def id(self) -> str:
        """``sequence/frame`` (``frame`` alone at the root): the label file's relative path without suffix."""
        return f"{self.sequence}/{self.frame}" if self.sequence else self.frame

    @property
    def rel_json(self) -> str:
        """The label file's path relative to the root (posix)."""
        return f"{self.id}.json"

    def image_file(self, images_root: Optional[Path] = None) -> Optional[Path]:
        """Where the frame's image is.

        Without ``images_root``: ``imagePath`` resolved against the JSON's folder (labelme's rule).
        With it: ``images_root / sequence / basename(imagePath)`` (labels kept apart from a copy of
        the image tree with the same layout).
        """
        if not self.label.image_path:
            return None
        if images_root is None:
            return self.doc.image_file()
        return Path(images_root) / self.sequence / image_basename(self.label.image_path)

    def image_rel(self, images_root: Optional[Path] = None) -> str:
        """The image's path relative to the image root (``images_root`` or the label root), posix.

        When the image lies outside that root (``imagePath`` with ``..``), the folder layout of the
        labels is used instead: ``sequence/basename(imagePath)``.
        """
        name = image_basename(self.label.image_path) or f"{self.frame}.jpg"
        fallback = str(PurePosixPath(self.sequence, name)) if self.sequence else name
        rel = self._image_rel_inside(images_root)
        return fallback if rel is None else rel

    def image_outside_root(self, images_root: Optional[Path] = None) -> bool:
        """True when the image lies outside the image root (:meth:`image_rel` then uses the label layout)."""
        return bool(self.label.image_path) and self._image_rel_inside(images_root) is None

    def _image_rel_inside(self, images_root: Optional[Path]) -> Optional[str]:
        img = self.image_file(images_root)
        if img is None:
            return None
        base = Path(images_root) if images_root is not None else self.root
        rel = os.path.relpath(os.path.normpath(os.path.abspath(img)), os.path.abspath(base))
        rel_posix = PurePosixPath(Path(rel).as_posix())
        return None if rel_posix.parts and rel_posix.parts[0] == ".." else str(rel_posix)


def image_basename(image_path: str) -> str:
    """File name of a LabelMe ``imagePath`` (Windows separators accepted)."""
    return PureWindowsPath(image_path).name if "\\" in image_path else PurePosixPath(image_path).name


def find_label_files(root: str | os.PathLike[str]) -> list[Path]:
    """All LabelMe JSON files under ``root`` (recursive), sorted by relative posix path.

    A single file is returned as a one-element list. Raises :class:`InputError` when
    ``root`` does not exist.
    """
    r = Path(root)
    if r.is_file():
        return [r]
    if not r.is_dir():
        raise InputError("no such file or directory", r)
    files = [
        p
        for p in r.rglob("*.json")
        if p.is_file()
        and p.name not in SIDE_FILE_NAMES
        and not any(part.startswith(".") for part in p.relative_to(r).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(r).as_posix())


def frame_key(root: Path, json_path: Path) -> tuple[str, str]:
    """``(sequence, frame)`` of a label file under ``root``."""
    rel = PurePosixPath(json_path.relative_to(root).as_posix())
    seq = str(rel.parent)
    return ("" if seq == "." else seq), rel.stem


def load_frame(root: str | os.PathLike[str], json_path: str | os.PathLike[str], strict: bool = True) -> LabelledFrame:
    """Read one label file of the folder ``root`` (errors name the file and shape)."""
    r, p = Path(root), Path(json_path)
    doc = read_labelme(p)
    label = doc_to_label(doc, strict=strict)
    seq, frame = frame_key(r, p)
    return LabelledFrame(r, p, seq, frame, label, doc)


def load_labelme_folder(
    root: str | os.PathLike[str], strict: bool = True, progress: bool = False
) -> list[LabelledFrame]:
    """Every labelled frame under ``root`` (a folder, or one LabelMe file), sorted by id.

    strict: forwarded to :func:`doc_to_label` (duplicate joints / wrong shape types raise).
    progress: show a tqdm bar on stderr (for big folders).
    """
    r = Path(root)
    files = find_label_files(r)
    base = r.parent if r.is_file() else r
    it: Iterable[Path] = files
    if progress:
        it = progress_bar(files, desc=f"reading {r.name}", unit="file")
    frames = [load_frame(base, p, strict) for p in it]
    log.debug("read %d label files from %s", len(frames), r)
    return frames


def frames_by_id(frames: Iterable[LabelledFrame]) -> dict[str, LabelledFrame]:
    """Map id -> frame (ids are unique by construction)."""
    return {f.id: f for f in frames}
