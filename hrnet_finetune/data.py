"""LabelMe folders -> the two MPII files mmpose trains and validates on, split by clip.

Frames are read with :func:`fdpose.annotations.dataset.load_labelme_folder` and exported with
:func:`fdpose.annotations.convert.write_mpii_file` (numbered images hard-linked next to the
JSON, ``image_ids.json`` mapping them back); nothing here parses LabelMe or MPII itself.

A clip is one sequence folder of one LabelMe root (``{match}/{idx}`` in FineDiving and in the
synthetic world). Neighbouring frames of a clip are near duplicates, so the split assigns whole
clips: a frame split would put near copies of the validation frames into training and inflate
the accuracy used to pick the best checkpoint.
"""

from __future__ import annotations

import copy
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fdpose.digest import content_digest
from fdpose.errors import ConfigError, InputError
from fdpose.io import write_json
from fdpose.video import image_size, jpeg_is_truncated
from fdpose.annotations.convert import ConvertReport, write_mpii_file
from fdpose.annotations.dataset import LabelledFrame, load_labelme_folder
from fdpose.annotations.interchange import FrameEntry

log = logging.getLogger(__name__)

#: Layout inside WORK_DIR/data: one folder per split with mpii.json, image_ids.json, images/.
SPLITS = ("train", "val")
MPII_NAME = "mpii.json"
SPLIT_NAME = "split.json"


@dataclass(frozen=True)
class Clip:
    """One clip: the index of its LabelMe root among the inputs and its sequence folder."""

    root_index: int
    sequence: str

    @property
    def key(self) -> str:
        """``"<root index>:<sequence>"``: unique across several roots with equal sequence names."""
        return f"{self.root_index}:{self.sequence}"


@dataclass
class ClipSplit:
    """Frames of each side of the split and the clips they come from (sorted keys)."""

    train: list[LabelledFrame]
    val: list[LabelledFrame]
    train_clips: list[str]
    val_clips: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "train": {"frames": len(self.train), "clips": self.train_clips},
            "val": {"frames": len(self.val), "clips": self.val_clips},
        }


def read_folders(dirs: Sequence[Path], progress: bool = False) -> list[list[LabelledFrame]]:
    """The labelled frames of each folder; :class:`InputError` for a folder without any label file."""
    out: list[list[LabelledFrame]] = []
    for d in dirs:
        if not Path(d).exists():
            raise InputError("no such file or directory", d)
        frames = load_labelme_folder(d, strict=True, progress=progress)
        if not frames:
            raise InputError("no LabelMe files (*.json) found", d)
        out.append(frames)
    return out


def thin_frames(frames: Sequence[LabelledFrame], stride: int) -> list[LabelledFrame]:
    """Every ``stride``-th frame of each clip (sequence folder), in the given order; stride 1 keeps all."""
    if stride <= 1:
        return list(frames)
    seen: dict[str, int] = {}
    kept: list[LabelledFrame] = []
    for fr in frames:
        n = seen.get(fr.sequence, 0)
        seen[fr.sequence] = n + 1
        if n % stride == 0:
            kept.append(fr)
    return kept


def clip_of(root_index: int, frame: LabelledFrame) -> Clip:
    return Clip(root_index, frame.sequence)


def split_by_clip(roots: Sequence[Sequence[LabelledFrame]], val_share: float, seed: int = 0) -> ClipSplit:
    """Hold out about ``val_share`` of the clips (at least one, never all) for validation.

    Deterministic for a seed: clips are sorted by key and shuffled with ``default_rng(seed)``.
    Raises :class:`ConfigError` when fewer than two clips exist.
    """
    by_clip: dict[Clip, list[LabelledFrame]] = {}
    for i, frames in enumerate(roots):
        for fr in frames:
            by_clip.setdefault(clip_of(i, fr), []).append(fr)
    clips = sorted(by_clip, key=lambda c: (c.root_index, c.sequence))
    if len(clips) < 2:
        raise ConfigError(
            f"need at least 2 clips (sequence folders) to split by clip, found {len(clips)}: "
            "label more clips or give a validation folder with --val")
    order = np.random.default_rng(seed).permutation(len(clips))
    n_val = min(len(clips) - 1, max(1, round(val_share * len(clips))))
    val_set = {clips[i] for i in order[:n_val]}
    train = [fr for c in clips if c not in val_set for fr in by_clip[c]]
    val = [fr for c in clips if c in val_set for fr in by_clip[c]]
    return ClipSplit(train, val, sorted(c.key for c in clips if c not in val_set), sorted(c.key for c in val_set))


def given_split(train_roots: Sequence[Sequence[LabelledFrame]], val_roots: Sequence[Sequence[LabelledFrame]]) -> ClipSplit:
    """Train on ``train_roots``, validate on ``val_roots`` (``--val DIR``); clip keys of the
    validation roots are numbered after the training roots."""
    n = len(train_roots)
    train = [fr for frames in train_roots for fr in frames]
    val = [fr for frames in val_roots for fr in frames]
    train_clips = sorted({clip_of(i, fr).key for i, frames in enumerate(train_roots) for fr in frames})
    val_clips = sorted({clip_of(n + i, fr).key for i, frames in enumerate(val_roots) for fr in frames})
    return ClipSplit(train, val, train_clips, val_clips)


def frame_entry(frame: LabelledFrame) -> FrameEntry:
    """The conversion entry of a labelled frame (image found through its ``imagePath``)."""
    return FrameEntry(frame.rel_json, frame.image_rel(None), copy.copy(frame.label), frame.image_file(None),
                      (frame.json_path, None))


def _check_image(frame: LabelledFrame) -> None:
    """Refuse, naming the label, a frame image training cannot use as labelled: a truncated JPEG (mmpose's
    loader fails on it mid-epoch with a traceback naming the work dir's copy) or an image of another size
    than the label declares (the points would be trained on another picture). Missing images are the
    MPII writer's error."""
    image = frame.image_file(None)
    if image is None or not image.is_file():
        return
    width, height = image_size(image, frame.id)
    declared = (frame.doc.image_width, frame.doc.image_height)
    # (EXIF-rotated images show swapped axes in labelme; accepted as they are)
    if None not in declared and declared not in ((width, height), (height, width)):
        raise InputError(f"image file {image} is {width}x{height} but the label declares {declared[0]}x{declared[1]} "
                         "(imageWidth x imageHeight): its points belong to another picture", frame.json_path)
    if jpeg_is_truncated(image):
        raise InputError(f"image file {image} is a truncated JPEG (no end-of-image marker); extract the frame "
                         "again (fdpose annotate validate lists every such frame)", frame.json_path)


def split_digest(split: ClipSplit) -> str:
    """sha256 of what a fine-tuning run trains and validates on, wherever the folders lie: per side, each
    frame's label file (relative path), joints, visibilities, box and declared image size, and its image's
    relative name and byte size (hashing every image's bytes would cost as much as reading them again;
    a re-encoded image changes its size). ``--resume`` refuses a run whose digest changed."""
    def side(frames: Sequence[LabelledFrame]) -> list[Any]:
        rows: list[Any] = []
        for f in frames:
            image = f.image_file(None)
            size = image.stat().st_size if image is not None and image.is_file() else None
            lab = f.label
            rows.append([f.rel_json, lab.xy, lab.visibility, lab.box, lab.image_width, lab.image_height,
                         f.image_rel(None), size])
        return rows

    return content_digest({"train": side(split.train), "val": side(split.val),
                           "clips": [split.train_clips, split.val_clips]})


def export_split(frames: Sequence[LabelledFrame], out_dir: Path, progress: bool = False) -> Path:
    """Write ``out_dir/mpii.json`` (+ ``image_ids.json``, ``images/``) for ``frames``; returns the JSON path.

    ``out_dir`` is emptied first (an export is always complete and self-consistent).
    """
    for frame in frames:
        _check_image(frame)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    dst = out_dir / MPII_NAME
    report = ConvertReport("labelme", "labelme", str(dst), "mpii", frames=len(frames))
    write_mpii_file([frame_entry(f) for f in frames], dst, report, overwrite=True, progress=progress)
    return dst


def export_dataset(split: ClipSplit, data_root: Path, progress: bool = False) -> dict[str, Path]:
    """Export both sides of ``split`` under ``data_root/{train,val}`` and record the split in ``split.json``."""
    if not split.train or not split.val:
        raise ConfigError(f"the split left no frames for {'training' if not split.train else 'validation'}")
    paths = {"train": export_split(split.train, data_root / "train", progress),
             "val": export_split(split.val, data_root / "val", progress)}
    write_json(data_root / SPLIT_NAME, split.to_dict())
    log.info("exported %d training frames (%d clips) and %d validation frames (%d clips) to %s",
             len(split.train), len(split.train_clips), len(split.val), len(split.val_clips), data_root)
    return paths
