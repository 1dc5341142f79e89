"""The 96 aligned frames of a clip and the HP-MCoRe pose file ``pred_comp_{idx}.npz``.

A contract between stages: the pipeline writes what the AQA loader reads, so it lives in the core
(both import it, neither imports the other for it).

The public FineDiving / HP-MCoRe loaders pick frames as

    start, end = int(first_file_stem), int(last_file_stem)
    frame_list = np.linspace(start, end, 96).astype(int)
    positions  = frame_list - start          # indices into the sorted frame list

(method.md 2.2 step 6). Because ``linspace`` works in floating point, the result depends on
``start`` itself, not only on the clip length (for a clip whose files start at 16858 a few
indices differ from ``linspace(0, T - 1, 96)``), so :func:`aligned_indices` takes the clip's
actual frame numbers when it has them. Videos have no file numbers: their frames are 0..T-1.
For clips shorter than 96 frames the rule repeats frames, exactly as the loader does.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from fdpose.errors import InputError, ValidationError
from fdpose.io import npz_read_error, read_json, write_npz
from fdpose.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

#: Separator between match and index in a clip id ``{match}__{idx}`` (match names contain "_").
CLIP_ID_SEP = "__"

#: Frames per clip seen by the AQA model (HP-MCoRe / MCoRe ``length``).
NUM_SAMPLED_FRAMES = 96
PRED_KEY = "pred"


def linspace_rule(first: int, last: int, n: int = NUM_SAMPLED_FRAMES) -> np.ndarray:
    """``np.linspace(first, last, n).astype(int)``: the loader's frame numbers (n,) int64."""
    if n < 1:
        raise ValidationError(f"number of sampled frames must be >= 1, got {n}")
    if last < first:
        raise ValidationError(f"last frame {last} before first frame {first}")
    return np.linspace(first, last, n).astype(int).astype(np.int64)


def aligned_indices(frame_count: int, frame_numbers: Optional[Sequence[int]] = None,
                    n: int = NUM_SAMPLED_FRAMES) -> np.ndarray:
    """The (n,) int64 0-based positions in the clip that the AQA loader reads.

    frame_numbers: the clip's integer file numbers in order (frame trees), or None (videos,
    numbered 0..T-1). With numbers the loader's exact arithmetic is reproduced; if the numbers
    are not consecutive the loader would index past its list, so the rule is applied to
    positions instead and a warning is logged.
    """
    if frame_count < 1:
        raise ValidationError("cannot sample frames from an empty clip")
    if frame_numbers is not None:
        nums = [int(v) for v in frame_numbers]
        if len(nums) != frame_count:
            raise ValidationError(f"{len(nums)} frame numbers for a clip of {frame_count} frames")
        if nums[-1] - nums[0] == frame_count - 1 and all(b - a == 1 for a, b in zip(nums, nums[1:])):
            return linspace_rule(nums[0], nums[-1], n) - nums[0]
        log.warning("frame numbers %d..%d are not consecutive (%d frames): sampling by position",
                    nums[0], nums[-1], frame_count)
    return linspace_rule(0, frame_count - 1, n)


def gather_sampled(sequence: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Pick the sampled frames: (T, 16, C) sequence, (n,) indices -> (n, 16, C)."""
    seq = np.asarray(sequence)
    idx = np.asarray(indices, dtype=np.int64)
    if seq.ndim != 3 or seq.shape[1] != NUM_JOINTS:
        raise ValidationError(f"pose sequence must be (T, {NUM_JOINTS}, C), got {seq.shape}")
    if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= seq.shape[0])):
        raise ValidationError(f"sampled indices must be 1-D within 0..{seq.shape[0] - 1}")
    return seq[idx]


def resample_rows(pred: np.ndarray, frame_count: int, frame_numbers: Optional[Sequence[int]] = None,
                  n: int = NUM_SAMPLED_FRAMES) -> np.ndarray:
    """Rows of a pose file sampled for m frames -> the rows for n frames of the same clip.

    pred: (m, 16, C), row i being clip position ``aligned_indices(T, numbers, m)[i]``. Each of
    the n target positions ``aligned_indices(T, numbers, n)`` takes the row whose position is
    nearest (the earlier on a tie): exact where the two grids share a frame, otherwise off by
    at most half the gap between neighbouring m-grid frames. Used when a model samples fewer frames than the
    96-frame ``pred_comp`` files (the ``tiny`` AQA config). Returns (n, 16, C), a copy.
    """
    arr = np.asarray(pred)
    if arr.ndim != 3 or arr.shape[1] != NUM_JOINTS or arr.shape[0] < 1:
        raise ValidationError(f"pose rows must be (m, {NUM_JOINTS}, C) with m >= 1, got {arr.shape}")
    m = arr.shape[0]
    if m == n:
        return arr.copy()
    have = aligned_indices(frame_count, frame_numbers, m)
    want = aligned_indices(frame_count, frame_numbers, n)
    nearest = np.abs(want[:, None] - have[None, :]).argmin(axis=1)
    return arr[nearest].copy()


def fill_nonfinite(pred: np.ndarray) -> np.ndarray:
    """Make a (n, 16, 3) pose array finite for the AQA model, which cannot take NaN.

    A joint with NaN coordinates takes the coordinates of the same joint in the nearest frame
    (in sample order) where it is finite, with confidence 0; a joint never finite becomes
    (0, 0, 0). Finite joints are unchanged. Returns a new array.
    """
    out = np.array(pred, dtype=np.float64, copy=True)
    bad = ~np.isfinite(out[..., :2]).all(axis=-1)  # (n, 16)
    if not bad.any():
        return out
    n = out.shape[0]
    t = np.arange(n)[:, None].repeat(out.shape[1], axis=1)
    prev = np.maximum.accumulate(np.where(~bad, t, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(~bad, t, n)[::-1], axis=0)[::-1]
    d_prev = np.where(prev >= 0, t - prev, np.iinfo(np.int64).max)
    d_next = np.where(nxt < n, nxt - t, np.iinfo(np.int64).max)
    src = np.where(d_prev <= d_next, prev, nxt)  # (n, 16), -1 / n where the joint is never finite
    never = (prev < 0) & (nxt >= n)
    joints = np.arange(out.shape[1])[None, :]
    filled = out[np.clip(src, 0, n - 1), joints]
    out[bad, :2] = filled[bad, :2]
    out[bad, 2] = 0.0
    out[bad & never] = 0.0
    out[..., 2] = np.nan_to_num(out[..., 2], nan=0.0)
    return out


def split_clip_id(clip_id: str) -> tuple[str, str]:
    """``"{match}__{idx}"`` -> ``(match, idx)`` (match names may themselves contain ``_``)."""
    if CLIP_ID_SEP not in clip_id:
        raise ValidationError(f"clip id {clip_id!r} is not of the form {{match}}{CLIP_ID_SEP}{{idx}}")
    match, idx = clip_id.rsplit(CLIP_ID_SEP, 1)
    if not match or not idx:
        raise ValidationError(f"clip id {clip_id!r} has an empty match or index")
    return match, idx


def pred_comp_path(pose_root: str | os.PathLike[str], match: str, idx: str | int) -> Path:
    """``{pose_root}/{match}/pred_comp_{idx}.npz``: where the HP-MCoRe loader looks."""
    return Path(pose_root) / str(match) / f"pred_comp_{idx}.npz"


#: The manifest of an exported FineDiving-Pose dataset (``fdpose export``), beside its ``Pose/`` folder.
EXPORT_MANIFEST_NAME = "manifest.json"


def dropped_by_export(pose_root: str | os.PathLike[str]) -> dict[tuple[str, int], str]:
    """Clips ``fdpose export --drop-failing`` left out of the dataset whose pose root is ``pose_root``.

    ``{(match, idx): reason}`` from the ``dropped`` list of the manifest beside the root (the
    dataset's ``Pose/`` folder); empty when there is no manifest or nothing was dropped. The AQA
    loader skips these clips (they were left out on purpose) instead of failing on their missing
    pose files. A manifest that cannot be read is the export check's business: here it counts as none.
    """
    path = Path(pose_root).parent / EXPORT_MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        doc = read_json(path)
    except (InputError, ValidationError):
        return {}
    out: dict[tuple[str, int], str] = {}
    for entry in doc.get("dropped", []) if isinstance(doc, dict) else []:
        try:
            match, idx = entry["key"]
            out[(str(match), int(idx))] = str(entry.get("reason", "left out by the export"))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _check_pred(pred: np.ndarray, where: str | os.PathLike[str], n: int) -> np.ndarray:
    arr = np.asarray(pred)
    if arr.shape not in ((n, NUM_JOINTS, 3), (n, NUM_JOINTS, 2)):
        raise ValidationError(f"'{PRED_KEY}' must be ({n}, {NUM_JOINTS}, 3) or ({n}, {NUM_JOINTS}, 2), "
                              f"got {arr.shape}", where)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValidationError(f"'{PRED_KEY}' must be numeric, got {arr.dtype}", where)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValidationError(f"'{PRED_KEY}' has non-finite values (first at frame {bad[0]}, joint {bad[1]}); "
                              "use fill_nonfinite() before writing", where)
    return arr


def write_pred_comp(path: str | os.PathLike[str], pred: np.ndarray, n: int = NUM_SAMPLED_FRAMES) -> Path:
    """Atomically write ``pred`` (n, 16, 3) as float32 under key ``pred`` (finite values only)."""
    arr = _check_pred(pred, path, n)
    if arr.shape[2] != 3:
        raise ValidationError(f"'{PRED_KEY}' must carry [x, y, confidence] (n, {NUM_JOINTS}, 3), got {arr.shape}",
                              path)
    return write_npz(path, **{PRED_KEY: arr.astype(np.float32)})


def read_pred_comp(path: str | os.PathLike[str], n: int = NUM_SAMPLED_FRAMES) -> np.ndarray:
    """Read a ``pred_comp`` file: (n, 16, 3) or (n, 16, 2) float32, checked like the loader needs."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            if PRED_KEY not in data.files:
                raise ValidationError(f"no '{PRED_KEY}' array (has {', '.join(data.files) or 'nothing'})", p)
            arr = data[PRED_KEY]
    except FileNotFoundError:
        raise InputError("pose file not found", p) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise npz_read_error(exc, p) from None
    return _check_pred(arr, p, n).astype(np.float32)


def sample_keypoints(keypoints: np.ndarray, frame_numbers: Sequence[int] | None, num_frames: int) -> np.ndarray:
    """(T, 16, C) per-frame keypoints -> (num_frames, 16, C) at the AQA loader's sampled frames."""
    positions = aligned_indices(int(keypoints.shape[0]), frame_numbers, num_frames)
    return np.asarray(keypoints)[positions]
