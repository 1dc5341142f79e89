"""Manual labels over automatic poses: the per-joint merge behind FineDiving-Pose.

Rules (a dataset maintainer's expectations, stated once):

* A manual label belongs to a sampled frame when its file stem names the same frame as the
  frame's image (``labelme/{match}/{idx}/00012.json`` <-> ``00012.jpg``; numeric stems compare
  as numbers, so ``12.json`` also matches ``00012.jpg``). Video clips (no file names) match
  by 0-based frame position.
* A joint the annotator placed (visibility 1 occluded or 2 visible) replaces the automatic
  joint: provenance ``manual``, confidence 1.0 (the annotator is sure where the joint is even
  when it is hidden; ``manual_visibility`` keeps which it was).
* A joint marked absent (visibility 0) does NOT override: "I cannot place it" is no evidence
  against the pose model, so the automatic value and its provenance stay.
* After the merge, joints still missing get placeholder coordinates from the nearest frame
  where they are known (confidence 0, provenance stays ``missing``): the arrays hold no NaN.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from fdpose.annotations.dataset import load_labelme_folder
from fdpose.annotations.protocol import VIS_ABSENT, ManualLabel
from fdpose.errors import InputError, ValidationError
from fdpose.finediving import Key
from fdpose.pipelines.clip_json import ClipPoses
from fdpose.pipelines.export.dataset import ClipArrays
from fdpose.pipelines.export.schema import SOURCE_CODES, Provenance
from fdpose.pipelines.frames import frame_number
from fdpose.sampling import fill_nonfinite

log = logging.getLogger(__name__)

#: How a frame is named for matching: its integer number, or its stem when not numeric.
FrameName = int | str


@dataclass(frozen=True)
class ManualFrame:
    """One manual label and the file it came from."""

    label: ManualLabel
    path: Path


#: Manual labels per clip key, per frame name.
LabelIndex = dict[Key, dict[FrameName, ManualFrame]]


def frame_name(file_name: str) -> FrameName:
    """``"00012.jpg"`` / ``"00012.json"`` / ``"12"`` -> 12; a non-numeric stem stays a string."""
    num = frame_number(file_name)
    return num if num is not None else Path(file_name).stem


def index_manual_labels(roots: Iterable[str | os.PathLike[str]], known: set[Key],
                        progress: bool = False) -> LabelIndex:
    """Read every LabelMe file under ``roots`` (laid out ``{match}/{idx}/{frame}.json``; a root may
    also be one match's folder ``.../{match}`` or one clip's folder ``.../{match}/{idx}``).

    Raises :class:`InputError` naming the file for a layout that is not ``{match}/{idx}``, a clip
    not in ``known`` (the FineDiving keys), and :class:`ValidationError` when two files label the
    same frame (merge two annotators' folders first with ``fdpose annotate review --merge``).
    """
    index: LabelIndex = {}
    for root in roots:
        for fr in load_labelme_folder(root, strict=True, progress=progress):
            parts = fr.sequence.split("/") if fr.sequence else []
            if len(parts) < 2:
                # A match folder ({idx}/{frame}.json) or one clip's folder ({frame}.json): the
                # missing {match}/{idx} components are the folder's own trailing path components.
                parts = [*Path(os.path.abspath(root)).parts, *parts][-2:]
            if len(parts) != 2 or not parts[1].isdigit():
                raise InputError(f"label file not laid out as {{match}}/{{idx}}/{{frame}}.json under {root} "
                                 f"(sequence {fr.sequence or '.'!r})", fr.json_path)
            key: Key = (parts[0], int(parts[1]))
            if key not in known:
                raise InputError(f"unknown key: clip {key[0]}/{key[1]} is not in the FineDiving annotations",
                                 fr.json_path)
            frames = index.setdefault(key, {})
            name = frame_name(fr.frame)
            if name in frames:
                raise ValidationError(f"frame labelled twice (also in {frames[name].path}); merge the label "
                                      "folders first (fdpose annotate review A B --merge OUT)", fr.json_path)
            frames[name] = ManualFrame(fr.label, fr.json_path)
    log.info("manual labels: %d frame(s) in %d clip(s)", sum(len(v) for v in index.values()), len(index))
    return index


def sampled_frame_names(clip: ClipPoses) -> list[FrameName]:
    """The matching name of each sampled frame (file name for frame trees, position for videos)."""
    if clip.file_names is None:
        return [int(t) for t in clip.sampled_indices]
    return [frame_name(clip.file_names[int(t)]) for t in clip.sampled_indices]


def _codes(sources: np.ndarray, where: str) -> np.ndarray:
    out = np.empty(sources.shape, dtype=np.uint8)
    for (t, j), s in np.ndenumerate(sources):
        code = SOURCE_CODES.get(str(s))
        if code is None:
            raise ValidationError(f"{where}: unknown joint_source {s!r} at sampled frame {t}, joint {j}")
        out[t, j] = code
    return out


def merge_clip(clip: ClipPoses, labels: Optional[dict[FrameName, ManualFrame]] = None) -> tuple[ClipArrays, int]:
    """The clip's sampled frames with manual joints merged in.

    Returns the arrays (n = len(clip.sampled_indices) frames) and the number of sampled frames
    (distinct source frames) that had a manual label.
    """
    idx = np.asarray(clip.sampled_indices, dtype=np.int64)
    auto = np.asarray(clip.keypoints[idx], dtype=np.float64)  # (n, 16, 3), NaN x, y where missing
    auto_prov = _codes(np.asarray(clip.joint_source[idx]), f"clip {clip.clip_id}")
    # A joint without coordinates is missing whatever the JSON says (the clip schema enforces it too).
    auto_prov[~np.isfinite(auto[..., :2]).all(-1)] = Provenance.MISSING
    merged = auto.copy()
    prov = auto_prov.copy()
    manual_vis = np.zeros(prov.shape, dtype=np.int8)
    names = sampled_frame_names(clip)
    labelled: set[int] = set()
    for t, name in enumerate(names):
        mf = (labels or {}).get(name)
        if mf is None:
            continue
        vis = np.asarray(mf.label.visibility, dtype=np.int8)
        placed = (vis > VIS_ABSENT) & np.isfinite(mf.label.xy).all(-1)
        merged[t, placed, :2] = mf.label.xy[placed]
        merged[t, placed, 2] = 1.0
        prov[t, placed] = Provenance.MANUAL
        manual_vis[t] = np.where(placed, vis, 0)
        labelled.add(int(idx[t]))
    numbers = np.array([n if isinstance(n, int) and clip.file_names is not None else -1 for n in names],
                       dtype=np.int64)
    arrays = ClipArrays(
        keypoints=fill_nonfinite(merged).astype(np.float32),
        provenance=prov,
        frame_indices=idx.copy(),
        frame_numbers=numbers,
        manual_visibility=manual_vis,
        auto_keypoints=fill_nonfinite(auto).astype(np.float32),
        auto_provenance=auto_prov,
    )
    return arrays, len(labelled)
