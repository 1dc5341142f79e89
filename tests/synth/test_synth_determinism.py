"""Same seed -> byte-identical files (any worker count); different seed -> different world."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world, plan_world, split_keys


def _digests(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".json", ".pkl", ".txt", ".jpg", ".mp4"):
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path, small_world):
    root, _ = small_world
    again = tmp_path / "again"
    generate_world(SynthConfig(videos=3, seed=7, frames=50), again, workers=2)
    a, b = _digests(root), _digests(again)
    assert len(a) > 150 and sum(k.endswith(".mp4") for k in a) == 3
    assert a == b
    other = tmp_path / "other"
    generate_world(SynthConfig(videos=3, seed=8, frames=50, write_video=False), other)
    c = _digests(other)
    common = set(a) & set(c)
    assert (root / "annotations").is_dir()
    differs = [k for k in common if a[k] != c[k]]
    assert "annotations/FineDiving_fine-grained_annotation.pkl" in differs
    assert len(differs) >= len(common) - 2


def test_plan_names_splits_and_counts():
    cfg = SynthConfig(videos=23, seed=4, train_share=0.75)
    plans = plan_world(cfg)
    assert len(plans) == 23
    keys = [(p.match, p.idx) for p in plans]
    assert len(set(keys)) == 23
    per_match: dict[str, list[int]] = {}
    for m, i in keys:
        per_match.setdefault(m, []).append(i)
    assert all(v == list(range(1, len(v) + 1)) for v in per_match.values())
    assert max(len(v) for v in per_match.values()) >= 2
    train, test = split_keys(cfg, plans)
    assert len(train) == 17 and len(test) == 6 and not set(train) & set(test)
    assert set(train) | set(test) == set(keys)
    assert plan_world(cfg) == plans
