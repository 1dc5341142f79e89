"""fdpose/video.py: the one video / frame-folder reader, the atomic PyAV writer, the natural sort."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from fdpose.errors import ConfigError, InputError, ValidationError
from fdpose.video import (
    VideoWriter, check_image, fps_fraction, frame_number, image_size, iter_video, list_images, natural_key,
    probe_video, resolve_decoder,
)


def grey_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    """Frame i uniformly grey at level 20 * i (identifiable after lossy coding)."""
    return [np.full((height, width, 3), 20 * i, np.uint8) for i in range(n)]


def write(path: Path, frames: list[np.ndarray], **kwargs: object) -> VideoWriter:
    h, w = frames[0].shape[:2]
    with VideoWriter(path, w, h, **kwargs) as writer:  # type: ignore[arg-type]
        for f in frames:
            writer.write(f)
    return writer


def test_natural_key_orders_numbers_numerically_and_letters_case_blind() -> None:
    names = ["f10.png", "F2.png", "f1.png", "g0.png", "f100.png"]
    assert sorted(names, key=natural_key) == ["f1.png", "F2.png", "f10.png", "f100.png", "g0.png"]
    assert frame_number("00012.jpg") == 12 and frame_number("a12.jpg") is None


def test_list_images_skips_hidden_and_non_images(tmp_path: Path) -> None:
    for name in ("10.jpg", "9.PNG", ".hidden.jpg", "notes.txt", "2.webp"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.jpg").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["2.webp", "9.PNG", "10.jpg"]
    with pytest.raises(InputError, match="missing: cannot list folder"):
        list_images(tmp_path / "missing")


def test_check_image_promotes_grey_and_names_the_frame(tmp_path: Path) -> None:
    assert check_image(np.zeros((4, 5), np.uint8), tmp_path / "a.jpg").shape == (4, 5, 3)
    with pytest.raises(InputError, match=r"a.jpg: frame 3: cannot decode image"):
        check_image(None, tmp_path / "a.jpg", "frame 3")
    with pytest.raises(InputError, match="8-bit colour"):
        check_image(np.zeros((4, 5, 3), np.float32), tmp_path / "a.jpg")
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((7, 9, 3), np.uint8))
    assert image_size(tmp_path / "b.png") == (9, 7)


@pytest.mark.parametrize("decoder", ["pyav", "opencv"])
@pytest.mark.parametrize("size", [(455, 256), (64, 48)])
def test_written_video_reads_back_exactly_sized_in_order(tmp_path: Path, decoder: str, size: tuple[int, int]) -> None:
    path = tmp_path / "v.mp4"
    writer = write(path, grey_frames(9, *size), fps=25.0)
    assert writer.codec == ("mpeg4" if size[0] % 2 else "libx264") and writer.frames == 9
    info = probe_video(path, decoder)
    assert (info.frame_count, info.width, info.height) == (9, *size)
    assert info.fps == pytest.approx(25.0)
    images = list(iter_video(path, decoder))
    assert len(images) == 9 and images[0].shape == (size[1], size[0], 3)
    np.testing.assert_allclose([im.mean() for im in images], [20 * i for i in range(9)], atol=4)
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]  # no temporary file left


def test_writer_is_deterministic_and_respects_the_umask(tmp_path: Path) -> None:
    frames = [np.random.default_rng(k).integers(0, 255, (48, 63, 3), dtype=np.uint8) for k in range(5)]
    write(tmp_path / "a.mp4", frames, codec="mpeg4", bit_rate=2_000_000)
    write(tmp_path / "b.mp4", frames, codec="mpeg4", bit_rate=2_000_000)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    old = os.umask(0o022)
    try:
        write(tmp_path / "c.mp4", frames)
    finally:
        os.umask(old)
    assert (tmp_path / "c.mp4").stat().st_mode & 0o777 == 0o644


def test_writer_error_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out" / "v.mp4"
    with pytest.raises(ValidationError, match=r"frame 1: expected \(48, 64, 3\) uint8"):
        with VideoWriter(path, 64, 48) as writer:
            writer.write(grey_frames(1, 64, 48)[0])
            writer.write(np.zeros((48, 65, 3), np.uint8))
    assert list(path.parent.iterdir()) == []
    with pytest.raises(ValidationError, match="fps must be a positive number"):
        VideoWriter(path, 64, 48, fps=float("nan"))
    with pytest.raises(ConfigError, match="unknown video codec"):
        VideoWriter(path, 64, 48, codec="vp9")
    assert list(path.parent.iterdir()) == []


def test_bad_videos_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown decoder"):
        resolve_decoder("ffmpeg")
    assert resolve_decoder("auto") == "pyav"
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty.mp4: empty video file \(0 bytes\)"):
        probe_video(empty)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00garbage" * 200)
    for decoder in ("pyav", "opencv"):
        with pytest.raises(InputError, match="bad.mp4: cannot"):
            list(iter_video(bad, decoder))
    with pytest.raises(InputError, match="missing.mp4: cannot read video"):
        list(iter_video(tmp_path / "missing.mp4"))


def test_writer_output_errors_are_one_line_and_leave_nothing(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="afile: cannot create the folder"):
        VideoWriter(tmp_path / "afile" / "v.mp4", 64, 48)
    # a full disk, as a file-size limit in a child process (python ignores SIGXFSZ: writes fail with EFBIG)
    script = (
        "import resource, sys\n"
        "import numpy as np\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))\n"
        "from fdpose.errors import FdposeError\n"
        "from fdpose.video import VideoWriter\n"
        "try:\n"
        "    with VideoWriter(sys.argv[1], 160, 120, codec='mpeg4', bit_rate=5_000_000) as w:\n"
        "        rng = np.random.default_rng(0)\n"
        "        for _ in range(60):\n"
        "            w.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))\n"
        "except FdposeError as err:\n"
        "    print(err)\n"
    )
    out = tmp_path / "full" / "v.mp4"
    res = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith(f"{out}: frame ") and res.stdout.strip().endswith("cannot write video (File too large)")
    assert list(out.parent.iterdir()) == []


def test_fps_fraction() -> None:
    assert fps_fraction(30000 / 1001) == Fraction(30000, 1001) and fps_fraction(29.97) == Fraction(2997, 100)
    assert fps_fraction(np.float32(25.0)) == 25
    for bad in (0, -1.0, float("inf"), "abc", None):
        with pytest.raises(ValidationError, match="fps must be a positive number"):
            fps_fraction(bad)  # type: ignore[arg-type]
