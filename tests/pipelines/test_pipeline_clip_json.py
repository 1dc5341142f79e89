"""The per-clip JSON: round trip, formatting, validation messages and is_complete."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import ValidationError
from fdpose.pipelines.clip_json import (
    BackendInfo, ClipPoses, clip_to_doc, is_complete, read_clip_json, validate_clip_doc, write_clip_json,
)
from fdpose.sampling import aligned_indices


def make_clip(rng: np.random.Generator, n: int = 40, tree: bool = True) -> ClipPoses:
    kp = np.concatenate([rng.uniform(0, 400, (n, 16, 2)), rng.uniform(0.2, 1, (n, 16, 1))], axis=2)
    src = np.full((n, 16), "estimated", dtype=object)
    src[5, 3] = "interpolated"
    src[6, 2] = "missing"
    kp[6, 2, :2] = np.nan
    kp[6, 2, 2] = 0.0
    boxes = np.concatenate([rng.uniform(0, 200, (n, 2)), rng.uniform(200, 400, (n, 2)), rng.uniform(0, 1, (n, 1))], 1)
    track = ["matched"] * n
    track[0] = "init"
    track[10] = "lost"
    boxes[10] = np.nan
    track[11] = "re-acquired"
    names = [f"{16858 + t:05d}.jpg" for t in range(n)] if tree else None
    return ClipPoses(
        clip_id="MatchA__3" if tree else "video1",
        source={"kind": "frame_tree", "path": "/data/MatchA/3", "match": "MatchA", "idx": "3"} if tree
        else {"kind": "video", "path": "/v/video1.mp4"},
        fps=None if tree else 25.0, width=455, height=256,
        detector=BackendInfo("file", "1", "/det/MatchA/3.txt"), pose=BackendInfo("hrnet", "1.3.2", "ckpt.pth"),
        boxes=boxes, keypoints=kp, joint_source=src, track=track,
        sampled_indices=aligned_indices(n, [16858 + t for t in range(n)] if tree else None),
        file_names=names, settings={"tracker": {"max_jump": 1.0}})


@pytest.mark.parametrize("tree", [True, False])
def test_round_trip(tmp_path: Path, rng: np.random.Generator, tree: bool) -> None:
    clip = make_clip(rng, tree=tree)
    path = write_clip_json(tmp_path / f"{clip.clip_id}.json", clip)
    back = read_clip_json(path)
    assert back.clip_id == clip.clip_id and back.frame_count == 40 and back.fps == clip.fps
    np.testing.assert_allclose(back.keypoints, clip.keypoints, atol=1e-3, equal_nan=True)
    np.testing.assert_allclose(back.boxes, clip.boxes, atol=1e-3, equal_nan=True)
    assert back.track == clip.track
    assert (back.joint_source == clip.joint_source).all()
    np.testing.assert_array_equal(back.sampled_indices, clip.sampled_indices)
    assert back.file_names == clip.file_names
    assert back.detector == clip.detector and back.pose == clip.pose
    assert back.sampled_keypoints().shape == (96, 16, 3)
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 1
    assert doc["frames"][6]["keypoints"][2] == [None, None, 0.0]
    assert doc["frames"][10]["bbox"] is None
    assert doc["summary"]["track"] == {"init": 1, "matched": 37, "re-acquired": 1, "lost": 1}
    assert doc["summary"]["joints"]["missing"] == 1 and doc["summary"]["tracked_frames"] == 39
    # one frame per line keeps files compact
    assert len(path.read_text().splitlines()) < clip.frame_count + 60
    assert is_complete(path) and is_complete(path, clip.clip_id) and not is_complete(path, "other")


def _doc(rng: np.random.Generator) -> dict:
    return json.loads(json.dumps(clip_to_doc(make_clip(rng))))


@pytest.mark.parametrize("edit, where, message", [
    (lambda d: d.update(schema_version=2), "schema_version", "unsupported schema_version 2"),
    (lambda d: d.pop("fps"), "", "missing key\\(s\\) fps"),
    (lambda d: d["frames"].pop(), "frames", "expected a list of frame_count=40 frames, got 39"),
    (lambda d: d["frames"][3].update(frame_index=4), "frames\\[3\\].frame_index", "expected 3"),
    (lambda d: d["frames"][3]["keypoints"].pop(), "frames\\[3\\].keypoints", "expected 16"),
    (lambda d: d["frames"][3]["keypoints"][5].__setitem__(0, None), "frames\\[3\\].keypoints\\[5\\]",
     "must both be numbers or both null"),
    (lambda d: d["frames"][3]["joint_source"].__setitem__(1, "guess"), "frames\\[3\\].joint_source\\[1\\]",
     "expected one of"),
    (lambda d: d["frames"][3].update(track="lost?"), "frames\\[3\\].track", "expected one of"),
    (lambda d: d["frames"][3].update(bbox=None), "frames\\[3\\].bbox", "track is 'matched' but bbox is null"),
    (lambda d: d["frames"][3].update(bbox=[5, 5, 1, 1, 0.5]), "frames\\[3\\].bbox", "corners not ordered"),
    (lambda d: d["frames"][3].pop("file_name"), "frames\\[3\\].file_name", "non-empty string"),
    (lambda d: d["sampled_indices"].__setitem__(7, 99), "sampled_indices\\[7\\]", "linspace"),
    (lambda d: d["summary"].update(frames=3), "summary", "does not match the frames"),
    (lambda d: d["frames"][6]["joint_source"].__setitem__(2, "estimated"), "frames\\[6\\].keypoints\\[2\\]",
     "null coordinates but joint_source is 'estimated'"),
])
def test_validation_messages(rng: np.random.Generator, edit, where: str, message: str) -> None:
    doc = _doc(rng)
    edit(doc)
    with pytest.raises(ValidationError, match=f"^clip.json: {where}{': ' if where else ''}.*{message}"):
        validate_clip_doc(doc, "clip.json")


def test_is_complete_rejects_broken_files(tmp_path: Path, rng: np.random.Generator) -> None:
    assert not is_complete(tmp_path / "none.json")
    p = tmp_path / "half.json"
    p.write_text(json.dumps(_doc(rng))[:500])
    assert not is_complete(p)


def test_shape_checks(rng: np.random.Generator) -> None:
    clip = make_clip(rng)
    with pytest.raises(ValidationError, match="expected boxes \\(T, 5\\)"):
        ClipPoses(**{**clip.__dict__, "boxes": clip.boxes[:-1]})
