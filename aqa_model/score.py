"""Scoring one new dive end to end (``fdpose score``).

Input: a video file or a folder of frames, its dive number, a trained checkpoint, and an
exemplar dataset (FineDiving layout: frames, annotation pickles, poses). The clip is sampled
exactly like the AQA loader (``aligned_indices``: frame-file numbers for folders, 0..T-1 for
videos), preprocessed like the evaluation data (centre crop, ImageNet normalisation), encoded
once, and compared with ``num_exemplars`` (10) seeded training clips of the same dive number
(any dive number with ``use_dive_number=False``); the score is the mean of the votes.

Pose: configs with the skeletal encoder need the clip's pose: a ``pred_comp_*.npz`` (already
sampled, n rows), a pipeline clip JSON (per-frame keypoints, sampled here, missing joints
filled by :func:`fill_nonfinite`) or a synth ground-truth JSON (oracle pose). The pipeline's clip
JSON contract belongs to the pipeline stage, so the caller passes its reader
(``ScoreRequest.read_clip_pose``, :func:`fdpose.cli.score_pose.read_clip_pose`): this stage imports
no pipeline module. Without one, ``ScoreRequest.estimate_pose`` is called with the clip and must
return such a file: the caller above the stages (``fdpose score``, :mod:`fdpose.cli.score_pose`)
runs the tracking + pose pipeline there, so this stage never drives another one; ``mcore`` needs
no pose.

Per-stage contributions: every vote is S_e + sum_k w_k delta_k, so the voted score is
``exemplar_mean + sum_k contribution_k`` with ``contribution_k = mean over votes of
w_k delta_k``. Stage boundaries are the predicted transitions (first sampled frame of the next
stage) mapped back to 0-based frame positions of the clip.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

from fdpose.aqa_model.checkpoint import model_from_checkpoint
from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.data import clip_dataset, load_aqa_annotations
from fdpose.aqa_model.data.finediving import key_name, load_clip_video, pose_rows
from fdpose.aqa_model.distributed import pick_device
from fdpose.aqa_model.evaluate import encode_clips
from fdpose.aqa_model.model import HPMCoRe, VideoEncoding
from fdpose.aqa_model.regression import final_from_target, regression_target
from fdpose.synth.oracle import gt_keypoints, is_gt_doc, write_oracle_poses
from fdpose.errors import ConfigError, InputError, ValidationError
from fdpose.finediving import FineDivingAnnotations, Key
from fdpose.io import read_json
from fdpose.sampling import (
    NUM_SAMPLED_FRAMES,
    aligned_indices,
    fill_nonfinite,
    read_pred_comp,
    resample_rows,
    sample_keypoints,
)
from fdpose.video import frame_numbers as numbers_of_files  # (read_query_pose has a frame_numbers argument)
from fdpose.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, iter_video, list_images, probe_video

log = logging.getLogger(__name__)

STAGE_NAMES: dict[int, tuple[str, ...]] = {1: ("dive",), 2: ("take-off", "flight+entry"),
                                           3: ("take-off", "flight", "entry")}
ENTRY_SPLIT_NAMES: tuple[str, ...] = ("take-off+flight", "entry")  # num_stages 2, stage_split "entry" (2*)


#: Reads a parsed pipeline clip JSON (document, path) -> keypoints (T, 16, 3), frame-file names or None.
ClipPoseReader = Callable[[dict[str, Any], Path], tuple[np.ndarray, "list[str] | None"]]


@dataclass
class ScoreRequest:
    """Inputs of :func:`score_clip` (paths as given on the command line)."""

    clip: Path
    checkpoint: Path
    annotations: Path
    dive_number: str | None = None
    use_dive_number: bool = True
    exemplar_root: Path | None = None
    poses_root: Path | None = None
    poses_from_gt: Path | None = None
    pose_file: Path | None = None
    num_exemplars: int = 10
    seed: int = 0
    device: str = "auto"
    dataset: str = "finediving"  # annotation format of ``annotations`` (fdpose.aqa_model.data.DATASETS)
    difficulty: float | None = None  # the clip's difficulty: needed by DD-mode models (score_target "dd")
    # How to get the pose when ``pose_file`` is None and the model needs one: called with ``clip``,
    # returns the path of a pipeline clip JSON (the caller runs track-and-estimate there).
    estimate_pose: Callable[[Path], Path] | None = None
    # How to read a pipeline clip JSON (``pose_file`` or the estimated one): called with the parsed
    # document and its path, returns its keypoints (T, 16, 3) and frame-file names (or None).
    read_clip_pose: ClipPoseReader | None = None


@dataclass
class ClipFrames:
    """The sampled, preprocessed frames of the clip: video (n, 3, S, S); positions (n,) into the clip."""

    video: np.ndarray | None
    positions: np.ndarray
    frame_count: int
    frame_numbers: list[int] | None
    fps: float | None


def read_clip(path: Path, cfg: AQAConfig, need_video: bool, pose: np.ndarray | None = None) -> ClipFrames:
    """Sample ``cfg.num_frames`` frames of a frame folder or a video file (see module docstring).

    pose: (n, 16, C) the clip's pose at the sampled frames, for configs that crop around the diver.
    """
    path = Path(path)
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise InputError(f"folder holds no images ({', '.join(IMAGE_SUFFIXES)})", path)
        numbers = numbers_of_files(files)
        positions = aligned_indices(len(files), numbers, cfg.num_frames)
        video = load_clip_video(files, positions, cfg, pose, where=path)[0] if need_video else None
        return ClipFrames(video, positions, len(files), numbers, None)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(f"not a frame folder or a video ({', '.join(VIDEO_SUFFIXES)})", path)
    fps = probe_video(path).fps
    frames = list(iter_video(path))
    if not frames:
        raise InputError("video has no decodable frames", path)
    positions = aligned_indices(len(frames), None, cfg.num_frames)
    video = None
    if need_video:
        # Lossless PNGs of the sampled frames: the dataset's own reader does the preprocessing.
        with tempfile.TemporaryDirectory(prefix="fdpose_score_") as tmp:
            files = []
            for pos in sorted(set(int(p) for p in positions)):
                f = Path(tmp) / f"{pos:06d}.png"
                cv2.imwrite(str(f), frames[pos])
                files.append(f)
            by_pos = {int(f.stem): i for i, f in enumerate(files)}
            video = load_clip_video(files, np.array([by_pos[int(p)] for p in positions]), cfg, pose, where=path)[0]
    return ClipFrames(video, positions, len(frames), None, fps)


def read_query_pose(path: Path, cfg: AQAConfig, frame_count: int | None, frame_numbers: list[int] | None,
                    read_clip_pose: ClipPoseReader | None = None) -> np.ndarray:
    """The clip's pose at the sampled frames: (n, 16, pose_channels) float32.

    read_clip_pose: the reader of a pipeline clip JSON (see :class:`ScoreRequest`); without it
    such a file is refused in one line.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        if cfg.num_frames != NUM_SAMPLED_FRAMES and frame_count is not None and pose_rows(path) == NUM_SAMPLED_FRAMES:
            # a standard 96-row file for a model that samples fewer frames: nearest rows
            pred = resample_rows(read_pred_comp(path, n=NUM_SAMPLED_FRAMES), frame_count, frame_numbers,
                                 cfg.num_frames)
        else:
            pred = read_pred_comp(path, n=cfg.num_frames)
    elif path.suffix.lower() == ".json":
        doc = read_json(path)
        if is_gt_doc(doc):
            keypoints, numbers = gt_keypoints(doc, path)
        elif read_clip_pose is None:
            raise InputError("a pipeline clip JSON needs the pipeline's reader (ScoreRequest.read_clip_pose)", path)
        else:
            keypoints, names = read_clip_pose(doc, path)
            numbers = None if names is None else numbers_of_files(names)
        if frame_count is not None and keypoints.shape[0] != frame_count:
            raise ValidationError(f"pose covers {keypoints.shape[0]} frames but the clip has {frame_count}", path)
        pred = fill_nonfinite(sample_keypoints(keypoints, frame_numbers or numbers, cfg.num_frames))
    else:
        raise InputError("pose must be a pred_comp .npz, a pipeline clip JSON or a synth gt JSON", path)
    pred = np.asarray(pred, np.float32)
    if pred.shape[2] == 2 and cfg.pose_channels == 3:
        pred = np.concatenate([pred, np.ones_like(pred[..., :1])], axis=-1)
    return pred[..., :cfg.pose_channels]


#: Fewer frames than this is not a dive clip (a dive lasts seconds: dozens of frames): ``score`` refuses it
#: instead of scoring a still image repeated ``num_frames`` times.
MIN_CLIP_FRAMES = 8


def pick_exemplars(ann: FineDivingAnnotations, dive_number: str | None, count: int, seed: int = 0) -> list[Key]:
    """``count`` seeded training clips of ``dive_number`` (any clip when None), repeated cyclically."""
    pool = sorted(k for k in ann.train if k in ann.fine)
    if not pool:
        raise InputError("the exemplar annotations have no training clips with fine-grained records", ann.source)
    wanted = None if dive_number is None else dive_number.strip().lower()  # '407C' and '407c' are one dive
    if wanted is not None:
        pool = [k for k in pool if ann.fine[k].action_type.lower() == wanted]
        if not pool:
            known = sorted({ann.fine[k].action_type for k in ann.train if k in ann.fine})
            shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
            raise ConfigError(f"no training clip with dive number {dive_number!r} (known: {shown}); "
                              "use --no-dive-number to compare with any dive")
    chosen = random.Random(f"{seed}|score|{wanted or '*'}").sample(pool, min(count, len(pool)))
    return [chosen[i % len(chosen)] for i in range(count)]


def _stages(transitions: list[int], positions: np.ndarray, frame_count: int, contributions: list[float],
            weights: list[float], deltas: list[float], fps: float | None,
            split: str = "takeoff") -> list[dict[str, Any]]:
    k = len(contributions)
    names = (ENTRY_SPLIT_NAMES if k == 2 and split == "entry"
             else STAGE_NAMES.get(k, tuple(f"stage {i + 1}" for i in range(k))))
    n = len(positions)
    t = sorted(int(x) for x in transitions)
    first_samples = [0, *t]
    first_frames = [0, *(int(positions[min(x, n - 1)]) for x in t)]
    out = []
    for i in range(k):
        last_sample = (first_samples[i + 1] - 1) if i + 1 < k else n - 1
        last_frame = (first_frames[i + 1] - 1) if i + 1 < k else frame_count - 1
        entry: dict[str, Any] = {
            "index": i, "name": names[i], "first_sample": first_samples[i],
            "last_sample": max(last_sample, first_samples[i]), "first_frame": first_frames[i],
            "last_frame": max(last_frame, first_frames[i]), "contribution": contributions[i],
            "weight": weights[i], "mean_delta": deltas[i]}
        if fps:
            entry["start_seconds"] = round(first_frames[i] / fps, 3)
        out.append(entry)
    return out


@torch.no_grad()
def score_encoded(model: HPMCoRe, query: VideoEncoding, exemplars: list[VideoEncoding],
                  exemplar_scores: list[float]) -> dict[str, Any]:
    """Votes of one encoded query against encoded exemplars -> score, votes, stage parts."""
    device = next(iter(query.stages.values())).device
    e = VideoEncoding.cat(exemplars).to(device)
    q = VideoEncoding.cat([query] * len(exemplars)).to(device)
    out = model.compare(q, e, torch.tensor(exemplar_scores, dtype=torch.float32, device=device))
    weighted = (out.stage_deltas * out.stage_weights).mean(dim=0)
    return {"score": float(out.score.mean()), "votes": out.score.tolist(),
            "contributions": weighted.tolist(), "weights": out.stage_weights.tolist(),
            "mean_deltas": out.stage_deltas.mean(dim=0).tolist()}


def score_clip(req: ScoreRequest) -> dict[str, Any]:
    """Score one clip (module docstring) -> a JSON-ready dict."""
    if req.use_dive_number and not req.dive_number:
        raise ConfigError("--dive-number is needed to pick exemplars (or pass --no-dive-number)")
    if req.num_exemplars < 1:
        raise ConfigError(f"--num-exemplars must be >= 1, got {req.num_exemplars}")
    device = pick_device(req.device)
    model, state, ckpt = model_from_checkpoint(req.checkpoint, device)
    cfg = model.config
    mode = cfg.score_target
    if mode == "dd" and (req.difficulty is None or not req.difficulty > 0):
        # its votes are score / difficulty: a final score needs the clip's own difficulty
        raise ConfigError("this model regresses score / difficulty (score_target 'dd', Table II): pass the clip's "
                          f"difficulty (--difficulty > 0, got {req.difficulty})", req.checkpoint)
    qd = float(req.difficulty) if mode == "dd" and req.difficulty is not None else 1.0
    need_video = cfg.use_dve or cfg.use_sve
    # sampled positions first (cheap, no pixels): a clip too short to be a dive stops here, before the pipeline
    frames = read_clip(req.clip, cfg, False)
    if frames.frame_count < MIN_CLIP_FRAMES:
        raise InputError(f"{frames.frame_count} frame(s): too few for a dive (at least {MIN_CLIP_FRAMES}: the model "
                         f"samples {cfg.num_frames} frames over take-off, flight and entry)", req.clip)
    pose_file = req.pose_file
    pose_models = None  # the detector and pose model that made the pose, when this call estimated it
    if cfg.needs_pose and pose_file is None:
        if req.estimate_pose is None:
            raise ConfigError(f"the {cfg.name!r} model uses the diver's pose: pass --pose FILE or pipeline settings")
        pose_file = req.estimate_pose(req.clip)
        pose_models = json.loads(Path(pose_file).read_text()).get("backends")
    if need_video and req.exemplar_root is None:
        raise ConfigError(f"the {cfg.name!r} model reads video: pass --exemplars FRAME_ROOT of the exemplar dataset")
    if req.pose_file is not None and not cfg.needs_pose:
        log.warning("the %s model uses no pose: --pose is ignored", cfg.name)
    pose = (read_query_pose(pose_file, cfg, frames.frame_count, frames.frame_numbers, req.read_clip_pose)
            if cfg.needs_pose and pose_file is not None else None)
    if need_video:
        frames = read_clip(req.clip, cfg, True, pose)

    ann = load_aqa_annotations(req.annotations, req.dataset)
    dive = req.dive_number if req.use_dive_number else None
    chosen = pick_exemplars(ann, dive, req.num_exemplars, req.seed)
    poses_root: Path | str | None = req.poses_root
    tmp: tempfile.TemporaryDirectory[str] | None = None
    try:
        if cfg.needs_pose and poses_root is None:
            if req.poses_from_gt is None:
                raise ConfigError("the exemplars need poses: pass --poses DIR or --poses-from-gt GT_DIR")
            tmp = tempfile.TemporaryDirectory(prefix="fdpose_oracle_")
            write_oracle_poses(req.poses_from_gt, tmp.name, cfg.num_frames, set(chosen))
            poses_root = tmp.name
        dataset = clip_dataset(ann, sorted(set(chosen)), cfg, req.exemplar_root, poses_root)
        encoded = encode_clips(model, dataset, chosen, device)
    finally:
        if tmp is not None:
            tmp.cleanup()
    video_t = None if frames.video is None else torch.from_numpy(frames.video)[None].to(device)
    pose_t = None if pose is None or not cfg.use_hse else torch.from_numpy(pose)[None].to(device)
    with torch.no_grad():
        query = model.encode(video_t, pose_t)
    targets = [regression_target(encoded[k].score, encoded[k].difficulty, mode) for k in chosen]
    votes = score_encoded(model, query, [encoded[k].encoding for k in chosen], targets)
    if mode == "dd":  # back to final scores with the clip's difficulty (votes, stage parts, their sum)
        votes = {**votes, **{name: [final_from_target(float(v), qd, mode) for v in votes[name]]
                             for name in ("votes", "contributions", "mean_deltas")},
                 "score": final_from_target(float(votes["score"]), qd, mode)}
    transitions = query.pred_transitions[0].tolist()
    ex_scores = [encoded[k].score for k in chosen]
    return {
        "clip": str(req.clip), "checkpoint": str(ckpt), "config": cfg.name, "epoch": int(state.get("epoch", 0)),
        "dive_number": dive, "score": votes["score"],
        "exemplar_mean": final_from_target(float(np.mean(targets)), qd, mode), "difficulty": req.difficulty,
        "stage_contribution_sum": float(np.sum(votes["contributions"])),
        "exemplars": [{"key": key_name(k), "score": s, "vote": v} for k, s, v in zip(chosen, ex_scores, votes["votes"])],
        "stages": _stages(transitions, frames.positions, frames.frame_count, votes["contributions"], votes["weights"],
                          votes["mean_deltas"], frames.fps, cfg.stage_split),
        "transitions_sampled": transitions, "frame_count": frames.frame_count, "sampled_frames": cfg.num_frames,
        "pose": None if pose is None else str(pose_file),
        "pose_estimated": pose is not None and req.pose_file is None,
        "pose_models": pose_models,
    }
