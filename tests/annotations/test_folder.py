"""``fdpose annotate init/open`` library: protocol files, frame extraction, the labelme command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image

from fdpose.errors import DependencyError, InputError
from fdpose.skeleton import JOINT_NAMES
from fdpose.annotations import folder as folder_mod
from fdpose.annotations.folder import (
    check_can_open, default_sequence_name, format_command, has_display, init_folder, label_flags_text,
    labelme_command, list_images,
)
from fdpose.annotations.protocol import labels_file_text

W, H = 455, 256
VW = 456


def make_video(path: Path, n: int = 7) -> Path:
    """An MJPG AVI (VW x H: the codec needs an even width) whose frame i is uniformly grey at
    level 30 * i (so frames are identifiable)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (VW, H))
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((H, VW, 3), 30 * i, dtype=np.uint8))
    writer.release()
    return path


def make_frame_dir(root: Path, n: int = 10) -> Path:
    """FineDiving-style ``{match}/{idx}/{frame:05d}.jpg``."""
    d = root / "01" / "7"
    d.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((H, W, 3), i, dtype=np.uint8)).save(d / f"{i:05d}.jpg")
    (d / ".DS_Store").write_bytes(b"x")
    (d / "notes.txt").write_text("not an image")
    return d


def test_init_writes_protocol_files(tmp_path):
    res = init_folder(tmp_path / "ann")
    assert (tmp_path / "ann" / "labels.txt").read_text() == labels_file_text()
    assert res.labels_file.read_text().splitlines() == ["diver", *JOINT_NAMES]
    readme = res.readme.read_text()
    for word in ("diver", "occluded", "leave it out", "fdpose annotate validate", *JOINT_NAMES):
        assert word in readme
    assert res.frames == [] and res.sequence_dir is None
    init_folder(tmp_path / "ann")  # idempotent


def test_label_flags_offer_occluded_on_joints_only():
    flags = yaml.safe_load(label_flags_text())  # what labelme does with the --label-flags file
    assert list(flags.values()) == [["occluded"]]
    pattern = next(iter(flags))
    for name in JOINT_NAMES:
        assert re.match(pattern, name)  # labelme matches shapes with re.match
    for other in ("diver", "r_knee2", "xr_knee", ""):
        assert not re.match(pattern, other)


def test_copy_every_nth_frame_from_frame_dir(tmp_path):
    src = make_frame_dir(tmp_path / "src")
    res = init_folder(tmp_path / "ann", frames_from=src, every=3)
    assert res.sequence_dir == tmp_path / "ann" / "01_7"
    assert [p.name for p in res.frames] == ["00000.jpg", "00003.jpg", "00006.jpg", "00009.jpg"]
    for p in res.frames:
        assert p.read_bytes() == (src / p.name).read_bytes()
    assert [p.name for p in list_images(res.sequence_dir)] == [p.name for p in res.frames]


def test_natural_order_of_frame_names(tmp_path):
    d = tmp_path / "clip"
    d.mkdir()
    for i in (1, 2, 10, 11, 20):
        Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(d / f"f{i}.png")
    res = init_folder(tmp_path / "ann", frames_from=d, every=2, name="c")
    assert [p.name for p in res.frames] == ["f1.png", "f10.png", "f20.png"]


def test_extract_every_nth_frame_from_video(tmp_path):
    video = make_video(tmp_path / "dive.avi")
    res = init_folder(tmp_path / "ann", frames_from=video, every=3)
    assert res.sequence_dir == tmp_path / "ann" / "dive"
    assert [p.name for p in res.frames] == ["00000.jpg", "00003.jpg", "00006.jpg"]
    for p, level in zip(res.frames, (0, 90, 180)):
        with Image.open(p) as im:
            assert im.size == (VW, H)
            assert abs(float(np.asarray(im).mean()) - level) < 4


def test_extraction_uses_the_shared_reader(tmp_path, monkeypatch):
    # annotate init decodes through fdpose.video (the reader track-and-estimate uses): force OpenCV.
    from fdpose import video as video_mod

    video = make_video(tmp_path / "dive.avi", n=4)
    monkeypatch.setattr(folder_mod, "iter_video", lambda v: video_mod.iter_video(v, "opencv"))
    res = init_folder(tmp_path / "ann", frames_from=video, every=2)
    assert [p.name for p in res.frames] == ["00000.jpg", "00002.jpg"]
    with Image.open(res.frames[1]) as im:
        assert abs(float(np.asarray(im).mean()) - 60) < 4


def test_bad_sources(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="no such video or frame folder"):
        init_folder(tmp_path / "ann", frames_from=tmp_path / "missing.mp4")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InputError, match="not a video"):
        init_folder(tmp_path / "ann", frames_from=tmp_path / "x.txt")
    (tmp_path / "junk.mp4").write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="junk.mp4"):
        init_folder(tmp_path / "ann", frames_from=tmp_path / "junk.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images in folder"):
        init_folder(tmp_path / "ann", frames_from=tmp_path / "empty")
    with pytest.raises(InputError, match="--every must be at least 1"):
        init_folder(tmp_path / "ann", every=0)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="exists and is not a folder"):
        init_folder(tmp_path / "afile")


def test_refuses_to_overwrite_frames(tmp_path):
    src = make_frame_dir(tmp_path / "src", n=3)
    init_folder(tmp_path / "ann", frames_from=src)
    with pytest.raises(InputError, match="already holds frames"):
        init_folder(tmp_path / "ann", frames_from=src)
    res = init_folder(tmp_path / "ann", frames_from=src, name="second")
    assert len(res.frames) == 3


def test_default_sequence_name(tmp_path):
    (tmp_path / "01" / "12").mkdir(parents=True)
    (tmp_path / "clipA").mkdir()
    (tmp_path / "v.mp4").write_bytes(b"")
    assert default_sequence_name(tmp_path / "01" / "12") == "01_12"
    assert default_sequence_name(tmp_path / "clipA") == "clipA"
    assert default_sequence_name(tmp_path / "v.mp4") == "v"


def test_labelme_command_arguments(tmp_path):
    d = tmp_path / "my labels"
    cmd = labelme_command(d, labelme=["labelme"])
    assert cmd == ["labelme", str(d), "--labels", str(d / "labels.txt"), "--label-flags", str(d / "label_flags.yaml"),
                   "--validate-label", "exact", "--no-sort-labels"]
    assert labelme_command(d, labelme=["labelme"], keep_prev=True)[-1] == "--keep-prev"
    line = format_command(cmd)
    assert f"'{d}'" in line and line.startswith("labelme ")


def test_has_display():
    if sys.platform.startswith("linux"):
        assert not has_display({})
        assert has_display({"DISPLAY": ":0"}) and has_display({"WAYLAND_DISPLAY": "wayland-0"})


def test_check_can_open(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="no such folder"):
        check_can_open(tmp_path / "nope")
    (tmp_path / "raw").mkdir()
    with pytest.raises(InputError, match="labels.txt, label_flags.yaml missing"):
        check_can_open(tmp_path / "raw")
    init_folder(tmp_path / "ann")
    monkeypatch.setattr(folder_mod, "find_labelme", lambda: None)
    with pytest.raises(DependencyError, match="labelme is not installed"):
        check_can_open(tmp_path / "ann", environ={"DISPLAY": ":0"})
    monkeypatch.setattr(folder_mod, "find_labelme", lambda: ["/opt/bin/labelme"])
    if sys.platform.startswith("linux"):
        with pytest.raises(DependencyError, match="no display") as info:
            check_can_open(tmp_path / "ann", environ={})
        assert "/opt/bin/labelme " in str(info.value)
    assert check_can_open(tmp_path / "ann", True, environ={"DISPLAY": ":0"}) == labelme_command(
        tmp_path / "ann", ["/opt/bin/labelme"], True)


def test_options_exist_in_installed_labelme(tmp_path):
    """labelme parses our exact argument list (it exits on --version before opening a window)."""
    prefix = folder_mod.find_labelme()
    if prefix is None:
        pytest.skip("labelme not installed")
    init_folder(tmp_path / "ann")
    cmd = labelme_command(tmp_path / "ann", prefix, keep_prev=True) + ["--version"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "6.3.1" in res.stdout
    assert "deprecated" not in res.stderr.lower()
