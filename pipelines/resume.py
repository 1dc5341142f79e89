"""What ``track-and-estimate --resume`` may keep: outputs that load and were made with the current settings.

Every clip JSON records, in ``settings.resume_record`` (:func:`resume_record`), what made it: the
sampled frame count, ``--init-box``, flip test, the tracker and (configured) interpolation
parameters, the detector (name, detections folder, config/checkpoint content hashes) and the pose
backend (name, config/checkpoint content hashes; for ``mediapipe`` every setting in effect, the
defaults included). On resume a clip is kept only when its JSON is
valid, its ``pred_comp`` npz loads with the right shape, and its record equals the current run's
(:func:`stale_reason`); otherwise it is redone and the reason logged. Checkpoints are compared by
SHA-256 of their content, not by path: a moved file is the same model, a file replaced in place
is not. Outputs written before the record existed are redone (nothing says what made them).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

from fdpose.errors import FdposeError
from fdpose.io import cached_file_sha256, dumps_json

RECORD_KEY = "resume_record"


def file_sha256(path: Optional[str | os.PathLike[str]]) -> Optional[str]:
    """SHA-256 of a file's content (cached per path, size and mtime: a run hashes each model once); None for None
    or a missing file (the backend reports that)."""
    if path is None:
        return None
    try:
        Path(path).stat()
    except OSError:
        return None
    return cached_file_sha256(path)


def resume_record(cfg: Any) -> dict[str, Any]:
    """The settings that shape a clip's outputs (``RunConfig`` duck-typed), as plain JSON values."""
    detections = getattr(cfg, "detections", None)
    record: dict[str, Any] = {
        "frames": cfg.frames,
        "init_box": list(cfg.init_box) if cfg.init_box else None,
        "flip_test": bool(cfg.flip_test),
        "tracker": cfg.tracker.to_dict(),
        "interpolation": asdict(cfg.interpolation),
        "detector": {
            "name": cfg.detector,
            "detections": str(Path(detections).resolve()) if cfg.detector == "file" and detections else None,
            "config_sha256": file_sha256(cfg.det_config) if cfg.detector == "mmdet" else None,
            "checkpoint_sha256": file_sha256(cfg.det_checkpoint) if cfg.detector == "mmdet" else None,
        },
        "pose": {
            "name": cfg.pose,
            "config_sha256": file_sha256(cfg.pose_config) if cfg.pose == "hrnet" else None,
            "checkpoint_sha256": file_sha256(cfg.pose_checkpoint) if cfg.pose == "hrnet" else None,
        },
    }
    options = getattr(cfg, "pose_options", None)
    if options:  # what the run set itself
        record["pose"]["options"] = dict(options)
    if cfg.pose == "mediapipe":
        # every setting in effect, defaults included: a clip made under an earlier default (the pose
        # region from BlazePose's own detector before session 10) is redone, not kept as today's output
        from fdpose.pipelines.pose.options import mediapipe_config

        record["pose"]["settings"] = asdict(mediapipe_config(dict(options or {})))
    return json.loads(dumps_json(record))  # the form it has after a JSON round trip (lists, floats)


def _differences(stored: Any, current: Any, prefix: str = "") -> list[str]:
    """Dotted names of the fields where ``stored`` and ``current`` differ."""
    if isinstance(stored, dict) and isinstance(current, dict):
        out: list[str] = []
        for key in sorted(set(stored) | set(current)):
            out += _differences(stored.get(key), current.get(key), f"{prefix}{key}.")
        return out
    return [] if stored == current else [prefix.rstrip(".")]


def stale_reason(json_path: Path, npz_path: Optional[Path], clip_id: str, record: dict[str, Any],
                 frames: int) -> Optional[str]:
    """None when the clip's outputs can be kept on resume, else why it must be redone
    ("no output" when it was never finished)."""
    from fdpose.pipelines.clip_json import read_clip_json
    from fdpose.sampling import read_pred_comp

    if not json_path.is_file():
        return "no output"
    try:
        clip = read_clip_json(json_path)
    except FdposeError as err:
        return f"clip JSON unreadable ({err})"
    if clip.clip_id != clip_id:
        return f"clip JSON belongs to {clip.clip_id!r}"
    stored = clip.settings.get(RECORD_KEY)
    if not isinstance(stored, dict):
        return "its outputs do not record the settings that made them"
    changed = _differences(stored, record)
    if changed:
        shown = ", ".join(changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4 else "")
        return f"settings changed since it was made ({shown})"
    if npz_path is not None:
        try:
            read_pred_comp(npz_path, frames)
        except FdposeError as err:
            return f"pose file unusable ({err})"
    return None
