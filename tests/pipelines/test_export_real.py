"""Export joined with the real FineDiving annotations (../shared/data; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fdpose.finediving import load_annotations
from fdpose.pipelines.clip_json import BackendInfo, ClipPoses, write_clip_json
from fdpose.pipelines.export import export_dataset, load_dataset
from fdpose.sampling import aligned_indices


def _fake_clip(match: str, idx: int, first: int, n: int, rng: np.random.Generator) -> ClipPoses:
    kp = np.concatenate([rng.uniform(50, 200, (n, 16, 2)), np.full((n, 16, 1), 0.8)], axis=2)
    numbers = list(range(first, first + n))
    return ClipPoses(clip_id=f"{match}__{idx}", source={"kind": "frame_tree", "path": f"{match}/{idx}",
                                                        "match": match, "idx": str(idx)},
                     fps=None, width=455, height=256, detector=BackendInfo("file"), pose=BackendInfo("hrnet"),
                     boxes=np.tile([10.0, 10.0, 300.0, 250.0, 0.9], (n, 1)), keypoints=kp,
                     joint_source=np.full((n, 16), "estimated", dtype=object), track=["matched"] * n,
                     sampled_indices=aligned_indices(n, numbers), file_names=[f"{v:05d}.jpg" for v in numbers])


def test_real_annotations_join(shared_data: Path, tmp_path: Path) -> None:
    ann_dir = shared_data / "finediving"
    ann = load_annotations(ann_dir)
    rng = np.random.default_rng(0)
    keys = ann.test[:2]
    for match, idx in keys:
        c = ann.coarse[(match, idx)]
        write_clip_json(tmp_path / "track" / f"{match}__{idx}.json",
                        _fake_clip(match, idx, c.start_frame, c.end_frame - c.start_frame + 1, rng))
    summary = export_dataset(tmp_path / "track", [], ann_dir, tmp_path / "D", split="test", allow_missing=True)
    assert summary.clips == 2 and len(summary.missing_keys) == len(ann.test) - 2
    failed = summary.check.failed()
    assert [c.name for c in failed] == ["splits"] and len(failed[0].problems) == len(ann.test) - 2
    ds = load_dataset(tmp_path / "D")
    for entry in ds.clips:
        rec = ann.fine[entry.key]
        assert (entry.dive_number, entry.dive_score, entry.difficulty) == (rec.action_type, rec.dive_score,
                                                                          rec.difficulty)
        assert entry.split == "test" and entry.judge_scores == list(ann.coarse[entry.key].judge_scores)
        a = ds.arrays(entry)
        assert a.frame_numbers[0] == ann.coarse[entry.key].start_frame
        assert a.frame_numbers[-1] == ann.coarse[entry.key].end_frame
