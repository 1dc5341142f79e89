"""FineDiving clips for the AQA model: sampled frames, poses, GT transitions, scores (issue 5 "Data").

Layout read (method.md 2.3):

* annotations: the FineDiving pickles through :mod:`fdpose.finediving` (fine-grained record:
  ``action_type``, ``dive_score``, ``difficulty``, ``steps_transit_frames`` = last frame of
  every stage but the last, in the trimmed clip's own frame positions);
* frames: ``{frames_root}/{match}/{idx}/{frame:05d}.jpg``; the 96 (``num_frames``) frames are
  picked exactly as the public loader does (``fdpose.sampling.aligned_indices``);
* poses: ``{poses_root}/{match}/pred_comp_{idx}.npz``, key ``pred`` (96, 16, 2|3) for the same
  sampled frames; 2-channel files get confidence 1, 3-channel files lose it for a 2-channel
  model.

GT transitions for K stages (:func:`label_transitions`): the model predicts K-1 transitions, as
positions in the sampled frames. They are read from the step labels of the sampled frames
(``frames_labels``), the public FineDiving loaders' rule (TSA's, MCoRe's and HP-MCoRe's
``load_video``): the distinct labels in order of first appearance; the take-off ends where the
second label first appears, the entry starts where the last one first appears. FineDiving records
have 2-4 transits (twisting dives split the flight into somersault and twist): K = 3 uses the
first and the last (the middle groups merge into one flight stage); K = 2 the first
(``stage_split="takeoff"``) or the last (``"entry"``, the paper's 2*); K = 1 none. Not from
``steps_transit_frames``: on the real annotations that gives the same targets for 2991 of 3000
records; of the other 9, 4 hold a -1 (the take-off would be learnt at sample 0; 3 of them also put
the entry 14-20 samples early) and 5 disagree with the labels by 1-3 samples (docs/aqa.md,
"Ground-truth transitions").
:func:`select_transitions` is the same choice on a list of transit frames.

Frames become ``frame_size`` squares in one of two ways (``AQAConfig.video_crop``):

* ``"frame"`` (the public code): resize the short side to ``frame_size`` and centre-crop
  (training: random crop);
* ``"diver"``: a square window that follows the diver, from the clip's own pose file (the
  pipeline's tracked joints, or FineDiving's ``pred_comp``): centred on the joints' box in
  every sampled frame, one side for the whole clip (``diver_crop_scale`` x the diver's
  largest extent), resized to ``frame_size`` (training: one random shift / zoom per clip).
  Why: on a 455x256 broadcast frame the diver is ~50 px; the short-side resize to a small
  ``frame_size`` leaves a few pixels of diver (and the centre crop may cut the diver out),
  so a small visual encoder sees mostly pool and crowd. The window keeps the body large.

Training also flips horizontally (pose mirrored with the frame), seeded per item. Pixels are
normalised with the ImageNet mean / std the pretrained backbones expect.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from fdpose.aqa_model.config import AQAConfig
from fdpose.errors import InputError
from fdpose.finediving import FineDivingAnnotations, FineGrainedRecord, Key
from fdpose.sampling import (
    NUM_SAMPLED_FRAMES,
    PRED_KEY,
    aligned_indices,
    dropped_by_export,
    pred_comp_path,
    read_pred_comp,
    resample_rows,
)
from fdpose.skeleton import flip_keypoints
from fdpose.video import frame_numbers, image_size, imread

log = logging.getLogger(__name__)

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def key_name(key: Key) -> str:
    """Human-readable key for messages: ``match/idx``."""
    return f"{key[0]}/{key[1]}"


def select_transitions(transits: Sequence[int] | np.ndarray, num_stages: int,
                       split: str = "takeoff") -> np.ndarray:
    """The K-1 FineDiving transits the model learns (rule in the module docstring). split (K = 2 only):
    "takeoff" keeps the first transit (take-off | flight+entry), "entry" the last (take-off+flight | entry,
    Table V's 2*)."""
    t = [int(x) for x in np.asarray(transits).reshape(-1)]
    if num_stages == 1:
        return np.zeros(0, np.int64)
    if not t:
        raise ValueError("record has no transits")
    if num_stages == 2:
        chosen = [t[-1]] if split == "entry" else [t[0]]
    else:
        chosen = [t[0], t[-1]]
    return np.asarray(chosen, np.int64)


def label_transitions(sampled_labels: Sequence[int] | np.ndarray, num_stages: int,
                      split: str = "takeoff") -> np.ndarray:
    """(K-1,) int64 transitions in sampled-frame positions from the (T,) step labels of the sampled
    frames (rule in the module docstring). ValueError when K >= 2 and the samples show one label only."""
    labels = np.asarray(sampled_labels).reshape(-1)
    if num_stages == 1:
        return np.zeros(0, np.int64)
    _, first = np.unique(labels, return_index=True)
    first = np.sort(first)  # where each distinct label first appears, in order of appearance
    if len(first) < 2:
        raise ValueError("the sampled frames show a single step label: no transition")
    # the positions where a new label starts play the transit list's part: the same choice of them
    return select_transitions(first[1:], num_stages, split)


def frame_files(frames_root: str | os.PathLike[str], key: Key) -> list[Path]:
    """Sorted ``*.jpg`` of one clip folder (empty when the folder is missing)."""
    folder = Path(frames_root) / str(key[0]) / str(key[1])
    return sorted(folder.glob("*.jpg")) if folder.is_dir() else []


def sampled_positions(files: Sequence[Path], num_frames: int) -> np.ndarray:
    """(num_frames,) positions into ``files`` chosen by the public loader's linspace rule."""
    return aligned_indices(len(files), frame_numbers(files), num_frames)


def _resize_short_side(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    scale = size / min(h, w)
    return cv2.resize(img, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=cv2.INTER_AREA)


def diver_windows(pose: np.ndarray, scale: float, min_side: float = 16.0) -> np.ndarray | None:
    """Square crop windows that follow the diver: (T, 16, C) pixel pose -> (T, 3) (cx, cy, side).

    A joint counts when its coordinates are finite and (C = 3) its confidence is > 0. Centre:
    the middle of the counted joints' box per frame, linearly interpolated over frames without
    any. Side: ``scale`` x the 90th percentile over frames of the box's longer edge (one side
    for the clip, so size changes stay visible; the percentile ignores a few stray joints),
    at least ``min_side`` px. None when no frame has a counted joint (caller: whole frame).
    """
    xy = np.asarray(pose[..., :2], np.float64)
    ok = np.isfinite(xy).all(axis=-1)
    if pose.shape[-1] >= 3:
        ok &= np.asarray(pose[..., 2]) > 0
    has = ok.any(axis=1)
    if not has.any():
        return None
    lo = np.where(ok[..., None], xy, np.inf).min(axis=1)  # (T, 2)
    hi = np.where(ok[..., None], xy, -np.inf).max(axis=1)
    frames = np.arange(len(xy))
    mid = (lo[has] + hi[has]) / 2
    centre = np.stack([np.interp(frames, frames[has], mid[:, i]) for i in range(2)], axis=1)
    extent = (hi - lo)[has].max(axis=1)
    side = max(float(min_side), float(scale) * float(np.percentile(extent, 90)))
    return np.concatenate([centre, np.full((len(xy), 1), side)], axis=1).astype(np.float32)


def _crop_window(img: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    """The ``side`` x ``side`` square centred on (cx, cy), border-replicated past the image edge,
    resized to ``size`` x ``size``."""
    h, w = img.shape[:2]
    s = max(2, int(round(side)))
    x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
    pad = max(0, -x0, -y0, x0 + s - w, y0 + s - h)
    if pad:
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    crop = img[y0:y0 + s, x0:x0 + s]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if s > size else cv2.INTER_LINEAR)


def jitter_windows(windows: np.ndarray, rng: np.random.Generator, shift: float = 0.1, zoom: float = 0.1
                   ) -> np.ndarray:
    """One random shift (x, y: +-``shift`` x side) and zoom (side x [1-zoom, 1+zoom]) for a clip."""
    out = windows.copy()
    dx, dy = rng.uniform(-shift, shift, 2) * windows[0, 2]
    out[:, 0] += dx
    out[:, 1] += dy
    out[:, 2] *= rng.uniform(1.0 - zoom, 1.0 + zoom)
    return out


#: cv2.imread flags decoding a JPEG at 1/r of its size in the DCT domain (several times faster
#: than a full decode followed by a resize; other formats are decoded and then resized).
_DECODE_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                 8: cv2.IMREAD_REDUCED_COLOR_8}


def decode_factor(extent: float, size: int) -> int:
    """Largest decode reduction r in (1, 2, 4, 8) that keeps ``extent`` source pixels >= ``size``."""
    return next((r for r in (8, 4, 2) if extent / r >= size), 1)


def _read_rgb(path: Path, factor: int) -> np.ndarray:
    img = imread(path, _DECODE_FLAGS[factor])
    if img is None:
        raise InputError("cannot read frame image", path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _nearest_rows(n_in: int, n_out: int) -> np.ndarray:
    """(n_out,) source rows (or columns) PIL's NEAREST resize reads: the centre of output pixel i mapped
    back, accumulated in double precision as Pillow's affine scaler does (``i * step`` written out
    differs from it in the last bit for some sizes, and so in the pixel picked)."""
    step = n_in / n_out
    out = np.empty(n_out, np.int64)
    pos = 0.5 * step
    for i in range(n_out):
        out[i] = min(int(pos), n_in - 1)
        pos += step
    return out


def resize_nearest(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, C) -> (height, width, C) picking the pixels PIL's ``Image.resize(..., NEAREST)`` picks (the codes'
    torchvideotransforms ``Resize``); cv2's INTER_NEAREST(_EXACT) rounds differently."""
    return img[_nearest_rows(img.shape[0], height)][:, _nearest_rows(img.shape[1], width)]


def load_video(files: Sequence[Path], positions: np.ndarray, size: int,
               rng: np.random.Generator | None = None, flip: bool = False,
               windows: np.ndarray | None = None, resize_hw: Sequence[int] = (),
               resize_filter: str = "area") -> tuple[np.ndarray, int]:
    """Read the sampled frames -> ((T, 3, size, size) float32 ImageNet-normalised RGB, raw width).

    windows: (T, 3) diver windows (:func:`diver_windows`, already jittered for training) in
    full-resolution pixels: crop those. Else the short-side resize + square crop, ``rng`` giving
    random offsets (training) instead of the centre; one crop for the whole clip. ``resize_hw``
    (H, W) replaces the short-side resize by that anisotropic resize (HP-MCoRe's code: 200 x 112,
    config ``frame_resize``) before the crop, by pixel averaging or (``resize_filter`` "nearest", the
    codes') PIL's nearest pixels. Frames are decoded at the smallest JPEG scale that still has ``size``
    pixels across the region used (at full size for the nearest resize: its pixels are the file's own).
    """
    out = np.empty((len(positions), 3, size, size), np.float32)
    offsets: tuple[int, int] | None = None
    first = imread(files[int(positions[0])]) if len(positions) else None
    if len(positions) and first is None:
        raise InputError("cannot read frame image", files[int(positions[0])])
    raw_height, raw_width = first.shape[:2] if first is not None else (0, 0)
    extent = float(windows[:, 2].min()) if windows is not None else float(min(raw_height, raw_width))
    factor = decode_factor(extent, size)
    if resize_hw and windows is None:
        factor = 1 if resize_filter == "nearest" else min(decode_factor(raw_height, int(resize_hw[0])),
                                                          decode_factor(raw_width, int(resize_hw[1])))
    # a frame decodes at factor r to ceil(W / r) x ceil(H / r) (JPEG) or floor (other formats): any other
    # shape is a frame of another size
    fits = [(n // factor, -(-n // factor)) for n in (raw_height, raw_width)]
    for i, pos in enumerate(positions):
        img = _read_rgb(files[int(pos)], factor)
        if img.shape[0] not in fits[0] or img.shape[1] not in fits[1]:
            w, h = image_size(files[int(pos)])
            raise InputError(f"frame size {w}x{h} differs from the clip's first frame {raw_width}x{raw_height}",
                             files[int(pos)])
        if windows is not None:
            # the reduced decode is ceil(W / r) wide: scale the window with the actual ratio
            r = raw_width / img.shape[1]
            img = _crop_window(img, float(windows[i, 0]) / r, float(windows[i, 1]) / r, float(windows[i, 2]) / r,
                               size)
        else:
            if not resize_hw:
                img = _resize_short_side(img, size)
            elif resize_filter == "nearest":
                img = resize_nearest(img, int(resize_hw[0]), int(resize_hw[1]))
            else:
                img = cv2.resize(img, (int(resize_hw[1]), int(resize_hw[0])), interpolation=cv2.INTER_AREA)
            h, w = img.shape[:2]
            if offsets is None:
                offsets = ((h - size) // 2, (w - size) // 2) if rng is None else (
                    int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1)))
            top, left = min(offsets[0], h - size), min(offsets[1], w - size)
            img = img[top:top + size, left:left + size]
        if flip:
            img = img[:, ::-1]
        out[i] = ((img.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    return out, raw_width


def load_clip_video(files: Sequence[Path], positions: np.ndarray, config: AQAConfig, pose: np.ndarray | None,
                    rng: np.random.Generator | None = None, flip: bool = False,
                    where: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, int]:
    """:func:`load_video` with the config's crop policy: ``pose`` (T, 16, C) pixel coordinates of
    the same sampled frames (unflipped) is needed for ``video_crop == "diver"``; a clip whose
    pose has no usable joint falls back to the whole-frame crop (logged)."""
    windows = None
    if config.video_crop == "diver":
        if pose is None:
            raise InputError("the config crops frames around the diver (video_crop 'diver') but no pose was given",
                             where)
        windows = diver_windows(pose, config.diver_crop_scale)
        if windows is None:
            log.warning("%s: no usable joint in the pose: whole-frame crop", where)
        elif rng is not None:
            windows = jitter_windows(windows, rng)
    return load_video(files, positions, config.frame_size, rng, flip, windows, config.frame_resize,
                      config.frame_resize_filter)


def load_pose(poses_root: str | os.PathLike[str], key: Key, num_frames: int, channels: int,
              flip_width: float | None = None, frame_count: int | None = None,
              frame_numbers: Sequence[int] | None = None) -> np.ndarray:
    """``pred_comp_{idx}.npz`` -> (T, 16, channels) float32 (mirrored when ``flip_width`` is given).

    A model that samples T != 96 frames (``tiny``: 32) also reads the standard 96-row files
    (FineDiving-Pose, the pipeline): each of its T sampled frames takes the row of the nearest
    of the 96 (:func:`fdpose.sampling.resample_rows`; needs ``frame_count`` and, for
    frame trees, the clip's ``frame_numbers``).
    """
    path = pred_comp_path(poses_root, key[0], key[1])
    if num_frames != NUM_SAMPLED_FRAMES and frame_count is not None and pose_rows(path) == NUM_SAMPLED_FRAMES:
        pred = resample_rows(read_pred_comp(path, n=NUM_SAMPLED_FRAMES), frame_count, frame_numbers, num_frames)
    else:
        pred = read_pred_comp(path, n=num_frames)
    if pred.shape[2] == 2 and channels == 3:
        pred = np.concatenate([pred, np.ones_like(pred[..., :1])], axis=-1)
    pred = pred[..., :channels]
    if flip_width is not None:
        pred = flip_keypoints(pred, flip_width).astype(np.float32)
    return pred


def pose_rows(path: Path) -> int | None:
    """Rows of the ``pred`` array of a pose file, read from its header only; None if unreadable
    (the full read then reports the problem)."""
    try:
        with np.load(path) as data:
            return int(data[PRED_KEY].shape[0]) if PRED_KEY in data.files else None
    except Exception:  # noqa: BLE001 - any failure is reported by read_pred_comp with the file named
        return None


class FineDivingAQADataset(torch.utils.data.Dataset):
    """One item per clip: ``{"index", "video"?, "pose"?, "transitions", "score", "difficulty"}``.

    video (T, 3, S, S) float32 when the config uses a visual encoder; pose (T, 16, C) float32
    when it uses the skeletal encoder; transitions (K-1,) int64 sampled-frame positions;
    score / difficulty float32. ``keys[index]`` names the clip.
    Missing frames / poses / annotations: :class:`InputError` naming the key, or with
    ``skip_missing`` the key is dropped and counted in ``skipped``.
    """

    stage_labels = True  # transitions are annotated (AIoU is meaningful)

    def __init__(self, annotations: FineDivingAnnotations, keys: Sequence[Key], config: AQAConfig,
                 frames_root: str | os.PathLike[str] | None = None,
                 poses_root: str | os.PathLike[str] | None = None,
                 skip_missing: bool = False, augment: bool = False, seed: int = 0) -> None:
        self.config, self.augment, self.seed, self.epoch = config, augment, seed, 0
        self.frames_root = Path(frames_root) if frames_root is not None else None
        self.poses_root = Path(poses_root) if poses_root is not None else None
        self.needs_video = config.use_dve or config.use_sve
        self.needs_pose = config.needs_pose
        self.records: dict[Key, FineGrainedRecord] = {}
        self.files: dict[Key, list[Path]] = {}
        self.keys: list[Key] = []
        self.skipped: dict[Key, str] = {}
        # clips an export with --drop-failing left out on purpose: skipped (counted), not an error
        left_out = dropped_by_export(self.poses_root) if self.needs_pose and self.poses_root is not None else {}
        for key in keys:
            problem = self._check(annotations, key)
            if problem is None:
                self.keys.append(key)
            elif problem.startswith("no pose file") and (str(key[0]), int(key[1])) in left_out:
                self.skipped[key] = f"left out by the export: {left_out[(str(key[0]), int(key[1]))]}"
            elif skip_missing:
                self.skipped[key] = problem
            else:
                raise InputError(problem, annotations.source, f"clip {key_name(key)}")
        if self.skipped:
            log.warning("skipped %d of %d clips with missing data (%d left out by the export)", len(self.skipped),
                        len(keys), sum(why.startswith("left out by the export") for why in self.skipped.values()))

    def _check(self, annotations: FineDivingAnnotations, key: Key) -> str | None:
        record = annotations.fine.get(key)
        if record is None:
            return "no fine-grained annotation for this clip"
        self.records[key] = record
        if self.needs_video:
            if self.frames_root is None:
                return "the config needs video frames but no frames root was given"
            files = frame_files(self.frames_root, key)
            if not files:
                return f"no frames in {self.frames_root / str(key[0]) / str(key[1])}"
            self.files[key] = files
        if self.needs_pose:
            if self.poses_root is None:
                why = "" if self.config.use_hse else " (video_crop 'diver' follows the diver's joints)"
                return f"the config needs poses{why} but no pose root was given"
            if not pred_comp_path(self.poses_root, key[0], key[1]).is_file():
                return f"no pose file {pred_comp_path(self.poses_root, key[0], key[1])}"
        try:
            self.sampled_transitions(key, self.positions(key))
        except ValueError as exc:
            del self.records[key]
            self.files.pop(key, None)
            return str(exc)
        return None

    def sampled_transitions(self, key: Key, positions: np.ndarray) -> np.ndarray:
        """(K-1,) ground-truth transitions of ``key`` as positions in its (T,) sampled frames, from the
        step labels of those frames (ValueError: none, or labels shorter than the clip's frames).
        Datasets without stage labels (MTL-AQA) override this."""
        labels = self.records[key].frames_labels
        if len(positions) and int(np.max(positions)) >= len(labels):
            raise ValueError(f"{len(labels)} frame labels, but the clip's frames run to position "
                             f"{int(np.max(positions))}: the frames and the annotation differ in length")
        return label_transitions(labels[np.asarray(positions)], self.config.num_stages, self.config.stage_split)

    def set_epoch(self, epoch: int) -> None:
        """Augmentation draws depend on (seed, epoch, index) only: resuming reproduces them."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.keys)

    def clip_frames(self, key: Key) -> tuple[int, list[int] | None]:
        """(frame count, frame-file numbers or None) of ``key``'s trimmed clip."""
        if key in self.files:
            return len(self.files[key]), frame_numbers(self.files[key])
        return self.records[key].num_frames, None

    def positions(self, key: Key) -> np.ndarray:
        """Sampled positions of ``key`` in its trimmed clip (frame files, else the annotation length)."""
        if key in self.files:
            return sampled_positions(self.files[key], self.config.num_frames)
        return aligned_indices(self.records[key].num_frames, None, self.config.num_frames)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        cfg = self.config
        key = self.keys[index]
        record = self.records[key]
        positions = self.positions(key)
        item: dict[str, torch.Tensor] = {
            "index": torch.tensor(index),
            "transitions": torch.from_numpy(self.sampled_transitions(key, positions)),
            "score": torch.tensor(float(record.dive_score), dtype=torch.float32),
            "difficulty": torch.tensor(float(record.difficulty), dtype=torch.float32),
        }
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.augment else None
        # a horizontal flip needs the raw frame width to mirror the pose too: video configs only
        flip = bool(rng.integers(0, 2)) if (rng is not None and self.needs_video) else False
        pose = None
        if self.needs_pose:
            assert self.poses_root is not None
            count, numbers = self.clip_frames(key)
            # confidence picks the joints to crop at
            pose = load_pose(self.poses_root, key, cfg.num_frames, 3, frame_count=count, frame_numbers=numbers)
        raw_width: int | None = None
        if self.needs_video:
            video, raw_width = load_clip_video(self.files[key], positions, cfg, pose, rng, flip,
                                               pred_comp_path(self.poses_root, key[0], key[1])
                                               if self.poses_root is not None else None)
            item["video"] = torch.from_numpy(video)
        if pose is not None and cfg.use_hse:
            if flip and raw_width is not None:
                pose = flip_keypoints(pose, float(raw_width)).astype(np.float32)
            item["pose"] = torch.from_numpy(np.ascontiguousarray(pose[..., :cfg.pose_channels]))
        return item
