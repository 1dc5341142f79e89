"""fdpose export (library): merge rules, round trip export -> load, formats and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from export_helpers import FAR_CLIP_INDEX, INTERP_JOINTS, ExportWorld, export_world  # noqa: E402
from fdpose.annotations.labelme import read_labelme
from fdpose.annotations.protocol import ManualLabel, doc_to_label
from fdpose.errors import InputError, ValidationError
from fdpose.finediving import load_annotations
from fdpose.pipelines.clip_json import read_clip_json
from fdpose.pipelines.export import Provenance, export_dataset, load_dataset
from fdpose.pipelines.export.merge import ManualFrame, merge_clip
from fdpose.sampling import pred_comp_path, read_pred_comp
from fdpose.skeleton import JOINT_INDEX


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> ExportWorld:
    return export_world(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="session")
def dataset(world: ExportWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataset") / "D"
    export_dataset(world.track, [world.manual_a, world.manual_b], world.annotations, out, ["hpmcore", "mpii", "coco"])
    return out


def _labels(folder: Path, match: str, idx: str) -> dict[int, ManualLabel]:
    return {int(p.stem): doc_to_label(read_labelme(p)) for p in sorted((folder / match / idx).glob("*.json"))}


def test_round_trip_arrays_equal_merge_of_inputs(world: ExportWorld, dataset: Path) -> None:
    ds = load_dataset(dataset)
    ann = load_annotations(world.annotations)
    assert sorted(c.clip_id for c in ds.clips) == list(world.clip_ids)
    assert ds.num_frames == 96 and len(ds) == 4
    checked_manual = checked_auto = 0
    for entry in ds.clips:
        match, idx = entry.key[0], str(entry.key[1])
        clip = read_clip_json(world.track / f"{entry.clip_id}.json")
        labels = {**_labels(world.manual_a, match, idx), **_labels(world.manual_b, match, idx)}
        a = ds.arrays(entry)
        assert a.keypoints.shape == (96, 16, 3) and a.keypoints.dtype == np.float32
        assert a.provenance.shape == (96, 16) and a.provenance.dtype == np.uint8
        np.testing.assert_array_equal(a.frame_indices, clip.sampled_indices)
        np.testing.assert_array_equal(a.frame_numbers, clip.sampled_indices)  # files 00000.jpg...
        assert np.isfinite(a.keypoints).all()
        auto = clip.keypoints[clip.sampled_indices]
        for t, frame in enumerate(clip.sampled_indices):
            label = labels.get(int(frame))
            placed = np.zeros(16, bool) if label is None else label.visibility > 0
            np.testing.assert_allclose(a.keypoints[t, placed, :2], label.xy[placed] if label else np.zeros((0, 2)),
                                       atol=1e-3)
            assert (a.provenance[t, placed] == Provenance.MANUAL).all()
            np.testing.assert_array_equal(a.manual_visibility[t], 0 if label is None else label.visibility)
            known = ~placed & np.isfinite(auto[t, :, 0])
            np.testing.assert_allclose(a.keypoints[t, known], auto[t, known], atol=2e-3)
            expected_src = np.array([{"estimated": 1, "interpolated": 2, "missing": 0}[s]
                                     for s in clip.joint_source[frame]])
            np.testing.assert_array_equal(a.provenance[t, ~placed], expected_src[~placed])
            np.testing.assert_array_equal(a.auto_provenance[t], expected_src)
            checked_manual += int(placed.sum())
            checked_auto += int(known.sum())
        # the FineDiving join
        rec = ann.fine[entry.key]
        assert (entry.dive_number, entry.dive_score, entry.difficulty) == (rec.action_type, rec.dive_score,
                                                                          rec.difficulty)
        assert entry.judge_scores == [float(s) for s in ann.coarse[entry.key].judge_scores]
        assert entry.split == ("train" if entry.key in ann.train else "test")
        assert entry.manual_frames == len({int(f) for f in clip.sampled_indices if int(f) in labels})
        assert entry.provenance == a.provenance_counts()
        # the HP-MCoRe tree holds the same merged joints
        pred = read_pred_comp(pred_comp_path(dataset / "Pose", match, idx))
        np.testing.assert_array_equal(pred, a.keypoints)
    assert checked_manual > 500 and checked_auto > 500
    assert set(ds.splits) == {"train", "test"}
    assert sorted(ds.splits["train"] + ds.splits["test"]) == sorted(c.key for c in ds.clips)


def test_merge_rules_visibility_and_missing(world: ExportWorld) -> None:
    clip = read_clip_json(world.track / f"{world.clip_ids[1]}.json")
    t = 40  # a sampled position whose frame has a diver
    frame = int(clip.sampled_indices[t])
    assert np.isfinite(clip.keypoints[frame, :, 0]).all()
    xy = clip.keypoints[frame, :, :2] + 7.0
    vis = np.full(16, 2, dtype=np.int8)
    vis[JOINT_INDEX["l_knee"]] = 1   # occluded: overrides
    vis[JOINT_INDEX["r_wrist"]] = 0  # absent: keeps the automatic joint
    xy[JOINT_INDEX["r_wrist"]] = np.nan
    label = ManualLabel(xy=xy, visibility=vis, box=None, image_path=f"{frame:05d}.jpg")
    arrays, n_manual = merge_clip(clip, {frame: ManualFrame(label, Path("x.json"))})
    assert n_manual == 1
    rows = np.flatnonzero(clip.sampled_indices == frame)
    for r in rows:
        knee, wrist = JOINT_INDEX["l_knee"], JOINT_INDEX["r_wrist"]
        np.testing.assert_allclose(arrays.keypoints[r, knee], [*xy[knee], 1.0], atol=1e-4)
        assert arrays.provenance[r, knee] == Provenance.MANUAL and arrays.manual_visibility[r, knee] == 1
        np.testing.assert_allclose(arrays.keypoints[r, wrist], clip.keypoints[frame, wrist], atol=1e-4)
        assert arrays.provenance[r, wrist] == Provenance.ESTIMATED and arrays.manual_visibility[r, wrist] == 0
        np.testing.assert_allclose(arrays.auto_keypoints[r], clip.keypoints[frame], atol=1e-4)
    # frames without a diver: every joint missing, placeholder coordinates, confidence 0
    lost = [r for r, f in enumerate(clip.sampled_indices) if not np.isfinite(clip.keypoints[f, 0, 0])]
    assert lost
    assert (arrays.provenance[lost] == Provenance.MISSING).all()
    assert np.isfinite(arrays.keypoints[lost]).all() and (arrays.keypoints[lost, :, 2] == 0).all()
    # an interpolated joint with no label keeps its code
    interp = [r for r, f in enumerate(clip.sampled_indices) if clip.joint_source[f, INTERP_JOINTS[0]] == "interpolated"]
    assert interp and (arrays.provenance[interp][:, INTERP_JOINTS] == Provenance.INTERPOLATED).all()


def test_manual_formats_hold_the_labelled_frames_per_split(world: ExportWorld, dataset: Path) -> None:
    ann = load_annotations(world.annotations)
    expected: dict[str, int] = {"train": 0, "test": 0}
    for folder in (world.manual_a, world.manual_b):
        for p in folder.rglob("*.json"):
            key = (p.parent.parent.name, int(p.parent.name))
            expected["train" if key in ann.train else "test"] += 1
    for split, count in expected.items():
        coco = json.loads((dataset / "coco" / f"{split}.json").read_text())
        assert len(coco["images"]) == count and len(coco["annotations"]) == count
        mpii = json.loads((dataset / "mpii" / split / "annotations.json").read_text())
        assert len(mpii) == count
        assert len(list((dataset / "mpii" / split / "images").iterdir())) == count
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["outputs"] == {"fdpose": "clips", "hpmcore": "Pose", "mpii": "mpii", "coco": "coco"}


def test_card_counts_and_command(dataset: Path) -> None:
    card = (dataset / "README.md").read_text()
    ds = load_dataset(dataset)
    n_train = len(ds.keys("train"))
    assert f"| train | {n_train} | {n_train} | {96 * n_train} |" in card
    assert "Result: **passed**" in card
    assert "fdpose export --auto" in card and "--format hpmcore" in card
    for c in ds.clips:
        assert f"| {c.dive_number} |" in card
    assert "| 3 | manual |" in card


def test_clip_table_and_the_card_dive_rows(dataset: Path) -> None:
    ds = load_dataset(dataset)
    table = ds.table()
    assert len(table) == len(ds.clips) and list(table["clip_id"]) == [c.clip_id for c in ds.clips]
    assert table["manual_frames"].sum() == sum(c.manual_frames for c in ds.clips)
    assert set(table["split"]) == {c.split for c in ds.clips} and (table["detector"] == "file").all()
    card = (dataset / "README.md").read_text()
    for dive, part in table.groupby("dive_number"):  # one card row per dive number: clips and mean score
        mean = sum(part["dive_score"]) / len(part)
        assert f"| {dive} | {len(part)} |" in card and f"| {mean:.2f} |" in card


def test_split_test_only_and_allow_missing(world: ExportWorld, tmp_path: Path) -> None:
    ann = load_annotations(world.annotations)
    track = tmp_path / "track"
    track.mkdir()
    for key in ann.test:
        name = f"{key[0]}__{key[1]}.json"
        shutil.copyfile(world.track / name, track / name)
    summary = export_dataset(track, [world.manual_a], world.annotations, tmp_path / "test_only", split="test")
    assert summary.clips == len(ann.test) and summary.check.ok
    assert summary.clips_per_split == {"test": len(ann.test)}
    with pytest.raises(InputError, match=r"no track output for 3 of 4 clip\(s\)") as err:
        export_dataset(track, [], world.annotations, tmp_path / "all")
    assert f"{ann.train[0][0]}__{ann.train[0][1]}.json" in str(err.value)
    partial = export_dataset(track, [], world.annotations, tmp_path / "partial", allow_missing=True)
    assert not partial.check.ok and partial.check.failed()[0].name == "splits"
    assert len(partial.missing_keys) == 3 and partial.warnings
    assert any(f"missing clip {k[0]}__{k[1]}" in p for k in ann.train for p in partial.check.problems())


def test_bad_inputs_are_one_line_errors_naming_the_file(world: ExportWorld, tmp_path: Path) -> None:
    track = tmp_path / "track"
    shutil.copytree(world.track, track)
    bad = track / f"{world.clip_ids[2]}.json"
    bad.write_text(bad.read_text()[:500])
    with pytest.raises(InputError) as err:
        export_dataset(track, [], world.annotations, tmp_path / "o1")
    assert str(bad) in str(err.value) and "invalid JSON" in str(err.value) and "\n" not in str(err.value)
    shutil.copyfile(world.track / bad.name, bad)

    unknown = track / "NoSuchMatch__5.json"
    shutil.copyfile(bad, unknown)
    with pytest.raises(InputError, match="unknown key") as err:
        export_dataset(track, [], world.annotations, tmp_path / "o2")
    assert str(unknown) in str(err.value)
    unknown.unlink()

    labels = tmp_path / "labels"
    shutil.copytree(world.manual_a, labels)
    stray = labels / "NoSuchMatch" / "5" / "00000.json"
    stray.parent.mkdir(parents=True)
    shutil.copyfile(next(world.manual_a.rglob("*.json")), stray)
    with pytest.raises(InputError, match="unknown key") as err:
        export_dataset(track, [labels], world.annotations, tmp_path / "o3")
    assert str(stray) in str(err.value)

    with pytest.raises(ValidationError, match="frame labelled twice"):
        export_dataset(track, [world.manual_a, world.manual_a], world.annotations, tmp_path / "o4")

    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 5))  # nothing written on bad input


def test_existing_output_needs_overwrite_and_stale_clips_go(world: ExportWorld, tmp_path: Path) -> None:
    out = tmp_path / "D"
    export_dataset(world.track, [], world.annotations, out)
    with pytest.raises(InputError, match="--overwrite"):
        export_dataset(world.track, [], world.annotations, out)
    ann = load_annotations(world.annotations)
    track = tmp_path / "track"
    track.mkdir()
    for key in ann.test:
        name = f"{key[0]}__{key[1]}.json"
        shutil.copyfile(world.track / name, track / name)
    summary = export_dataset(track, [], world.annotations, out, split="test", overwrite=True)
    assert summary.check.ok
    assert sorted(p.relative_to(out).as_posix() for p in (out / "clips").rglob("*.npz")) == \
        sorted(f"clips/{k[0]}/{k[1]}.npz" for k in ann.test)


def test_far_clip_has_low_agreement(dataset: Path, world: ExportWorld) -> None:
    from fdpose.pipelines.export import check_dataset

    report = check_dataset(dataset)
    by_id = {c.clip_id: c for c in report.clips}
    far = by_id[world.clip_ids[FAR_CLIP_INDEX]]
    assert far.agreement_pckh is not None and far.agreement_pckh < 0.6  # 8 of 16 joints shifted 40 px
    assert all(c.agreement_pckh == 1.0 for cid, c in by_id.items() if cid != far.clip_id)
    assert report.check("agreement").informational and report.ok
    strict = check_dataset(dataset, min_agreement=0.9)
    (problem,) = strict.check("agreement").problems
    assert not strict.ok and problem.startswith(f"clip {far.clip_id}: PCKh@0.5 {far.agreement_pckh:.3f} < 0.900")


def test_manual_roots_may_be_match_or_clip_folders(world: ExportWorld, tmp_path: Path) -> None:
    from fdpose.pipelines.export.merge import index_manual_labels

    known = set(load_annotations(world.annotations).fine)
    whole = index_manual_labels([world.manual_a], known)
    key = sorted(whole)[0]
    clip_only = index_manual_labels([world.manual_a / key[0] / str(key[1])], known)
    assert list(clip_only) == [key] and set(clip_only[key]) == set(whole[key])
    per_match = index_manual_labels([world.manual_a / key[0]], known)
    assert set(per_match) == {k for k in whole if k[0] == key[0]}
    stray = tmp_path / "loose" / "notanumber"
    stray.mkdir(parents=True)
    src = next((world.manual_a / key[0] / str(key[1])).glob("*.json"))
    shutil.copyfile(src, stray / src.name)
    with pytest.raises(InputError, match="not laid out as"):
        index_manual_labels([stray], known)


def test_dataset_folder_and_files_get_normal_modes(dataset: Path) -> None:
    """The export's staging folder (mkdtemp: 0700) and atomically written files (mkstemp: 0600) end with the
    modes the umask gives a normal mkdir/open, so a shared dataset is readable by others."""
    from fdpose.io import current_umask

    mask = current_umask()
    assert dataset.stat().st_mode & 0o777 == 0o777 & ~mask
    files = [p for p in dataset.rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o777 == 0o666 & ~mask for p in files)


def test_an_unwritable_parent_names_the_dataset_not_its_staging_folder(world: ExportWorld, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A parent folder that refuses new entries (0555 for a non-root user): the error names DATASET, which
    the user typed, not the hidden ``.D.<pid>.<rand>.partial`` staging folder that was never made."""
    import errno
    import tempfile

    def refuse(prefix: str = "", suffix: str = "", dir: str | None = None) -> str:
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}abc{suffix}")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    out = tmp_path / "D"
    with pytest.raises(PermissionError) as err:
        export_dataset(world.track, [world.manual_a], world.annotations, out)
    assert err.value.filename == str(out) and ".partial" not in str(err.value)

