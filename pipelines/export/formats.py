"""The optional output formats of ``fdpose export``, written next to the manifest.

* ``hpmcore``: ``DATASET/Pose/{match}/pred_comp_{idx}.npz`` (key ``pred``, (96, 16, 3) float32,
  the merged joints), the tree the HP-MCoRe loader (:mod:`fdpose.aqa_model.data.finediving`) reads.
* ``mpii`` / ``coco``: every manually labelled frame of the exported clips (not only the 96
  sampled ones), one file per FineDiving split so pose models train on train clips only:
  ``DATASET/mpii/{split}/annotations.json`` (+ ``images/`` and ``image_ids.json``, the
  mmpose layout) and ``DATASET/coco/{split}.json``. Written by the converters of
  :mod:`fdpose.annotations.convert`; COCO ``file_name`` is relative to the frame tree
  (``{match}/{idx}/{frame}.jpg``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from fdpose.annotations.convert import ConvertReport, labelme_entries, write_coco_file, write_mpii_file
from fdpose.annotations.interchange import FrameEntry
from fdpose.errors import InputError
from fdpose.finediving import Key
from fdpose.sampling import pred_comp_path, write_pred_comp

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("fdpose", "hpmcore", "mpii", "coco")
#: Output folder of each optional format inside the dataset.
FORMAT_DIRS: dict[str, str] = {"fdpose": "clips", "hpmcore": "Pose", "mpii": "mpii", "coco": "coco"}


def write_hpmcore(out: Path, key: Key, keypoints: np.ndarray) -> Path:
    """Write one clip's merged (n, 16, 3) joints where the HP-MCoRe loader looks."""
    return write_pred_comp(pred_comp_path(out / FORMAT_DIRS["hpmcore"], key[0], key[1]), keypoints,
                           n=keypoints.shape[0])


def entries_by_split(roots: Iterable[str | os.PathLike[str]], split_of: dict[Key, str],
                     progress: bool = False) -> dict[str, list[FrameEntry]]:
    """The labelled frames of the exported clips (``split_of``: key -> split), grouped by split."""
    out: dict[str, list[FrameEntry]] = {}
    for root in roots:
        entries, _, _ = labelme_entries(Path(root), None, progress)
        for e in entries:
            match, idx = e.label_file.split("/")[:2]
            split = split_of.get((match, int(idx)))
            if split is not None:
                out.setdefault(split, []).append(e)
    return out


def write_manual_format(fmt: str, out: Path, entries: dict[str, list[FrameEntry]], overwrite: bool,
                        progress: bool = False) -> dict[str, int]:
    """Write the MPII or COCO files of ``entries`` (per split); returns labelled frames per split."""
    if not any(entries.values()):
        raise InputError(f"no manually labelled frame belongs to an exported clip: nothing to write for "
                         f"--format {fmt}", out)
    counts: dict[str, int] = {}
    for split, items in sorted(entries.items()):
        if fmt == "mpii":
            dst = out / FORMAT_DIRS["mpii"] / split / "annotations.json"
            report = ConvertReport("labelme", "labelme", str(dst), "mpii")
            write_mpii_file(items, dst, report, overwrite=overwrite, progress=progress)
        elif fmt == "coco":
            dst = out / FORMAT_DIRS["coco"] / f"{split}.json"
            report = ConvertReport("labelme", "labelme", str(dst), "coco")
            write_coco_file(items, dst, report, overwrite=overwrite)
        else:
            raise ValueError(f"not a manual-label format: {fmt}")
        counts[split] = len(items)
        log.info("%s: %d labelled frame(s) of the %s split -> %s", fmt, len(items), split, dst)
    return counts
