"""fdpose export check: a good dataset passes; each planted defect is caught and names its clip."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from export_helpers import ExportWorld, export_world  # noqa: E402
from fdpose.errors import InputError, ValidationError
from fdpose.pipelines.export import check_dataset, export_dataset, format_report, load_dataset
from fdpose.pipelines.export.schema import validate_manifest


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> ExportWorld:
    return export_world(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="session")
def good(world: ExportWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("good") / "D"
    export_dataset(world.track, [world.manual_a], world.annotations, out, "hpmcore")
    return out


@pytest.fixture
def copy(good: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "D"
    shutil.copytree(good, dst)
    return dst


def _manifest(ds: Path) -> dict:
    return json.loads((ds / "manifest.json").read_text())


def _write_manifest(ds: Path, doc: dict) -> None:
    (ds / "manifest.json").write_text(json.dumps(doc))


def _edit_arrays(path: Path, **changes: np.ndarray) -> None:
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def test_good_dataset_passes(good: Path, world: ExportWorld) -> None:
    report = check_dataset(good, annotations=world.annotations)
    assert report.ok, format_report(report)
    assert [c.name for c in report.checks] == ["schema", "files", "splits", "arrays", "frames", "finite",
                                               "interpolated", "hpmcore", "agreement"]
    assert report.totals["clips"] == 4 and report.totals["frames"] == 4 * 96
    shares = report.totals["provenance_share"]
    assert abs(sum(shares.values()) - 1.0) < 1e-5 and min(shares.values()) > 0
    d = report.as_dict()
    assert d["ok"] is True and len(d["clips"]) == 4 and json.dumps(d)


def test_missing_clip_entry(copy: Path) -> None:
    doc = _manifest(copy)
    gone = doc["clips"].pop(1)
    _write_manifest(copy, doc)
    report = check_dataset(copy)
    assert not report.ok and [c.name for c in report.failed()] == ["splits"]
    assert report.check("splits").problems == [
        f"split key {gone['key'][0]}/{gone['key'][1]} ({gone['split']}) has no clip (missing clip {gone['clip_id']})"]


def test_missing_clip_file(copy: Path) -> None:
    entry = _manifest(copy)["clips"][2]
    (copy / entry["file"]).unlink()
    report = check_dataset(copy)
    assert [c.name for c in report.failed()] == ["files"]
    (problem,) = report.check("files").problems
    assert problem.startswith(f"clip {entry['clip_id']}: ") and "not found" in problem


def test_nan_joint(copy: Path) -> None:
    entry = _manifest(copy)["clips"][0]
    path = copy / entry["file"]
    kp = np.load(path)["keypoints"].copy()
    kp[17, 4, 0] = np.nan
    _edit_arrays(path, keypoints=kp)
    report = check_dataset(copy)
    assert {c.name for c in report.failed()} == {"files", "finite"}  # the sha256 changed too
    assert report.check("finite").problems == [
        f"clip {entry['clip_id']}: 'keypoints' has 1 NaN value(s), first at frame 17, joint l_knee"]
    with pytest.raises(ValidationError, match=f"clip {entry['clip_id']}: 'keypoints' has 1 NaN"):
        load_dataset(copy).arrays(tuple(entry["key"]))


def test_95_frames(copy: Path) -> None:
    entry = _manifest(copy)["clips"][3]
    path = copy / entry["file"]
    with np.load(path) as data:
        cut = {k: data[k][:95] for k in data.files}
    _edit_arrays(path, **cut)
    report = check_dataset(copy)
    assert "frames" in {c.name for c in report.failed()}
    assert f"clip {entry['clip_id']}: 95 frames in 'keypoints' (expected 96)" in report.check("frames").problems
    assert all(p.startswith(f"clip {entry['clip_id']}: 95 frames") for p in report.check("frames").problems)


def test_unknown_key(copy: Path, world: ExportWorld) -> None:
    doc = _manifest(copy)
    stray = dict(doc["clips"][0], key=["NoSuchMatch", 9], clip_id="NoSuchMatch__9")
    doc["clips"].append(stray)
    _write_manifest(copy, doc)
    report = check_dataset(copy)
    assert [c.name for c in report.failed()] == ["splits", "hpmcore"]  # and it has no Pose/ file
    assert report.check("hpmcore").problems[0].startswith("clip NoSuchMatch__9: ")
    assert report.check("splits").problems == [
        "clip NoSuchMatch__9: unknown key NoSuchMatch/9 (not in the dataset's FineDiving splits)"]
    with_ann = check_dataset(copy, annotations=world.annotations)
    assert any(p.startswith("clip NoSuchMatch__9: unknown key") and str(world.annotations) in p
               for p in with_ann.check("splits").problems)


def test_schema_violation_stops_with_location(copy: Path) -> None:
    doc = _manifest(copy)
    doc["clips"][1]["dive_score"] = "high"
    _write_manifest(copy, doc)
    report = check_dataset(copy)
    assert report.check("schema").problems == ["clips[1].dive_score: 'high' is not of type 'number'"]
    assert all(not c.ok for c in report.checks)
    assert "not run" in report.check("files").summary
    with pytest.raises(ValidationError, match=r"manifest.json: not a valid FineDiving-Pose manifest: "
                                              r"clips\[1\].dive_score"):
        load_dataset(copy)
    with pytest.raises(ValidationError, match="schema_version: unsupported version 2"):
        validate_manifest(dict(doc, schema_version=2))


def test_interpolated_threshold_names_clips(good: Path) -> None:
    ds = load_dataset(good)
    shares = {c.clip_id: float(np.mean(ds.arrays(c).provenance == 2)) for c in ds.clips}
    limit = sorted(shares.values())[1]  # two clips at or under, two over (shares differ per clip)
    report = check_dataset(good, max_interpolated=limit)
    over = sorted(cid for cid, s in shares.items() if s > limit)
    assert over and [c.name for c in report.failed()] == ["interpolated"]
    assert sorted(p.split(":")[0].removeprefix("clip ") for p in report.check("interpolated").problems) == over


def test_hpmcore_mismatch(copy: Path) -> None:
    entry = _manifest(copy)["clips"][1]
    match, idx = entry["key"]
    pose = copy / "Pose" / match / f"pred_comp_{idx}.npz"
    pred = np.load(pose)["pred"].copy()
    pred[0, 0, 0] += 5
    _edit_arrays(pose, pred=pred)
    report = check_dataset(copy)
    assert report.check("hpmcore").problems == [f"clip {entry['clip_id']}: pred_comp differs from the clip's "
                                                "merged keypoints"]


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read file"):
        check_dataset(tmp_path)
    with pytest.raises(InputError, match="no manifest.json"):
        load_dataset(tmp_path)


def test_annotations_without_the_fine_grained_file_fail(good: Path, world: ExportWorld, tmp_path: Path) -> None:
    """The coarse file alone would vouch for every key: without the fine-grained file the check fails."""
    import shutil

    from fdpose.finediving import FINE_GRAINED_FILE

    partial = tmp_path / "ann"
    shutil.copytree(world.annotations, partial)
    (partial / FINE_GRAINED_FILE).unlink()
    report = check_dataset(good, annotations=partial)
    assert not report.ok
    assert any(f"no {FINE_GRAINED_FILE}" in p for p in report.check("splits").problems)


def test_export_clip_files_get_the_same_line(tmp_path: Path) -> None:
    """export check reads a dataset's clip arrays through its own reader: the same refusal, no numpy advice."""
    text = tmp_path / "clip.npz"
    text.write_text("this is not a clip file")
    from fdpose.pipelines.export.dataset import read_raw_arrays

    with pytest.raises(InputError) as err:
        read_raw_arrays(text)
    line = str(err.value)
    assert line == f"{text}: not a readable .npz (not plain arrays: numpy would have to unpickle it; refused)", line
