"""Oracle poses: HP-MCoRe pose files from the synthetic world's ground truth.

The simulator's ground-truth format is read here, beside the simulator, so that no stage parses
it (the AQA commands' ``--poses-from-gt`` and ``score`` on a gt JSON call this module).

``fdpose synth`` writes the exact joints of the diver in ``gt/{match}/{idx}.json``
(``frames[].diver.joints``: 16 x [x, y, visibility] with 2 visible, 1 occluded, 0 off-image,
coordinates always kept). Training the AQA model on them instead of on the pose pipeline's
output is the "oracle pose" setting: it isolates the AQA model from pose-estimation errors.

Confidence channel: visible 1.0, occluded 0.5, off-image 0.0 (:data:`VISIBILITY_CONFIDENCE`;
an estimator is expected to be unsure of occluded joints and to know nothing of joints outside
the image). The files are ``{out}/{match}/pred_comp_{idx}.npz`` with ``pred`` (n, 16, 3) for
the n frames the AQA loader samples (``aligned_indices`` over the gt's frame numbers, which
are the frame tree's 0..T-1), so ``n`` must equal the model config's ``num_frames``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from fdpose.errors import InputError, ValidationError
from fdpose.finediving import Key
from fdpose.io import read_json
from fdpose.sampling import pred_comp_path, sample_keypoints, write_pred_comp
from fdpose.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

VISIBILITY_CONFIDENCE: dict[int, float] = {2: 1.0, 1: 0.5, 0: 0.0}


def is_gt_doc(doc: Any) -> bool:
    """True for a synth ground-truth document (``joint_names`` + ``frames[].diver``)."""
    return (isinstance(doc, dict) and "joint_names" in doc and isinstance(doc.get("frames"), list)
            and all(isinstance(f, dict) and "diver" in f for f in doc["frames"][:1]))


def gt_keypoints(doc: dict[str, Any], path: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, list[int]]:
    """A gt document -> ((T, 16, 3) [x, y, confidence] float64, frame numbers (T,))."""
    if not is_gt_doc(doc):
        raise InputError("not a synth ground-truth JSON (needs joint_names and frames[].diver)", path)
    frames = doc["frames"]
    if not frames:
        raise ValidationError("ground truth has no frames", path)
    out = np.zeros((len(frames), NUM_JOINTS, 3), np.float64)
    numbers: list[int] = []
    for i, frame in enumerate(frames):
        joints = (frame.get("diver") or {}).get("joints")
        if not isinstance(joints, list) or len(joints) != NUM_JOINTS:
            raise ValidationError(f"diver.joints must hold {NUM_JOINTS} [x, y, visibility] entries", path,
                                  f"frame {i}")
        try:
            arr = np.asarray(joints, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError("diver.joints must be numbers", path, f"frame {i}") from None
        if arr.shape != (NUM_JOINTS, 3) or not np.isfinite(arr).all():
            raise ValidationError(f"diver.joints must be finite ({NUM_JOINTS}, 3), got {arr.shape}", path,
                                  f"frame {i}")
        out[i, :, :2] = arr[:, :2]
        out[i, :, 2] = [VISIBILITY_CONFIDENCE.get(int(v), 0.0) for v in arr[:, 2]]
        numbers.append(int(frame.get("frame_index", i)))
    return out, numbers


def oracle_pred(gt_path: str | os.PathLike[str], num_frames: int) -> np.ndarray:
    """The (num_frames, 16, 3) float32 oracle pose array of one gt JSON, at the loader's samples."""
    keypoints, numbers = gt_keypoints(read_json(gt_path), gt_path)
    return sample_keypoints(keypoints, numbers, num_frames).astype(np.float32)


@dataclass
class OracleReport:
    """What :func:`write_oracle_poses` did: files written and keys without ground truth."""

    out_root: Path
    written: int = 0
    missing: list[Key] = field(default_factory=list)


def gt_path(gt_root: str | os.PathLike[str], key: Key) -> Path:
    """``{gt_root}/{match}/{idx}.json``."""
    return Path(gt_root) / str(key[0]) / f"{key[1]}.json"


def write_oracle_poses(gt_root: str | os.PathLike[str], out_root: str | os.PathLike[str], num_frames: int,
                       keys: Iterable[Key], skip_missing: bool = False) -> OracleReport:
    """Write ``{out_root}/{match}/pred_comp_{idx}.npz`` for every key with a gt file.

    A key without ``gt/{match}/{idx}.json`` is an :class:`InputError` naming it, unless
    ``skip_missing`` (then it is listed in the report and the AQA loader reports it too).
    """
    root = Path(gt_root)
    if not root.is_dir():
        raise InputError("ground-truth folder not found (expected a synth world's gt/)", root)
    report = OracleReport(Path(out_root))
    for key in sorted(set(keys)):
        src = gt_path(root, key)
        if not src.is_file():
            if skip_missing:
                report.missing.append(key)
                continue
            raise InputError(f"no ground truth for clip {key[0]}/{key[1]}", src)
        write_pred_comp(pred_comp_path(out_root, key[0], key[1]), oracle_pred(src, num_frames), n=num_frames)
        report.written += 1
    log.info("wrote %d oracle pose files (%d frames) to %s", report.written, num_frames, out_root)
    return report

