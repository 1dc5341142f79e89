"""Helpers of the export tests (not a test module): a small synth world and a fabricated
``track-and-estimate`` output built from its ground truth, cached once per test session.

The fabricated output is the synth ground truth plus 0.5 px noise, with every joint of a
frame without a diver box ``missing`` and joints 10-12 ``interpolated`` on every 7th frame; in
the clip :data:`FAR_CLIP_INDEX` joints 0-7 are shifted 40 px (a pose model that is wrong
there), so the manual-vs-automatic agreement of that clip is low and of the others high.
Manual labels: frames with number % 4 == 0 in ``manual_a``, % 4 == 2 in ``manual_b``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fdpose.io import read_json
from fdpose.pipelines.clip_json import BackendInfo, ClipPoses, write_clip_json
from fdpose.sampling import aligned_indices, fill_nonfinite, pred_comp_path, write_pred_comp
from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world

WORLD = {"videos": 4, "seed": 3, "frames": 70, "write_video": False}
FAR_CLIP_INDEX = 0
FAR_JOINTS = list(range(8))
INTERP_JOINTS = [10, 11, 12]


@dataclass(frozen=True)
class ExportWorld:
    root: Path           # the synth world
    track: Path          # fabricated track-and-estimate output
    manual_a: Path
    manual_b: Path
    annotations: Path
    clip_ids: tuple[str, ...]   # sorted; FAR_CLIP_INDEX indexes this


_CACHE: dict[str, ExportWorld] = {}


def fabricate_clip(gt: dict, rng: np.random.Generator, far: bool) -> ClipPoses:
    """A valid clip JSON payload from one synth ground-truth file (see the module docstring)."""
    frames = gt["frames"]
    n = len(frames)
    kp = np.full((n, 16, 3), np.nan)
    src = np.full((n, 16), "estimated", dtype=object)
    boxes = np.full((n, 5), np.nan)
    track: list[str] = []
    for t, fr in enumerate(frames):
        box = fr["diver"]["box"] if fr.get("diver") else None
        if box is None:
            src[t] = "missing"
            kp[t, :, 2] = 0.0
            track.append("lost")
            continue
        xy = np.asarray(fr["diver"]["joints"], dtype=np.float64)[:, :2] + rng.normal(0, 0.5, (16, 2))
        if far:
            xy[FAR_JOINTS, 0] += 40.0
        kp[t, :, :2] = xy
        kp[t, :, 2] = 0.9
        if t % 7 == 3:
            src[t, INTERP_JOINTS] = "interpolated"
            kp[t, INTERP_JOINTS, 2] = 0.5
        boxes[t] = [*box, 0.95]
        track.append("init" if "init" not in track else "matched")
    match, idx = gt["match"], str(gt["idx"])
    return ClipPoses(clip_id=f"{match}__{idx}",
                     source={"kind": "frame_tree", "path": f"frames/{match}/{idx}", "match": match, "idx": idx},
                     fps=None, width=int(gt["image_width"]), height=int(gt["image_height"]),
                     detector=BackendInfo("file", "1", None), pose=BackendInfo("gt-noise", "1", None),
                     boxes=boxes, keypoints=kp, joint_source=src, track=track,
                     sampled_indices=aligned_indices(n, list(range(n))),
                     file_names=[f"{t:05d}.jpg" for t in range(n)])


def write_track_output(world: Path, out: Path) -> tuple[str, ...]:
    """Fabricate OUT/{clip_id}.json and OUT/pose/... for every clip of the world."""
    rng = np.random.default_rng(0)
    gts = sorted(world.glob("gt/*/*.json"))
    ids = []
    for i, g in enumerate(sorted(gts, key=lambda p: f"{p.parent.name}__{p.stem}")):
        clip = fabricate_clip(read_json(g), rng, far=i == FAR_CLIP_INDEX)
        write_clip_json(out / f"{clip.clip_id}.json", clip)
        match, idx = clip.source["match"], clip.source["idx"]
        write_pred_comp(pred_comp_path(out / "pose", match, idx), fill_nonfinite(clip.sampled_keypoints()))
        ids.append(clip.clip_id)
    return tuple(ids)


def split_labels(world: Path, dst: Path, remainder: int) -> Path:
    """Copy the label files whose frame number % 4 == remainder into dst (same layout)."""
    for p in sorted((world / "labelme").rglob("*.json")):
        if int(p.stem) % 4 == remainder:
            rel = p.relative_to(world / "labelme")
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst / rel)
    return dst


def export_world(base: Path) -> ExportWorld:
    """The session's world (built once; later calls return the cached paths)."""
    if "world" not in _CACHE:
        root = base / "world"
        generate_world(SynthConfig(**WORLD), root)
        # The labels point at ../../../frames/...: keep them beside the world so images resolve.
        a = split_labels(root, root / "manual_a", 0)
        b = split_labels(root, root / "manual_b", 2)
        ids = write_track_output(root, base / "track")
        _CACHE["world"] = ExportWorld(root, base / "track", a, b, root / "annotations", ids)
    return _CACHE["world"]
