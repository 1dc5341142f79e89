"""Clip sources: streaming video decode, frame trees, discovery and clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fdpose.errors import ConfigError, InputError
from fdpose.pipelines.frames import FrameTreeClip, VideoClip, discover_clips, frame_number


def write_video(path: Path, n: int = 12, size: tuple[int, int] = (64, 48), fps: float = 25.0) -> None:
    """An mp4 whose frame i is uniformly grey level 20 * i mod 250 (so decoded order is checkable)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), (20 * i) % 250, np.uint8))
    w.release()


def write_tree(root: Path, match: str, idx: str, numbers: list[int], size: tuple[int, int] = (40, 30)) -> Path:
    folder = root / match / idx
    folder.mkdir(parents=True)
    for k, num in enumerate(numbers):
        img = np.full((size[1], size[0], 3), 10 * k, np.uint8)
        cv2.imwrite(str(folder / f"{num:05d}.jpg"), img)
    return folder


@pytest.mark.parametrize("decoder", ["pyav", "opencv"])
def test_video_streams_frames_in_order(tmp_path: Path, decoder: str) -> None:
    path = tmp_path / "dive_a.mp4"
    write_video(path)
    clip = VideoClip(path, decoder)
    info = clip.probe()
    assert (info.frame_count, info.width, info.height) == (12, 64, 48)
    assert info.fps == pytest.approx(25.0)
    it = clip.iter_frames()
    first = next(it)  # a generator: frames come one at a time
    assert first.frame_index == 0 and first.file_name is None
    assert first.image.shape == (48, 64, 3) and first.image.dtype == np.uint8
    rest = list(it)
    assert [f.frame_index for f in rest] == list(range(1, 12))
    means = [first.image.mean()] + [f.image.mean() for f in rest]
    np.testing.assert_allclose(means, [20 * i for i in range(12)], atol=4)


def test_batches(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    write_video(path, n=7)
    sizes = [len(b) for b in VideoClip(path).iter_batches(3)]
    assert sizes == [3, 3, 1]
    with pytest.raises(ConfigError):
        next(VideoClip(path).iter_batches(0))


def test_corrupt_and_empty_videos_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00garbage" * 200)
    with pytest.raises(InputError, match="broken.mp4: cannot"):
        list(VideoClip(bad).iter_frames())
    with pytest.raises(InputError, match="broken.mp4"):
        VideoClip(bad).probe()
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty.mp4: empty video file \(0 bytes\)"):
        list(VideoClip(empty).iter_frames())
    with pytest.raises(InputError, match=r"broken.mp4: cannot open video \(OpenCV\)"):
        list(VideoClip(bad, "opencv").iter_frames())


def test_truncated_video(tmp_path: Path) -> None:
    good = tmp_path / "good.mp4"
    write_video(good, n=30)
    data = good.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # mp4v writes its index (moov) at the end
    with pytest.raises(InputError, match="cut.mp4"):
        list(VideoClip(cut).iter_frames())


def test_frame_tree_sorted_numerically_with_names(tmp_path: Path) -> None:
    folder = write_tree(tmp_path, "MatchA_2021", "7", [10, 9, 100, 11])
    clip = FrameTreeClip(folder)
    assert clip.clip_id == "MatchA_2021__7"
    assert clip.probe().frame_count == 4 and clip.probe().fps is None
    assert (clip.probe().width, clip.probe().height) == (40, 30)
    frames = list(clip.iter_frames())
    assert [f.file_name for f in frames] == ["00009.jpg", "00010.jpg", "00011.jpg", "00100.jpg"]
    assert [f.frame_index for f in frames] == [0, 1, 2, 3]
    assert clip.frame_numbers() == [9, 10, 11, 100]
    assert clip.describe()["match"] == "MatchA_2021" and clip.describe()["idx"] == "7"
    assert frame_number("00012.jpg") == 12 and frame_number("a.jpg") is None


def test_unreadable_frame_names_file_and_frame(tmp_path: Path) -> None:
    folder = write_tree(tmp_path, "m", "1", [0, 1, 2])
    (folder / "00001.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match=r"00001.jpg: frame 1: cannot decode image"):
        list(FrameTreeClip(folder).iter_frames())


def test_discover_mixed_inputs(tmp_path: Path) -> None:
    tree = tmp_path / "frames"
    write_tree(tree, "m1", "1", [0, 1])
    write_tree(tree, "m1", "2", [0, 1])
    write_tree(tree, "m2", "1", [5, 6])
    vids = tmp_path / "videos"
    vids.mkdir()
    write_video(vids / "clipB.mp4", n=3)
    write_video(vids / "clipA.avi", n=3)
    (vids / "notes.txt").write_text("x")
    clips = discover_clips([tree, vids])
    assert [c.clip_id for c in clips] == ["m1__1", "m1__2", "m2__1", "clipA", "clipB"]
    # a match folder or a single clip folder gives the same ids
    assert [c.clip_id for c in discover_clips([tree / "m1"])] == ["m1__1", "m1__2"]
    assert [c.clip_id for c in discover_clips([tree / "m2" / "1"])] == ["m2__1"]
    assert [c.kind for c in discover_clips([vids / "clipB.mp4"])] == ["video"]


def test_discover_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        discover_clips([tmp_path / "nope"])
    txt = tmp_path / "a.txt"
    txt.write_text("x")
    with pytest.raises(InputError, match="a.txt: not a video file"):
        discover_clips([txt])
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InputError, match="holds no videos"):
        discover_clips([tmp_path / "emptydir"])
    v = tmp_path / "x.mp4"
    write_video(v, n=2)
    with pytest.raises(InputError, match="clip id 'x' also used"):
        discover_clips([v, v])
