"""``fdpose annotate stats`` library: per-folder counts, joint visibility, box sizes, tables."""

from __future__ import annotations

import numpy as np
import pytest

from fdpose.errors import InputError
from fdpose.skeleton import JOINT_INDEX, JOINT_NAMES
from fdpose.annotations.stats import collect_stats, format_stats

from test_validate import good_obj, write_doc, write_image


def frame(image: str, box: list[list[float]], occluded: tuple[str, ...] = (), absent: tuple[str, ...] = (), no_box: bool = False):
    obj = good_obj(image=image, box=box, occluded=occluded)
    obj["shapes"] = [s for s in obj["shapes"] if s["label"] not in absent and not (no_box and s["label"] == "diver")]
    return obj


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "labels"
    a, b = root / "01_1", root / "01_2"
    write_doc(a, frame("00000.jpg", [[196.0, 55.0], [266.0, 203.0]]), "00000.json")  # 70 x 148
    write_doc(a, frame("00001.jpg", [[190.0, 50.0], [270.0, 210.0]], occluded=("l_elbow", "l_wrist")), "00001.json")  # 80 x 160
    write_doc(a, frame("00002.jpg", [[266.0, 203.0], [200.0, 60.0]], absent=("r_ankle",)), "00002.json")  # 66 x 143, drawn backwards
    write_doc(b, frame("00000.jpg", [[180.0, 40.0], [280.0, 220.0]], occluded=("l_elbow",), absent=("r_ankle", "l_ankle")), "00000.json")
    write_doc(b, frame("00001.jpg", [[0.0, 0.0], [1.0, 1.0]], no_box=True), "00001.json")
    write_image(b / "00002.jpg")  # not labelled yet
    (b / "00003.json").write_bytes(b"\x00\x01 not json")
    write_image(b / "00003.jpg")
    (root / "labels.txt").write_text("diver\n")
    return root


def test_counts_per_folder(folder):
    stats = collect_stats([folder])
    rows = {f.folder: f for f in stats.folders}
    assert list(rows) == ["01_1", "01_2"]
    a, b = rows["01_1"], rows["01_2"]
    assert (a.images, a.labelled, a.unreadable, a.with_box) == (3, 3, 0, 3)
    assert (b.images, b.labelled, b.unreadable, b.with_box) == (4, 2, 1, 1)
    assert a.joint_totals() == {"visible": 45, "occluded": 2, "absent": 1}
    assert b.joint_totals() == {"visible": 29, "occluded": 1, "absent": 2}
    assert stats.frames_labelled == 5 and stats.images == 7 and stats.unreadable == 1


def test_joint_visibility_and_box_sizes(folder):
    stats = collect_stats([folder])
    d = stats.to_dict()
    assert d["joints"]["r_ankle"] == {"visible": 3, "occluded": 0, "absent": 2}
    assert d["joints"]["l_elbow"] == {"visible": 3, "occluded": 2, "absent": 0}
    assert d["joints"]["l_wrist"] == {"visible": 4, "occluded": 1, "absent": 0}
    assert d["joints"]["pelvis"] == {"visible": 5, "occluded": 0, "absent": 0}
    assert sum(sum(v.values()) for v in d["joints"].values()) == 16 * 5
    assert d["box"]["width"] == {"min": 66.0, "median": 75.0, "max": 100.0}
    assert d["box"]["height"] == {"min": 143.0, "median": 154.0, "max": 180.0}
    assert d["folders"][1] == {"folder": "01_2", "images": 4, "frames_labelled": 2, "unreadable": 1, "with_box": 1,
                               "joints": {"visible": 29, "occluded": 1, "absent": 2}}
    vis = stats.visibility()
    assert vis.shape == (16, 3) and vis[JOINT_INDEX["l_ankle"]].tolist() == [1, 0, 4]


def test_table_text(folder):
    text = format_stats(collect_stats([folder]))
    lines = text.splitlines()
    assert lines[0].split() == ["folder", "images", "labelled", "unreadable", "boxes", "visible", "occluded", "absent"]
    assert lines[1].split() == ["01_1", "3", "3", "0", "3", "45", "2", "1"]
    assert lines[3].split() == ["total", "7", "5", "1", "4", "74", "3", "3"]
    r_ankle = next(l for l in lines if l.startswith("r_ankle"))
    assert r_ankle.split() == ["r_ankle", "3", "0", "2", "60.0"]
    assert next(l for l in lines if l.startswith("box width")).split() == ["box", "width", "66.0", "75.0", "100.0"]
    assert lines[-1] == "5 frames labelled in 2 folders (7 images, 1 unreadable label files)"


def test_several_roots_and_root_level_frames(tmp_path, folder):
    other = tmp_path / "flat"
    write_doc(other, frame("00000.jpg", [[196.0, 55.0], [266.0, 203.0]]), "00000.json")
    stats = collect_stats([folder, other])
    names = [f.folder for f in stats.folders]
    assert names == [f"{folder.as_posix()}/01_1", f"{folder.as_posix()}/01_2", other.as_posix()]
    assert collect_stats([other]).folders[0].folder == "."


def test_empty_and_missing(tmp_path):
    stats = collect_stats([tmp_path])
    assert stats.folders == [] and stats.box_sizes() == {"width": None, "height": None}
    assert "0 frames labelled in 0 folders" in format_stats(stats)
    with pytest.raises(InputError, match="not a folder"):
        collect_stats([tmp_path / "nope"])


def test_visibility_names_follow_the_protocol(folder):
    d = collect_stats([folder]).to_dict()
    assert list(d["joints"]) == list(JOINT_NAMES)
    assert np.all([set(v) == {"visible", "occluded", "absent"} for v in d["joints"].values()])


def test_tables_are_dataframes_of_the_same_counts(folder, tmp_path):
    stats = collect_stats([folder])
    folders = stats.folder_table()
    assert list(folders.index) == ["01_1", "01_2"] and folders.index.name == "folder"
    assert folders.loc["01_2"].to_dict() == {"images": 4, "labelled": 2, "unreadable": 1, "boxes": 1,
                                             "visible": 29, "occluded": 1, "absent": 2}
    assert (folders.dtypes == "int64").all() and folders["labelled"].sum() == stats.frames_labelled
    joints = stats.joint_table()
    assert list(joints.index) == list(JOINT_NAMES)
    assert joints.loc["r_ankle", ["visible", "occluded", "absent"]].tolist() == [3, 0, 2]
    assert joints.loc["r_ankle", "visible_share"] == pytest.approx(0.6)
    boxes = stats.box_table()
    assert boxes.loc["width"].tolist() == [66.0, 75.0, 100.0] and list(boxes.columns) == ["min", "median", "max"]
    (tmp_path / "nothing").mkdir()
    none = collect_stats([tmp_path / "nothing"])
    assert none.folder_table().empty and none.joint_table()["visible_share"].isna().all()
    assert none.box_table().isna().all().all()
