"""Batch runner of ``fdpose track-and-estimate``: clips -> per-clip JSON + ``pred_comp`` npz.

One clip goes through the stages of method.md 2.2 (:func:`process_clip`):

1. *detect*: frames are decoded one batch at a time and handed to the detector (the ``file``
   backend needs no pixels: its frames are not decoded at all);
2. *track*: the two-pass nearest-neighbour tracker (:mod:`fdpose.pipelines.tracking`) picks
   the diver's box per frame; a clip without any candidate ("no person") or with two divers
   side by side (:func:`fdpose.pipelines.tracking.synchronised_partner`) is skipped;
3. *pose*: frames are decoded again (streaming: a long video is never held in memory) and the
   pose backend estimates 16 joints on the tracked boxes, batched across frames;
4. *interpolate* (Eq. 27) and *sample* the 96 indices with the clip's frame numbers;
5. *write*: ``OUT/pose/{match}/pred_comp_{idx}.npz`` first, then ``OUT/{clip_id}.json``; both
   atomically, and the JSON (validated on resume) is the completion marker, so a run killed
   at any moment loses at most the clip in flight.

The batch (:func:`run_batch`) takes its share of the clips under ``torchrun`` (clip i goes to
rank ``i % WORLD_SIZE``), skips complete clips with ``resume``, runs clips in ``workers``
spawned processes, and turns every per-clip failure into a reported ``failed`` outcome: one
bad clip never stops the batch. A bad backend (checkpoint, config, device) is checked once up front
and stops the run. Resume redoes clips whose settings changed or whose files do not load
(:mod:`fdpose.pipelines.resume`).
"""

from __future__ import annotations

import errno
import logging
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np

from fdpose.errors import ConfigError, FdposeError, InputError
from fdpose.io import remove_stale_temps
from fdpose.logs import configure_process
from fdpose.pipelines.decode import STAGES, StageTimer, frames_at, timed_batches
from fdpose.pipelines.detectors.base import BackendInfo
from fdpose.pipelines.clip_json import ClipPoses, write_clip_json
from fdpose.pipelines.frames import ClipSource, FrameTreeClip, discover_clips
from fdpose.pipelines.interpolate import InterpolationConfig, interpolate_joints
from fdpose.pipelines.resume import RECORD_KEY, resume_record, stale_reason
from fdpose.sampling import (NUM_SAMPLED_FRAMES, aligned_indices, fill_nonfinite, pred_comp_path,
                             split_clip_id, write_pred_comp)
from fdpose.pipelines.tracking import TrackerConfig, TrackResult
from fdpose.pipelines.tracking.camera import CameraMotion
from fdpose.pipelines.tracking.clip import ClipPixels, track_clip
from fdpose.records import JointSource
from fdpose.runtime import apply_threads, dist_env, resolve_device
from fdpose.skeleton import NUM_JOINTS

log = logging.getLogger(__name__)

__all__ = ["RunConfig", "ClipOutcome", "RunSummary", "ClipSkipped", "process_clip", "run_batch", "shard",
           "output_paths", "STAGES"]

class ClipSkipped(FdposeError):
    """A clip that is readable but not usable (no person, two divers): reported, not failed."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; picklable, so spawned workers rebuild their backends from it."""

    out: Path
    detector: str = "file"
    detections: Optional[Path] = None
    det_config: Optional[Path] = None
    det_checkpoint: Optional[Path] = None
    pose: str = "hrnet"
    pose_config: Optional[Path] = None
    pose_checkpoint: Optional[Path] = None
    frames: int = NUM_SAMPLED_FRAMES
    init_box: Optional[tuple[float, float, float, float]] = None
    resume: bool = False
    workers: int = 1
    device: str = "cpu"
    save_overlay: bool = False
    batch_size: int = 16
    flip_test: bool = False
    # torch threads per process (None: leave this process's setting; spawned workers choose
    # automatically, fdpose.runtime); the CLI passes its choice.
    threads: Optional[int] = None
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    #: fields of the pose backend's config changed for this run (``--pose-set``; mediapipe only)
    pose_options: dict[str, Any] = field(default_factory=dict)
    interpolation: InterpolationConfig = field(default_factory=InterpolationConfig)

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ConfigError(f"--frames must be >= 1, got {self.frames}")
        if self.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {self.workers}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {self.batch_size}")

    def settings(self) -> dict[str, Any]:
        """The ``settings`` object of the per-clip JSON (what shaped the result)."""
        out = {"frames": self.frames, "init_box": list(self.init_box) if self.init_box else None,
               "flip_test": self.flip_test, "tracker": self.tracker.to_dict(),
               "interpolation": asdict(self.interpolation)}
        if self.pose_options:
            out["pose_options"] = dict(self.pose_options)
        return out


@dataclass
class ClipOutcome:
    """What happened to one clip. status: done | skipped | failed; seconds and frames per stage."""

    clip_id: str
    status: str
    reason: Optional[str] = None
    frames: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    interpolated_joints: int = 0
    total_joints: int = 0
    tracker_losses: int = 0
    tracked_frames: int = 0
    pose_model_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunSummary:
    """Totals of a run (printed as a table, or JSON with ``--json``)."""

    outcomes: list[ClipOutcome]
    wall_seconds: float
    rank: int = 0
    world_size: int = 1
    #: The models that ran: ``{"detector": BackendInfo dict, "pose": BackendInfo dict}``.
    models: dict[str, Any] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def to_dict(self) -> dict[str, Any]:
        done = [o for o in self.outcomes if o.status == "done"]
        frames = sum(o.frames for o in done)
        per_stage = {}
        for stage in STAGES:
            secs = sum(o.seconds.get(stage, 0.0) for o in done)
            per_stage[stage] = {"seconds": round(secs, 4), "frames_per_s": round(frames / secs, 2) if secs > 0 else None}
        total_secs = sum(sum(o.seconds.values()) for o in done)
        joints = sum(o.total_joints for o in done)
        return {
            "clips": {"done": self.count("done"), "skipped": self.count("skipped"), "failed": self.count("failed"),
                      "total": len(self.outcomes)},
            "rank": self.rank, "world_size": self.world_size,
            "models": self.models,
            "frames": frames,
            "stages": per_stage,
            "pipeline_frames_per_s": round(frames / total_secs, 2) if total_secs > 0 else None,
            "pose_model_seconds": round(sum(o.pose_model_seconds for o in done), 4),
            "interpolated_share": round(sum(o.interpolated_joints for o in done) / joints, 6) if joints else 0.0,
            "tracker_losses": sum(o.tracker_losses for o in done),
            "wall_seconds": round(self.wall_seconds, 3),
            "clips_detail": [o.to_dict() for o in self.outcomes],
        }


def output_paths(out: Path, clip_id: str) -> tuple[Path, Optional[Path]]:
    """(clip JSON, pred_comp npz) of a clip; the npz is None for ids without ``{match}__{idx}``."""
    json_path = Path(out) / f"{clip_id}.json"
    try:
        match, idx = split_clip_id(clip_id)
    except FdposeError:
        return json_path, Path(out) / "pose" / clip_id / f"pred_comp_{clip_id}.npz"
    return json_path, pred_comp_path(Path(out) / "pose", match, idx)


def _stale_reason(cfg: RunConfig, clip_id: str, record: dict[str, Any]) -> Optional[str]:
    """None when ``--resume`` may keep the clip's outputs, else why it is redone (:mod:`fdpose.pipelines.resume`)."""
    json_path, npz_path = output_paths(cfg.out, clip_id)
    return stale_reason(json_path, npz_path, clip_id, record, cfg.frames)


def _detect(source: ClipSource, cfg: RunConfig, detector: Any, timer: StageTimer
            ) -> tuple[list[np.ndarray], int, int, int, Optional[CameraMotion], Optional[np.ndarray]]:
    """Candidates of every frame, the clip's (frame count, width, height) and, when the tracker
    asks for them and the frames are decoded, the camera motion measured from the pixels and the
    repeated frames' sources (:mod:`fdpose.pipelines.tracking.repeats`)."""
    info = source.probe()
    if cfg.detector == "file" and (info.frame_count_exact or isinstance(source, FrameTreeClip)):
        start = time.perf_counter()
        if hasattr(detector, "check_frame_count"):
            detector.check_frame_count(info.frame_count)
        cands = detector.detect([], list(range(info.frame_count)))
        timer.add("detect", start)
        return cands, info.frame_count, info.width, info.height, None, None  # (no pixels: the box vote)
    pixels = ClipPixels(cfg.tracker)
    cands: list[np.ndarray] = []
    n = 0
    for frames in timed_batches(source, cfg.batch_size, timer):
        start = time.perf_counter()
        boxes = detector.detect([f.image for f in frames], [f.frame_index for f in frames])
        cands.extend(boxes)
        start = timer.add("detect", start)
        for f, b in zip(frames, boxes):  # (the frames are decoded here anyway: the tracker's measurements)
            pixels.add(f.image, b)
        timer.add("track", start)
        n += len(frames)
    if n == 0:
        raise FdposeError("video decodes to no frames", source.path)
    if hasattr(detector, "check_frame_count"):
        detector.check_frame_count(n)
    return cands, n, info.width, info.height, pixels.camera(), pixels.sources()


def _estimate_poses(source: ClipSource, cfg: RunConfig, pose: PoseBackend, track: TrackResult, n: int,
                    timer: StageTimer, sources: Optional[np.ndarray] = None) -> tuple[np.ndarray, float]:
    """(T, 16, 3) keypoints (NaN where no box) and the seconds spent inside the pose model.

    sources: (T,) the distinct frame each frame shows (:class:`~fdpose.pipelines.tracking.clip.ClipTrack`);
    a repeated frame takes its source frame's keypoints instead of a second model run: the same picture
    and box must give the same pose (a stateful backend such as mediapipe's orientation prior would
    answer differently on the second run), and the run is cheaper.
    """
    kps = np.full((n, NUM_JOINTS, 3), np.nan)
    kps[..., 2] = 0.0
    model_seconds = 0.0
    if not np.isfinite(track.boxes[:, 0]).any():
        return kps, model_seconds
    distinct = np.ones(n, dtype=bool) if sources is None else np.asarray(sources)[:n] == np.arange(n)
    for frames in timed_batches(source, cfg.batch_size, timer):
        start = time.perf_counter()
        items = [(f.frame_index, f.image, track.boxes[f.frame_index, :4]) for f in frames
                 if f.frame_index < n and distinct[f.frame_index] and np.isfinite(track.boxes[f.frame_index, 0])]
        if items:
            m0 = time.perf_counter()
            out = pose.estimate_many([(img, box) for _, img, box in items])
            model_seconds += time.perf_counter() - m0
            for (t, _, _), joints in zip(items, out):
                kps[t] = joints
        timer.add("pose", start)
    if sources is not None:
        for t in np.flatnonzero(~distinct):  # (ascending: a source always precedes its repeats)
            kps[t] = kps[int(sources[t])]
    return kps, model_seconds


def process_clip(source: ClipSource, cfg: RunConfig, detector_factory: Callable[[str], Any],
                 pose: PoseBackend) -> ClipOutcome:
    """Run every stage on one clip and write its outputs (raises on failure; see run_batch)."""
    timer = StageTimer()
    if hasattr(pose, "reset"):
        pose.reset()  # per-clip state (e.g. mediapipe's previous body axis) must not leak across clips
    if cfg.init_box is not None:  # a seed off the image would silently lose every frame
        info = source.probe()
        x1, y1, x2, y2 = cfg.init_box
        if x2 <= 0 or y2 <= 0 or x1 >= info.width or y1 >= info.height:
            raise ConfigError(f"--init-box {x1:g},{y1:g},{x2:g},{y2:g} lies outside the {info.width}x{info.height} "
                              "image", source.path)
    detector = detector_factory(source.clip_id)
    cands, n, width, height, camera, sources = _detect(source, cfg, detector, timer)
    start = time.perf_counter()
    # (local re-detection re-decodes only the frames it searches; never with the file detector)
    clip_track = track_clip(cands, cfg.tracker, frames=None if cfg.detector == "file" else (
        lambda idx: frames_at(source, idx)), detector=detector, sources=sources, image_size=(width, height),
        camera=camera, init_box=cfg.init_box, fps=source.probe().fps)
    track = clip_track.track
    timer.add("track", start)
    if not track.found:
        raise ClipSkipped(f"no person detected in {n} frames", source.path)
    if clip_track.partner is not None:
        raise ClipSkipped(f"synchronised dive: a second diver beside the tracked one in {clip_track.partner} frames",
                          source.path)
    kps, model_seconds = _estimate_poses(source, cfg, pose, track, n, timer, clip_track.sources)
    start = time.perf_counter()
    src = np.full((n, NUM_JOINTS), JointSource.ESTIMATED.value, dtype=object)
    src[~np.isfinite(kps[..., 0])] = JointSource.MISSING.value
    icfg = interpolation_for(cfg, pose)
    filled = interpolate_joints(kps, src, icfg)
    numbers = source.frame_numbers()
    sampled = aligned_indices(n, numbers if numbers is not None and None not in numbers else None, cfg.frames)
    timer.add("interpolate", start)
    start = time.perf_counter()
    json_path, npz_path = output_paths(cfg.out, source.clip_id)
    info = source.probe()
    names = None
    if isinstance(source, FrameTreeClip):
        names = [p.name for p in source.files()][:n]
    clip = ClipPoses(clip_id=source.clip_id, source=source.describe(), fps=info.fps, width=width, height=height,
                     detector=detector.info, pose=pose.info, boxes=track.boxes, keypoints=filled.keypoints,
                     joint_source=filled.joint_source, track=[d.value for d in track.decisions],
                     sampled_indices=sampled, file_names=names,
                     settings={**cfg.settings(), "interpolation": asdict(icfg), RECORD_KEY: resume_record(cfg)})
    # The JSON is the clip's "done" marker: an old one must not vouch for a new npz, and an npz whose JSON
    # could not be written (disk full, size limit) is removed rather than left without it.
    json_path.unlink(missing_ok=True)
    try:
        if npz_path is not None:
            write_pred_comp(npz_path, fill_nonfinite(clip.sampled_keypoints()), cfg.frames)
        write_clip_json(json_path, clip)  # last: its presence marks the clip complete
    except BaseException:
        if npz_path is not None:
            npz_path.unlink(missing_ok=True)
        raise
    timer.add("write", start)
    if cfg.save_overlay:
        _save_overlay(source, clip, cfg.out)
    srcs = filled.joint_source.astype(str)
    summary = track.summary()
    return ClipOutcome(source.clip_id, "done", None, n, {k: round(v, 6) for k, v in timer.seconds.items()},
                       int(np.sum(srcs == JointSource.INTERPOLATED.value)), int(srcs.size),
                       summary["lost"], summary["tracked_frames"], round(model_seconds, 6))


def interpolation_for(cfg: RunConfig, pose: Any) -> InterpolationConfig:
    """The interpolation rule of a run: the pose backend's confidence threshold
    (``interpolation_min_confidence``, e.g. mediapipe's 0) unless the run set its own rule."""
    hint = getattr(pose, "interpolation_min_confidence", None)
    if hint is None or cfg.interpolation != InterpolationConfig():
        return cfg.interpolation
    return replace(cfg.interpolation, min_confidence=float(hint))


def _save_overlay(source: ClipSource, clip: ClipPoses, out: Path) -> None:
    from fdpose.pipelines import overlay

    overlay.write_overlay(source, clip, Path(out) / "overlay")


# ---- backends ---------------------------------------------------------------------------

class PoseBackend(Protocol):
    """A pose stage: ``estimate_many([(image_bgr (H, W, 3) uint8, box (4,) xyxy), ...])`` ->
    (N, 16, 3) ``[x, y, confidence]`` in image pixels, MPII order."""

    @property
    def info(self) -> BackendInfo: ...

    def estimate_many(self, crops: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray: ...


def make_pose(cfg: RunConfig) -> PoseBackend:
    """Build the pose backend named by ``cfg.pose`` (hrnet | mediapipe)."""
    if cfg.pose == "hrnet":
        if cfg.pose_checkpoint is not None and not Path(cfg.pose_checkpoint).is_file():
            raise InputError("pose checkpoint not found", cfg.pose_checkpoint)
        from fdpose.pipelines.pose import hrnet

        return hrnet.make_backend(cfg)
    if cfg.pose == "mediapipe":
        from fdpose.pipelines.pose import mediapipe as mp_pose

        return mp_pose.make_backend(cfg)
    raise ConfigError(f"unknown pose backend {cfg.pose!r} (hrnet | mediapipe)")


def make_detector(cfg: RunConfig) -> Callable[[str], Any]:
    """A factory clip_id -> PersonDetector for ``cfg.detector`` (ssd | file | mediapipe | mmdet)."""
    if cfg.detector == "file":
        from fdpose.pipelines.detectors.file import FileDetector

        if cfg.detections is None:
            raise ConfigError("--detector file needs --detections DIR")
        files = FileDetector(cfg.detections)
        return files.for_clip
    if cfg.detector in ("ssd", "mediapipe", "mmdet"):
        import importlib

        module = importlib.import_module(f"fdpose.pipelines.detectors.{cfg.detector}")
        shared = module.make_detector(cfg)
        return lambda _clip_id: shared
    raise ConfigError(f"unknown detector {cfg.detector!r} (ssd | file | mediapipe | mmdet)")


# ---- batch ------------------------------------------------------------------------------

def shard(items: Sequence[Any], rank: int, world_size: int) -> list[Any]:
    """Items i with ``i % world_size == rank`` (torchrun sharding: every item done exactly once)."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(f"bad torchrun rank {rank} of world size {world_size}")
    return [x for i, x in enumerate(items) if i % world_size == rank]


def dist_rank() -> tuple[int, int]:
    """(RANK, WORLD_SIZE) from the environment torchrun sets; (0, 1) outside torchrun."""
    env = dist_env()
    return env.rank, env.world_size


_WORKER: dict[str, Any] = {}


def _worker_state(cfg: RunConfig) -> tuple[Callable[[str], Any], PoseBackend]:
    """Backends of this process, built once (models are loaded once per worker, not per clip)."""
    if _WORKER.get("cfg") != cfg:
        _WORKER.clear()
        if cfg.threads is not None or mp.parent_process() is not None:
            apply_threads(cfg.threads, processes=cfg.workers * dist_env().local_world_size)
        _WORKER.update(cfg=cfg, detector=make_detector(cfg), pose=make_pose(cfg))
    return _WORKER["detector"], _WORKER["pose"]


#: A full disk, a file-size limit (ulimit -f) or an exhausted quota: every later write fails the same way.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def _run_one(args: tuple[ClipSource, RunConfig]) -> ClipOutcome:
    source, cfg = args
    try:
        detector_factory, pose = _worker_state(cfg)
        return process_clip(source, cfg, detector_factory, pose)
    except ClipSkipped as exc:
        log.warning("skipped %s: %s", source.clip_id, exc)
        return ClipOutcome(source.clip_id, "skipped", str(exc))
    except FdposeError as exc:
        log.error("failed %s: %s", source.clip_id, exc)
        return ClipOutcome(source.clip_id, "failed", str(exc))
    except OSError as exc:  # an output that cannot be written (disk full, size limit, permissions)
        if exc.errno in DISK_FULL_ERRNOS:
            raise  # no later clip can be written either: the batch stops with one error naming the file
        log.error("failed %s: %s", source.clip_id, " ".join(str(exc).split()))
        log.debug("failed %s", source.clip_id, exc_info=True)
        return ClipOutcome(source.clip_id, "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    except Exception as exc:  # one broken clip (decoder crash, model error) must not end the batch
        log.exception("failed %s", source.clip_id)
        return ClipOutcome(source.clip_id, "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}")


def run_batch(inputs: Sequence[str | Path], cfg: RunConfig, progress: bool = True,
              rank: Optional[int] = None, world_size: Optional[int] = None) -> RunSummary:
    """Process every clip of ``inputs`` (this rank's share); see the module docstring."""
    t0 = time.perf_counter()
    if rank is None or world_size is None:
        rank, world_size = dist_rank()
    clips = shard(discover_clips(inputs), rank, world_size)
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    remove_stale_temps(cfg.out)  # temp files of a killed run (their writer's pid is gone); live ranks' are kept
    outcomes: list[ClipOutcome] = []
    todo: list[ClipSource] = []
    models: dict[str, Any] = {"detector": {"name": cfg.detector}, "pose": {"name": cfg.pose}}
    record = resume_record(cfg) if cfg.resume else {}
    for clip in clips:
        reason = _stale_reason(cfg, clip.clip_id, record) if cfg.resume else "no output"
        if reason is None:
            outcomes.append(ClipOutcome(clip.clip_id, "skipped", "complete (resume)"))
            continue
        if reason != "no output":
            log.info("redoing %s: %s", clip.clip_id, reason)
        todo.append(clip)
    if todo:
        # Build the backends once up front: a bad checkpoint, config or device is one error (exit 2), not N
        # failed clips; in one process the backends are reused, workers build their own.
        resolve_device(cfg.device)
        models = _models_that_run(cfg, *_worker_state(cfg))
        if cfg.workers > 1 and len(todo) > 1:
            _WORKER.clear()  # the spawned workers build their own: free this process's copy
        from fdpose.progress import tqdm

        bar = tqdm(total=len(todo), desc=f"clips (rank {rank})" if world_size > 1 else "clips", unit="clip",
                   disable=not progress, file=None)
        jobs = [(c, cfg) for c in todo]
        if cfg.workers > 1 and len(todo) > 1:
            ctx = mp.get_context("spawn")  # fork is unsafe with torch / mediapipe threads
            # the workers log as this process does (level from -v/-q, the CLI's line format)
            with ctx.Pool(min(cfg.workers, len(todo)), initializer=configure_process,
                          initargs=(logging.getLogger().getEffectiveLevel(),)) as pool:
                for outcome in pool.imap(_run_one, jobs):
                    outcomes.append(outcome)
                    bar.update(1)
        else:
            for job in jobs:
                outcomes.append(_run_one(job))
                bar.update(1)
        bar.close()
    order = {c.clip_id: i for i, c in enumerate(clips)}
    outcomes.sort(key=lambda o: order.get(o.clip_id, len(order)))
    return RunSummary(outcomes, time.perf_counter() - t0, rank, world_size, models)


def _models_that_run(cfg: RunConfig, detector_factory: Callable[[str], Any], pose: Any) -> dict[str, Any]:
    """Name, version and model file (with sha256 where the backend gives it) of the detector and pose model."""
    if cfg.detector == "file":
        detector = BackendInfo(name="file", checkpoint=None if cfg.detections is None else str(cfg.detections))
    else:
        detector = detector_factory("").info
    return {"detector": detector.to_dict(), "pose": pose.info.to_dict()}
