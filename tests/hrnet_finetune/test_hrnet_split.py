"""Clip-level split, the MPII export through the annotation toolkit and the mmpose dataset reading it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import ConfigError, InputError
from fdpose.skeleton import NUM_JOINTS, flip_permutation
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED
from fdpose.hrnet_finetune.data import export_dataset, given_split, read_folders, split_by_clip


def test_split_keeps_every_clip_on_one_side(hr_world: Path) -> None:
    roots = read_folders([hr_world / "labelme"])
    n_frames = len(roots[0])
    for seed in range(5):
        split = split_by_clip(roots, 0.25, seed)
        train_seq = {f.sequence for f in split.train}
        val_seq = {f.sequence for f in split.val}
        assert train_seq.isdisjoint(val_seq)
        assert len(split.train) + len(split.val) == n_frames
        assert len(split.val_clips) == 1 and len(split.train_clips) == 3
        assert sorted(train_seq) == [k.split(":", 1)[1] for k in split.train_clips]
    again = split_by_clip(roots, 0.25, 2)
    assert [f.id for f in again.val] == [f.id for f in split_by_clip(roots, 0.25, 2).val]


def test_split_never_takes_all_clips_and_needs_two(hr_world: Path, tmp_path: Path) -> None:
    roots = read_folders([hr_world / "labelme"])
    split = split_by_clip(roots, 0.99, 0)
    assert len(split.train_clips) == 1 and len(split.val_clips) == 3
    one_clip = tmp_path / "one"
    seq = sorted({f.sequence for f in roots[0]})[0]
    shutil.copytree(hr_world / "labelme" / seq, one_clip / seq)
    one = read_folders([one_clip])
    with pytest.raises(ConfigError, match="need at least 2 clips"):
        split_by_clip(one, 0.5, 0)


def test_same_sequence_names_in_two_roots_are_two_clips(hr_world: Path) -> None:
    roots = read_folders([hr_world / "labelme", hr_world / "labelme"])
    split = split_by_clip(roots, 0.5, 1)
    assert len(split.train_clips) + len(split.val_clips) == 8
    assert set(split.train_clips).isdisjoint(split.val_clips)
    given = given_split(roots[:1], roots[1:])
    assert all(k.startswith("0:") for k in given.train_clips) and all(k.startswith("1:") for k in given.val_clips)


def test_read_folders_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        read_folders([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no LabelMe files"):
        read_folders([tmp_path / "empty"])


def test_dataset_reads_exact_boxes_and_occluded_joints(hr_world: Path, tmp_path: Path) -> None:
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    import fdpose.hrnet_finetune.register  # noqa: F401

    roots = read_folders([hr_world / "labelme"])
    split = split_by_clip(roots, 0.25, 0)
    paths = export_dataset(split, tmp_path / "data")
    assert paths["train"].is_file() and len(list((tmp_path / "data" / "train" / "images").iterdir())) == len(split.train)
    init_default_scope("mmpose")
    ds = DATASETS.build(dict(type="DiverMpiiDataset", data_root=str(tmp_path / "data"), ann_file="train/mpii.json",
                             data_prefix=dict(img="train/images/"), test_mode=True, pipeline=[]))
    assert ds.metainfo["flip_indices"] == flip_permutation().tolist()
    by_file = {f.rel_json: f for f in split.train}
    with_joints = [f for f in split.train if (f.label.visibility > VIS_ABSENT).any()]
    assert len(ds) == len(with_joints)
    occluded_seen = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        label = by_file[info["label_file"]].label
        np.testing.assert_allclose(info["bbox"][0], label.box.xyxy[0], atol=1e-3)
        present = label.visibility > VIS_ABSENT
        np.testing.assert_array_equal(info["keypoints_visible"][0], present.astype(np.float32))
        np.testing.assert_allclose(info["keypoints"][0][present], label.xy[present], atol=1e-3)
        assert info["keypoints"].shape == (1, NUM_JOINTS, 2)
        occluded_seen += int((label.visibility == VIS_OCCLUDED).sum())
        assert Path(info["img_path"]).is_file()
    assert occluded_seen > 0, "the synthetic world should contain occluded joints (trained on, not dropped)"
    assert (tmp_path / "data" / "split.json").is_file()


def test_thin_frames_keeps_every_nth_frame_of_each_clip(hr_world: Path) -> None:
    from fdpose.hrnet_finetune.data import thin_frames

    frames = read_folders([hr_world / "labelme"])[0]
    thinned = thin_frames(frames, 3)
    for seq in {f.sequence for f in frames}:
        ids = [f.id for f in frames if f.sequence == seq]
        assert [f.id for f in thinned if f.sequence == seq] == ids[::3]
    assert [f.id for f in thin_frames(frames, 1)] == [f.id for f in frames]
