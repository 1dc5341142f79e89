"""The FineDiving annotation format: the real pickles (skipped when absent) and round trips."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import InputError, ValidationError
from fdpose.finediving import (
    CoarseRecord, FineDivingAnnotations, FineGrainedRecord, labels_from_transits, load_annotations, load_split,
    official_score, save_annotations, stage_bounds, transits_from_labels,
)
from fdpose.finediving_checks import summary_statistics, validate


def _shared_finediving() -> Path | None:
    """shared/data/finediving beside the repository (or under $FDPOSE_SHARED), None when absent."""
    env = os.environ.get("FDPOSE_SHARED")
    repo = Path(__file__).resolve().parents[1]
    for cand in ([Path(env)] if env else []) + [repo.parent / "shared"]:
        folder = cand / "data" / "finediving"
        if (folder / "FineDiving_fine-grained_annotation.pkl").is_file():
            return folder
    return None


@pytest.fixture(scope="module")
def real() -> FineDivingAnnotations:
    folder = _shared_finediving()
    if folder is None:
        pytest.skip("real FineDiving annotations not available")
    return load_annotations(folder)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from fdpose.synth.config import SynthConfig
    from fdpose.synth.world import generate_world

    root = tmp_path_factory.mktemp("fdworld") / "w"
    return root, generate_world(SynthConfig(videos=2, seed=11, frames=36, write_video=False), root)


def test_real_files_load_with_known_facts(real: FineDivingAnnotations):
    assert len(real.fine) == len(real.coarse) == 3000 and len(real.train) == 2251 and len(real.test) == 749
    r = real.fine[("01", 1)]
    assert r.action_type == "407c" and r.steps_transit_frames.tolist() == [2, 34]
    assert r.frames_labels[:4].tolist() == [4, 4, 4, 25] and r.frames_labels[35] == 36
    assert r.sub_action_types == {4: "Inward", 25: "3.5 Soms.Tuck", 36: "Entry"}
    assert r.stage_bounds() == [(0, 2), (3, 34), (35, r.num_frames - 1)]
    c = real.coarse[("01", 1)]
    assert len(c.judge_scores) == 7 and official_score(c.judge_scores, c.difficulty) == c.dive_score == 88.0
    assert c.end_frame - c.start_frame + 1 == r.num_frames


def test_real_files_mostly_follow_the_rules(real: FineDivingAnnotations):
    issues = validate(real)
    # 10 transit anomalies, ~120 score-rule exceptions, 2 judge typos, 1 missing sub-action name.
    assert 100 < len(issues) < 150
    transit = [i for i in issues if "transit" in i.message]
    assert len(transit) == 10
    with pytest.raises(ValidationError):
        validate(real, strict=True)


def test_real_statistics(real: FineDivingAnnotations):
    s = summary_statistics(real)
    assert s["num_dives"] == 3000
    assert s["dive_score"]["min"] == 0.0 and s["dive_score"]["max"] == 114.8
    assert abs(s["dive_score"]["mean"] - 66.37) < 0.01 and abs(s["dive_score"]["std"] - 15.25) < 0.01
    assert s["difficulty"]["min"] == 1.5 and s["difficulty"]["max"] == 4.1
    assert s["clip_length"]["min"] == 63 and s["clip_length"]["max"] == 273 and abs(s["clip_length"]["mean"] - 104.1) < 0.1
    assert s["num_transits"] == {"2": 2206, "3": 537, "4": 257}
    assert abs(s["stage_length"]["flight"]["mean"] - 36.1) < 0.1


def test_real_round_trip_keeps_exact_types(real: FineDivingAnnotations, tmp_path: Path):
    sub = FineDivingAnnotations(
        fine={k: real.fine[k] for k in list(real.fine)[:50]},
        coarse={k: real.coarse[k] for k in list(real.fine)[:50]},
        train=list(real.fine)[:30], test=list(real.fine)[30:50],
    )
    save_annotations(tmp_path, sub)
    raw = pickle.loads((tmp_path / "FineDiving_fine-grained_annotation.pkl").read_bytes())
    key = next(iter(raw))
    assert isinstance(key, tuple) and type(key[0]) is str and type(key[1]) is int
    v = raw[key]
    assert v["frames_labels"].dtype == np.int64 and v["steps_transit_frames"].dtype == np.int64
    assert all(type(k) is np.int64 for k in v["sub-action_types"])
    assert type(v["dive_score"]) is float and type(v["difficulty"]) is float
    c = pickle.loads((tmp_path / "FineDiving_coarse_annotation.pkl").read_bytes())[key]
    assert all(type(s) is np.float64 for s in c["judge_scores"]) and type(c["start_frame"]) is int
    back = load_annotations(tmp_path)
    assert back.train == sub.train and back.test == sub.test
    for k, r in sub.fine.items():
        b = back.fine[k]
        assert np.array_equal(b.frames_labels, r.frames_labels) and b.sub_action_types == r.sub_action_types
        assert back.coarse[k] == sub.coarse[k]


def test_synth_output_loads_through_the_same_loader(small_world):
    root, world = small_world
    ann = load_annotations(root / "annotations")
    assert len(ann.fine) == 2 and validate(ann) == []
    one = load_annotations(root / "annotations" / "FineDiving_coarse_annotation.pkl")
    assert set(one.coarse) == set(ann.fine) and not one.fine
    assert load_split(root / "annotations" / "train_split.pkl") == ann.train
    raw = pickle.loads((root / "annotations" / "FineDiving_fine-grained_annotation.pkl").read_bytes())
    v = next(iter(raw.values()))
    assert set(v) == {"action_type", "dive_score", "difficulty", "steps_transit_frames", "frames_labels", "sub-action_types"}
    assert all(type(k) is np.int64 for k in v["sub-action_types"])
    stats = summary_statistics(ann)
    assert stats == world["statistics"]


def test_transit_convention_helpers():
    labels = labels_from_transits([2, 5], [4, 25, 36], 9)
    assert labels.tolist() == [4, 4, 4, 25, 25, 25, 36, 36, 36] and labels.dtype == np.int64
    assert transits_from_labels(labels).tolist() == [2, 5]
    assert stage_bounds([2, 5], 9) == [(0, 2), (3, 5), (6, 8)]
    assert official_score([8.0, 8.5, 9.0, 7.5, 8.0], 2.0) == round(41.0 * 2.0 * 0.6, 2)
    assert official_score([7.0, 7.5, 8.0], 3.0) == 67.5


def test_validate_reports_inconsistencies():
    fine = FineGrainedRecord("107b", 50.0, 3.0, np.array([2, 6]), labels_from_transits([2, 5], [1, 17, 36], 9),
                             {1: "Forward", 17: "3.5 Soms.Pike", 36: "Entry"})
    coarse = CoarseRecord("107b", 10, 18, 51.0, 3.0, [5.5] * 7)
    issues = validate(FineDivingAnnotations(fine={("m", 1): fine}, coarse={("m", 1): coarse}, train=[("m", 1)], test=[("m", 1)]))
    text = "\n".join(map(str, issues))
    assert "labels change after frames [2, 5]" in text
    assert "judges x difficulty give 49.5" in text
    assert "dive_score/difficulty differ" in text
    assert "1 keys in both train and test" in text


def test_bad_files_are_one_line_errors(tmp_path: Path):
    bad = tmp_path / "x.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(InputError) as e:
        load_annotations(bad)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)
    wrong = tmp_path / "FineDiving_fine-grained_annotation.pkl"
    wrong.write_bytes(pickle.dumps({("m", 1): {"action_type": "107b"}}))
    with pytest.raises(InputError, match="missing field"):
        load_annotations(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no FineDiving annotation files"):
        load_annotations(tmp_path / "empty")
