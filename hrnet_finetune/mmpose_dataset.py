"""The mmpose dataset that reads our MPII export: exact diver boxes and occluded joints kept.

mmpose's own ``MpiiDataset`` would train on a square box (MPII has only ``center/scale``) and
drop occluded joints (MPII ``joints_vis`` is 0 for them). :class:`DiverMpiiDataset` reads the
same file with the annotation toolkit's MPII reader (:func:`fdpose.annotations.mpii.mpii_to_entries`,
no second parser), so each instance gets:

* ``bbox``: the exact diver box (the ``bbox`` key of our records), 0-based xyxy;
* ``keypoints`` (1, 16, 2) and ``keypoints_visible`` (1, 16): 1 for every joint with a position
  (visible or occluded: annotators place occluded joints where they must be, and in diving
  self-occlusion is the rule, so they are trained on and evaluated), 0 for absent joints;
* ``joint_visibility`` (1, 16): the protocol value 0 absent / 1 occluded / 2 visible.

The dataset meta information is mmpose's MPII file, checked against :mod:`fdpose.skeleton`.
"""

from __future__ import annotations

import functools
import os.path as osp
from pathlib import Path
from typing import Any

import numpy as np
from mmpose.datasets.datasets.body.mpii_dataset import MpiiDataset
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS

from fdpose.errors import DependencyError
from fdpose.io import read_json
from fdpose.skeleton import JOINT_NAMES, NUM_JOINTS, flip_permutation
from fdpose.annotations import mpii as mpii_fmt
from fdpose.annotations.protocol import VIS_ABSENT

#: mmpose's MPII keypoint names spell the side out (right_ankle); ours are short (r_ankle).
_LONG_SIDE = {"r_": "right_", "l_": "left_"}


def _long_name(name: str) -> str:
    """``r_ankle`` -> ``right_ankle``; central joints keep their name."""
    prefix = name[:2]
    return _LONG_SIDE[prefix] + name[2:] if prefix in _LONG_SIDE else name


def _mpii_metainfo_file() -> str:
    """mmpose's MPII meta file: the installed copy in ``mmpose/.mim`` (else mmpose's relative
    lookup, which warns and falls back to the same place)."""
    import mmpose

    installed = Path(mmpose.__file__).parent / ".mim" / MpiiDataset.METAINFO["from_file"]
    return str(installed) if installed.is_file() else MpiiDataset.METAINFO["from_file"]


@functools.lru_cache(maxsize=1)
def mpii_metainfo() -> dict[str, Any]:
    """mmpose's parsed MPII meta information (flip indices, upper/lower body ids, ...).

    Raises :class:`DependencyError` when it disagrees with :mod:`fdpose.skeleton` (names or flip
    pairs): a silent mismatch would train mirrored joints.
    """
    meta = parse_pose_metainfo(dict(from_file=_mpii_metainfo_file()))
    names = [meta["keypoint_id2name"][i] for i in range(meta["num_keypoints"])]
    expected = [_long_name(n) for n in JOINT_NAMES]
    if names != expected:
        raise DependencyError(f"mmpose's MPII joint order {names} differs from fdpose.skeleton {expected}")
    if list(meta["flip_indices"]) != flip_permutation().tolist():
        raise DependencyError(f"mmpose's MPII flip indices {meta['flip_indices']} differ from fdpose.skeleton.FLIP_PAIRS")
    return meta


def jsonable_metainfo() -> dict[str, Any]:
    """The meta information with numpy arrays as lists (for checkpoints loadable with weights_only)."""
    out: dict[str, Any] = {}
    for key, value in mpii_metainfo().items():
        out[key] = value.tolist() if isinstance(value, np.ndarray) else value
    return out


@DATASETS.register_module()
class DiverMpiiDataset(MpiiDataset):
    """MPII records exported by ``fdpose.annotations.convert`` (see the module docstring).

    Takes mmpose's ``MpiiDataset`` arguments; ``headbox_file`` is not supported (PCKh uses the
    documented head-size proxy, :mod:`fdpose.metrics.pose`).
    """

    METAINFO: dict = dict(from_file=_mpii_metainfo_file())

    def _load_annotations(self) -> tuple[list[dict], list[dict]]:
        ann = Path(self.ann_file)
        records = read_json(ann)
        ids_path = ann.parent / mpii_fmt.IMAGE_IDS_NAME
        ids = mpii_fmt.parse_image_ids(read_json(ids_path), ids_path) if ids_path.is_file() else {}
        entries = mpii_fmt.mpii_to_entries(records, ann, Path(self.data_prefix["img"]), ids)
        instances: list[dict] = []
        images: list[dict] = []
        for idx, (rec, entry) in enumerate(zip(records, entries)):
            label = entry.label
            box = label.box.xyxy[0] if label.box is not None else mpii_fmt.crop_box(label)
            present = label.visibility > VIS_ABSENT
            xy = np.where(present[:, None], label.xy, 0.0).astype(np.float32)
            img_id = int(str(rec["image"]).split(".")[0])
            img_path = osp.join(self.data_prefix["img"], rec["image"])
            bbox = np.asarray(box, dtype=np.float32).reshape(1, 4)
            w, h = bbox[0, 2] - bbox[0, 0], bbox[0, 3] - bbox[0, 1]
            instances.append({
                "id": idx,
                "img_id": img_id,
                "img_path": img_path,
                "bbox": bbox,
                "bbox_score": np.ones(1, dtype=np.float32),
                "keypoints": xy.reshape(1, NUM_JOINTS, 2),
                "keypoints_visible": present.astype(np.float32).reshape(1, NUM_JOINTS),
                "joint_visibility": label.visibility.astype(np.int64).reshape(1, NUM_JOINTS),
                "area": np.array([max(float(w * h) * 0.53, 1.0)], dtype=np.float32),
                "category_id": [1],
                "label_file": entry.label_file,
            })
            images.append({"img_id": img_id, "img_path": img_path})
        return instances, images
