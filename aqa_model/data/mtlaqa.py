"""MTL-AQA clips for the AQA model (HP-MCoRe paper, Table II): annotations, splits, frames.

Annotation layout read (MTL-AQA's public release, ParitoshParmar/MTL-AQA, and CoRe's copy with
dive numbers, yuxumin/CoRe ``MTL-AQA/info/``):

* ``final_annotations_dict.pkl`` or ``final_annotations_dict_with_dive_number.pkl``: dict
  ``(video_number: int, clip_number: int)`` -> ``{'final_score': float, 'difficulty': float,
  'start_frame': int, 'end_frame': int, 'primary_view', 'position', 'armstand',
  'rotation_type', 'ss_no', 'tw_no': int}``; CoRe's copy adds ``'judge_scores'`` ((7,) float64
  array) and ``'dive_number'`` (str, '407C'). Read through the restricted unpickler
  (:func:`fdpose.io.read_pickle`): the judge-score arrays need only the numpy globals FineDiving
  already needs, so the allowed set is unchanged. Required here: ``final_score``,
  ``difficulty`` (> 0: the DD mode divides by it), ``start_frame``, ``end_frame``; a missing,
  non-numeric or NaN one is a one-line :class:`InputError` naming the file and the key.
* ``train_split_0.pkl`` / ``test_split_0.pkl``: lists of those keys.

Keys become FineDiving-style ``(f"{video:02d}", clip)`` (the two-digit video folder names of
CoRe's frame tree), so every FineDiving tool (exemplar picker, reports, pose files) reads them.

Frames (the FineDiving loader's layout): one folder per trimmed clip,
``{frames_root}/{video:02d}/{clip}/*.jpg`` with numeric names (frames ``start_frame ..
end_frame`` of the video, in order), sampled to ``num_frames`` by the same linspace rule.
CoRe reads instead the untrimmed video's folder ``{root}/{video:02d}/{frame:08d}.jpg`` and
takes the 103 frames ending at ``end_frame``; cut those into the clip folders to use them here.
Poses: ``{poses_root}/{video:02d}/pred_comp_{clip}.npz`` (the pipeline's files; MTL-AQA has
none of its own).

Stages: MTL-AQA has no step labels and no official HP-MCoRe MTL-AQA loader exists (the
HP-MCoRe and MCoRe repositories hold FineDiving loaders only), so :class:`MTLAQADataset` cuts
each clip into ``num_stages`` EQUAL parts and trains the segmentation head on those parts (an
assumption, stated in docs/aqa.md); AIoU is not reported for MTL-AQA (``stage_labels`` False).

Exemplars (CoRe's MTL-AQA loader, ``datasets/MTLPair.py``, which HP-MCoRe's FineDiving loader
copies as ``DD_choosing``): with ``usingDD`` the exemplars share the query's DIFFICULTY
(``dive_number_choosing`` switches to the dive number), otherwise any training clip. Here the
group is the records' ``action_type``: ``group="difficulty"`` (``--dataset mtlaqa``) or
``"dive_number"`` (``--dataset mtlaqa-dive``); ``--no-dive-number`` picks any clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fdpose.errors import InputError
from fdpose.finediving import FineDivingAnnotations, FineGrainedRecord, Key, load_annotations
from fdpose.io import read_pickle

from fdpose.aqa_model.data.finediving import FineDivingAQADataset
from fdpose.aqa_model.segmentation import map_transitions_to_samples

ANNOTATION_FILES = ("final_annotations_dict_with_dive_number.pkl", "final_annotations_dict.pkl")
TRAIN_SPLIT_FILE = "train_split_0.pkl"
TEST_SPLIT_FILE = "test_split_0.pkl"
REQUIRED_FIELDS = ("final_score", "difficulty", "start_frame", "end_frame")
GROUPS = ("difficulty", "dive_number")

#: ``--dataset`` values -> (loader, exemplar group).
DATASETS: dict[str, str | None] = {"finediving": None, "mtlaqa": "difficulty", "mtlaqa-dive": "dive_number"}


@dataclass
class MTLAQAAnnotations(FineDivingAnnotations):
    """MTL-AQA annotations in FineDiving's records (no transits, ``action_type`` = exemplar group)."""

    group: str = "difficulty"


def mtl_key(raw: Any, path: Path) -> Key:
    """``(video_number, clip_number)`` -> ``("VV", clip)``."""
    if not (isinstance(raw, tuple) and len(raw) == 2 and all(isinstance(x, (int, np.integer)) for x in raw)):
        raise InputError(f"key {raw!r:.80} is not (video_number: int, clip_number: int)", path)
    return (f"{int(raw[0]):02d}", int(raw[1]))


def _number(value: Any, name: str, path: Path, key: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"field '{name}' is {type(value).__name__}, expected a number", path, f"clip {key!r}")
    if not math.isfinite(float(value)):
        raise InputError(f"field '{name}' is {float(value)}", path, f"clip {key!r}")
    return float(value)


def parse_record(raw_key: Any, value: Any, group: str, path: Path) -> FineGrainedRecord:
    """One annotation entry -> a :class:`FineGrainedRecord` (frames_labels zeros, no transits)."""
    if not isinstance(value, dict):
        raise InputError(f"value is {type(value).__name__}, expected a dict", path, f"clip {raw_key!r}")
    missing = [n for n in REQUIRED_FIELDS if n not in value]
    if missing:
        raise InputError(f"missing field(s) {', '.join(missing)}", path, f"clip {raw_key!r}")
    score = _number(value["final_score"], "final_score", path, raw_key)
    difficulty = _number(value["difficulty"], "difficulty", path, raw_key)
    start = _number(value["start_frame"], "start_frame", path, raw_key)
    end = _number(value["end_frame"], "end_frame", path, raw_key)
    if difficulty <= 0:
        raise InputError(f"field 'difficulty' is {difficulty}, must be > 0", path, f"clip {raw_key!r}")
    if end < start or start != int(start) or end != int(end):
        raise InputError(f"frames {start:g}..{end:g} are not an increasing integer range", path, f"clip {raw_key!r}")
    if group == "dive_number":
        dive = value.get("dive_number")
        if not isinstance(dive, str) or not dive:
            raise InputError("field 'dive_number' is missing (exemplars by dive number need CoRe's "
                             "final_annotations_dict_with_dive_number.pkl)", path, f"clip {raw_key!r}")
        label = dive
    else:
        label = f"DD{difficulty:g}"  # exact groups, as CoRe's dict keyed by the float
    n = int(end) - int(start) + 1
    return FineGrainedRecord(label, score, difficulty, np.zeros(0, np.int64), np.zeros(n, np.int64), {})


def _split(path: Path, known: dict[Key, FineGrainedRecord]) -> list[Key]:
    obj = read_pickle(path)
    if not isinstance(obj, (list, tuple)):
        raise InputError(f"split must be a list of keys, got {type(obj).__name__}", path)
    keys = [mtl_key(k, path) for k in obj]
    for raw, key in zip(obj, keys):
        if key not in known:
            raise InputError("key not in the annotation file", path, f"clip {raw!r}")
    return keys


def load_mtlaqa(path: str | Path, group: str = "difficulty") -> MTLAQAAnnotations:
    """An MTL-AQA annotation folder (annotation pickle + ``train_split_0.pkl`` /
    ``test_split_0.pkl``), or the annotation pickle itself (splits read beside it)."""
    if group not in GROUPS:
        raise InputError(f"exemplar group must be one of {', '.join(GROUPS)}, got {group!r}")
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if p.is_dir():
        found = [folder / name for name in ANNOTATION_FILES if (folder / name).is_file()]
        if not found:
            raise InputError(f"no MTL-AQA annotation file ({' or '.join(ANNOTATION_FILES)})", p)
        ann_file = found[0]
    else:
        ann_file = p
    obj = read_pickle(ann_file)
    if not isinstance(obj, dict) or not obj:
        raise InputError(f"expected a non-empty dict of clips, got {type(obj).__name__}", ann_file)
    fine: dict[Key, FineGrainedRecord] = {}
    for raw, value in obj.items():
        fine[mtl_key(raw, ann_file)] = parse_record(raw, value, group, ann_file)
    ann = MTLAQAAnnotations(fine=fine, source=folder, group=group)
    for name, attr in ((TRAIN_SPLIT_FILE, "train"), (TEST_SPLIT_FILE, "test")):
        if (folder / name).is_file():
            setattr(ann, attr, _split(folder / name, fine))
    return ann


def load_aqa_annotations(path: str | Path, dataset: str = "finediving") -> FineDivingAnnotations:
    """``--dataset`` dispatch: FineDiving's four pickles, or MTL-AQA's (:func:`load_mtlaqa`)."""
    if dataset not in DATASETS:
        raise InputError(f"--dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    group = DATASETS[dataset]
    return load_annotations(path) if group is None else load_mtlaqa(path, group)


def uniform_transits(num_frames: int, num_stages: int) -> np.ndarray:
    """(K-1,) last frame of each of K equal parts of ``num_frames`` frames (FineDiving's transit
    convention)."""
    return np.asarray([round(num_frames * k / num_stages) - 1 for k in range(1, num_stages)], np.int64)


class MTLAQADataset(FineDivingAQADataset):
    """:class:`FineDivingAQADataset` for MTL-AQA: same items, the K-1 "transitions" split the clip
    into equal parts (no step labels exist)."""

    stage_labels = False

    def transits(self, key: Key) -> np.ndarray:
        """(K-1,) last frames of the equal parts of ``key``'s clip."""
        n = len(self.files[key]) if key in self.files else self.records[key].num_frames
        return uniform_transits(n, self.config.num_stages)

    def sampled_transitions(self, key: Key, positions: np.ndarray) -> np.ndarray:
        """The equal parts' transits mapped onto the sampled frames (first sample of the next part)."""
        return map_transitions_to_samples(self.transits(key), positions)


def clip_dataset(annotations: FineDivingAnnotations, *args: Any, **kwargs: Any) -> FineDivingAQADataset:
    """The clip dataset of ``annotations`` (MTL-AQA or FineDiving); arguments as
    :class:`FineDivingAQADataset`."""
    cls = MTLAQADataset if isinstance(annotations, MTLAQAAnnotations) else FineDivingAQADataset
    return cls(annotations, *args, **kwargs)
