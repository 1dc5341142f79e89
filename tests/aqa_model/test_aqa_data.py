"""FineDiving clips for the AQA model: sampling, GT transitions, poses, missing data, exemplars."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from aqa_helpers import micro_config

from fdpose.aqa_model.data import (ExemplarPicker, FineDivingAQADataset, label_transitions, select_transitions,
                                   split_train_val)
from fdpose.aqa_model.model import HPMCoRe
from fdpose.errors import InputError, ValidationError
from fdpose.finediving import FineDivingAnnotations, FineGrainedRecord, load_annotations
from fdpose.sampling import write_pred_comp

FRAMES_PER_CLIP = 31  # trimmed clip length; the micro config samples 16 of them


def _world(tmp_path: Path, keys: list[tuple[str, int]], dives: list[str]) -> FineDivingAnnotations:
    ann = FineDivingAnnotations()
    for n, (key, dive) in enumerate(zip(keys, dives)):
        labels = np.array([1] * 10 + [2] * 12 + [3] * 9, np.int64)  # transits 9 and 21
        ann.fine[key] = FineGrainedRecord(dive, 50.0 + n, 2.0, np.array([9, 21]), labels, {1: "a", 2: "b", 3: "c"})
        folder = tmp_path / "frames" / key[0] / str(key[1])
        folder.mkdir(parents=True)
        for f in range(FRAMES_PER_CLIP):
            img = np.full((48, 64, 3), (f * 8) % 256, np.uint8)
            img[:, :8] = 255  # a bright left edge shows whether a frame was flipped
            cv2.imwrite(str(folder / f"{100 + f:05d}.jpg"), img)
        pose = np.zeros((16, 16, 3), np.float32)
        pose[..., 0] = np.arange(16, dtype=np.float32)[None, :] + 10  # x = joint + 10
        pose[..., 2] = 1.0
        write_pred_comp(tmp_path / "poses" / key[0] / f"pred_comp_{key[1]}.npz", pose, n=16)
    return ann


KEYS = [("m1", 1), ("m1", 2), ("m2", 1), ("m2", 7)]
DIVES = ["107b", "107b", "405c", "107b"]


def test_items_have_sampled_frames_poses_and_mapped_transitions(tmp_path: Path) -> None:
    cfg = micro_config()
    ann = _world(tmp_path, KEYS, DIVES)
    ds = FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses")
    assert len(ds) == 4
    item = ds[1]
    assert item["video"].shape == (16, 3, 16, 16) and item["video"].dtype == torch.float32
    assert item["pose"].shape == (16, 16, 3)
    positions = np.linspace(100, 130, 16).astype(int) - 100  # the public loader's rule
    assert ds.positions(KEYS[1]).tolist() == positions.tolist()
    # first sampled frame after each transit (last frames 9 and 21 of stages 0 and 1)
    expected = [int(np.argmax(positions > 9)), int(np.argmax(positions > 21))]
    assert item["transitions"].tolist() == expected
    assert item["score"].item() == 51.0 and item["index"].item() == 1
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    model = HPMCoRe(cfg)
    enc = model.encode(batch["video"], batch["pose"], batch["transitions"])
    total, _ = model.losses(enc, enc.select([1, 0]), batch["score"], batch["score"].flip(0))
    assert torch.isfinite(total)


def test_augmentation_is_seeded_and_flips_pose_with_video(tmp_path: Path) -> None:
    cfg = micro_config()
    ann = _world(tmp_path, KEYS, DIVES)
    ds = FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses", augment=True, seed=3)
    a, b = ds[2], ds[2]
    assert torch.equal(a["video"], b["video"]) and torch.equal(a["pose"], b["pose"])
    flips = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        item = ds[2]
        flipped = bool(item["pose"][0, 0, 0] != 10.0)
        flips.append(flipped)
        if flipped:  # x' = W - 1 - x with W = 64, joints swapped left/right
            assert item["pose"][0, 5, 0].item() == pytest.approx(63 - 10.0)
    assert any(flips) and not all(flips)


def test_missing_data_errors_or_skips(tmp_path: Path) -> None:
    cfg = micro_config()
    ann = _world(tmp_path, KEYS, DIVES)
    (tmp_path / "poses" / "m2" / "pred_comp_7.npz").unlink()
    with pytest.raises(InputError) as err:
        FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses")
    assert "clip m2/7" in str(err.value) and "pred_comp_7.npz" in str(err.value)
    ds = FineDivingAQADataset(ann, KEYS + [("m3", 1)], cfg, tmp_path / "frames", tmp_path / "poses",
                              skip_missing=True)
    assert len(ds) == 3 and set(ds.skipped) == {("m2", 7), ("m3", 1)}
    pose_free = micro_config(use_hse=False, video_crop="frame")  # video-only, whole frame: no pose file needed
    assert len(FineDivingAQADataset(ann, KEYS, pose_free, tmp_path / "frames")) == 4
    diver_crop = micro_config(use_hse=False, video_crop="diver")  # ... but the diver crop follows the joints
    with pytest.raises(InputError, match="video_crop 'diver'"):
        FineDivingAQADataset(ann, KEYS, diver_crop, tmp_path / "frames")
    assert len(FineDivingAQADataset(ann, KEYS[:3], diver_crop, tmp_path / "frames", tmp_path / "poses")) == 3


def test_clips_the_export_left_out_are_skipped_not_an_error(tmp_path: Path) -> None:
    """An exported dataset (``D/Pose`` beside ``D/manifest.json``) whose export left a clip out with
    ``--drop-failing``: that clip is skipped and counted with the export's reason; another missing pose file
    is still an error."""
    from fdpose.io import write_json

    cfg = micro_config()
    ann = _world(tmp_path, KEYS, DIVES)
    dataset = tmp_path / "D"
    dataset.mkdir()
    (tmp_path / "poses").rename(dataset / "Pose")
    (dataset / "Pose" / "m2" / "pred_comp_7.npz").unlink()
    write_json(dataset / "manifest.json", {"dropped": [{"key": ["m2", 7], "split": "test",
                                                         "reason": "interpolated joints 33.9% > 30.0%"}]})
    ds = FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", dataset / "Pose")
    assert ds.keys == KEYS[:3] and ds.skipped == {("m2", 7): "left out by the export: interpolated joints 33.9% > 30.0%"}
    (dataset / "Pose" / "m1" / "pred_comp_2.npz").unlink()  # not in the manifest's list: still an error
    with pytest.raises(InputError, match="clip m1/2"):
        FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", dataset / "Pose")


def test_select_transitions_rule() -> None:
    assert select_transitions([30, 50, 70], 3).tolist() == [30, 70]  # twist groups merge into flight
    assert select_transitions([30, 70], 2).tolist() == [30]
    assert select_transitions([30, 70], 1).tolist() == []


def test_exemplar_picker_rules() -> None:
    ann = FineDivingAnnotations()
    for key, dive in zip(KEYS + [("t", 1)], DIVES + ["107b"]):
        ann.fine[key] = FineGrainedRecord(dive, 60.0, 2.0, np.array([9, 21]), np.zeros(31, np.int64), {})
    picker = ExemplarPicker(ann, KEYS, seed=1)
    assert picker.candidates(("m1", 1)) == [("m1", 2), ("m2", 7)]  # same dive number, not itself
    assert picker.candidates(("m2", 1)) == [("m2", 1)]  # the only 405c clip
    assert picker.train_exemplar(("m1", 1), epoch=0) in {("m1", 2), ("m2", 7)}
    ex = picker.test_exemplars(("t", 1))
    assert len(ex) == 10 and set(ex) == {("m1", 1), ("m1", 2), ("m2", 7)}
    assert ex == ExemplarPicker(ann, list(reversed(KEYS)), seed=1).test_exemplars(("t", 1))  # stable
    anywhere = ExemplarPicker(ann, KEYS, use_dive_number=False)
    assert ("m2", 1) in anywhere.candidates(("m1", 1))
    ann.fine[("u", 1)] = FineGrainedRecord("5253b", 60.0, 2.0, np.array([9]), np.zeros(31, np.int64), {})
    with pytest.raises(ValidationError, match="no training clip with dive number '5253b'"):
        ExemplarPicker(ann, KEYS).candidates(("u", 1))
    with pytest.raises(ValidationError, match="dive number unknown"):
        picker.candidates(("nowhere", 1))


def test_validation_split_is_seeded_and_disjoint() -> None:
    keys = [("m", i) for i in range(50)]
    train, val = split_train_val(keys, 0.2, seed=0)
    assert len(val) == 10 and len(train) == 40 and not set(train) & set(val)
    assert (train, val) == split_train_val(list(reversed(keys)), 0.2, seed=0)
    assert split_train_val(keys, 0.2, seed=1)[1] != val


def test_real_annotations_exemplars_exist_for_every_test_clip(shared_data: Path) -> None:
    if not (shared_data / "finediving" / "train_split.pkl").is_file():
        pytest.skip("shared FineDiving annotations not available")
    ann = load_annotations(shared_data / "finediving")
    picker = ExemplarPicker(ann, ann.train)
    for key in ann.test:
        ex = picker.test_exemplars(key)
        assert len(ex) == 10 and all(ann.fine[e].action_type == ann.fine[key].action_type for e in ex)


def test_a_96_row_pose_file_serves_a_model_of_fewer_frames(tmp_path: Path) -> None:
    # FineDiving-Pose and the pipeline write 96 rows; the micro config samples 16 frames.
    from fdpose.sampling import aligned_indices

    cfg = micro_config()
    ann = _world(tmp_path, KEYS, DIVES)
    numbers = list(range(100, 100 + FRAMES_PER_CLIP))
    pos96 = aligned_indices(FRAMES_PER_CLIP, numbers, 96)
    pose96 = np.zeros((96, 16, 3), np.float32)
    pose96[..., 0] = pos96[:, None]  # x = the clip position the row was sampled at
    pose96[..., 2] = 1.0
    write_pred_comp(tmp_path / "poses" / "m1" / "pred_comp_2.npz", pose96, n=96)
    ds = FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses")
    item = ds[1]
    assert item["pose"].shape == (16, 16, 3)
    # every sampled frame of the model is on the 96-grid here (31 frames), so rows match exactly
    assert item["pose"][:, 0, 0].numpy().astype(int).tolist() == ds.positions(KEYS[1]).tolist()
    write_pred_comp(tmp_path / "poses" / "m1" / "pred_comp_2.npz", pose96[:40], n=40)
    with pytest.raises(ValidationError, match="pred_comp_2.npz"):
        ds[1]


def _relabel(ann: FineDivingAnnotations, key: tuple[str, int], labels: list[int], transits: list[int]) -> None:
    """Give ``key`` these step labels and this (possibly inconsistent) transit list."""
    old = ann.fine[key]
    ann.fine[key] = FineGrainedRecord(old.action_type, old.dive_score, old.difficulty, np.array(transits, np.int64),
                                      np.array(labels, np.int64), old.sub_action_types)


def test_transitions_come_from_the_step_labels_not_the_transit_list(tmp_path: Path) -> None:
    """The public loaders read the transitions off the sampled frames' labels. Real record ('03', 24) has
    steps_transit_frames [-1, 47]: a transit list would put the take-off at sample 0."""
    cfg = micro_config()
    ann = _world(tmp_path, KEYS, DIVES)
    labels = [1] * 10 + [2] * 12 + [3] * 9  # labels change after frames 9 and 21
    _relabel(ann, KEYS[0], labels, [-1, 21])
    # a one-frame flicker back to label 2 after the entry began (like real record 2019 Women3mSynchro r1/5):
    # the entry starts where label 3 FIRST shows (frame 22), not after the last change (frame 24)
    _relabel(ann, KEYS[1], [1] * 10 + [2] * 12 + [3] * 2 + [2] + [3] * 6, [9, 24])
    ds = FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses")
    positions = np.linspace(100, 130, 16).astype(int) - 100  # frames 0, 2, ..., 30
    assert ds[0]["transitions"].tolist() == [int(np.argmax(positions > 9)), int(np.argmax(positions > 21))] == [5, 11]
    assert ds[1]["transitions"].tolist() == [5, 11]  # frame 22 is sample 11; frame 24 (label 2 again) sample 12


def test_label_transitions_rule() -> None:
    sampled = np.array([4, 4, 4, 25, 25, 12, 12, 36, 36], np.int64)  # take-off, two flight groups, entry
    assert label_transitions(sampled, 3).tolist() == [3, 7]
    assert label_transitions(sampled, 2).tolist() == [3]
    assert label_transitions(sampled, 2, "entry").tolist() == [7]
    assert label_transitions(sampled, 1).tolist() == []
    assert label_transitions([4, 36, 36], 3).tolist() == [1, 1]  # two labels only: both transitions at the entry
    with pytest.raises(ValueError, match="single step label"):
        label_transitions([4, 4, 4], 3)


def test_a_clip_whose_labels_show_one_step_is_refused_or_skipped(tmp_path: Path) -> None:
    cfg = micro_config()
    ann = _world(tmp_path, KEYS, DIVES)
    _relabel(ann, KEYS[2], [1] * 31, [9, 21])
    with pytest.raises(InputError, match="clip m2/1: the sampled frames show a single step label"):
        FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses")
    ds = FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses", skip_missing=True)
    assert ds.keys == [KEYS[0], KEYS[1], KEYS[3]] and KEYS[2] not in ds.files
    _relabel(ann, KEYS[2], [1] * 10 + [2] * 12, [9])  # 22 labels for 31 frames
    with pytest.raises(InputError, match="22 frame labels, but the clip's frames run to position 30"):
        FineDivingAQADataset(ann, KEYS, cfg, tmp_path / "frames", tmp_path / "poses")


#: The 9 real records whose steps_transit_frames and frames_labels disagree, with the targets the public
#: loaders' code gives (TSA / MCoRe / HP-MCoRe ``load_video``: first sample of the 2nd and of the last label,
#: 96 samples by np.linspace(...).astype(int)), computed with their loader's lines on the real pickles.
REAL_DISAGREEING = {
    ("03", 24): [11, 54], ("03", 67): [17, 59], ("03", 71): [15, 58], ("05", 56): [32, 63], ("14", 3): [29, 76],
    ("14", 65): [15, 52], ("FINADivingWorldCup2021_Women10mSynchronised_final_r5", 4): [19, 53],
    ("FINAWorldChampionships2019_Women10m_final_r5", 9): [22, 59],
    ("FINAWorldChampionships2019_Women3mSynchronised_final_r1", 5): [40, 58],
}


def test_real_annotations_transitions_match_the_public_loader(shared_data: Path) -> None:
    from fdpose.aqa_model.segmentation import map_transitions_to_samples
    from fdpose.sampling import aligned_indices

    ann = load_annotations(shared_data / "finediving")
    disagree = {}
    for key, rec in ann.fine.items():
        positions = aligned_indices(rec.num_frames, None, 96)
        ours = label_transitions(rec.frames_labels[positions], 3).tolist()
        from_list = map_transitions_to_samples(select_transitions(rec.steps_transit_frames, 3), positions).tolist()
        if ours != from_list:
            disagree[key] = ours
    assert disagree == REAL_DISAGREEING  # the other 2991 records: the transit list gives the same targets
