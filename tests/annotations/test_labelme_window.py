"""``fdpose annotate open`` starts the labelling window (under Xvfb), with a screenshot in the test output,
and the window it opens offers the protocol's labels (the diver box and the 16 MPII joints, in order)
with the occluded flag on the joints.

Needs Debian's xvfb, xdotool and x11-apps (xwd) and the xcb libraries Qt loads (.ci/run installs them);
skips without them. This caught opencv-python's bundled Qt plugins shadowing PyQt5's (no window).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

from label_factory import write_image  # type: ignore[import-not-found]

TOOLS = ("Xvfb", "xdotool", "xwd")


def _xwd_to_png(raw: bytes, out: Path) -> np.ndarray:
    """A 24/32-bit TrueColor LSB-first XWD dump (``xwd -root``) -> RGB array, saved as PNG."""
    head = np.frombuffer(raw[:100], dtype=">u4")
    header_size, width, height = int(head[0]), int(head[4]), int(head[5])
    bits_per_pixel, bytes_per_line, ncolors = int(head[11]), int(head[12]), int(head[19])
    step = bits_per_pixel // 8
    assert step in (3, 4) and int(head[7]) == 0, f"unexpected XWD layout: {bits_per_pixel} bpp, order {head[7]}"
    start = header_size + 12 * ncolors
    pixels = np.frombuffer(raw[start:start + bytes_per_line * height], dtype=np.uint8)
    # least significant byte first: blue, green, red (, pad)
    rgb = pixels.reshape(height, bytes_per_line)[:, :width * step].reshape(height, width, step)[..., 2::-1]
    Image.fromarray(np.ascontiguousarray(rgb)).save(out)
    return rgb


FDPOSE = [sys.executable, "-m", "fdpose"]


@pytest.fixture(scope="module")
def display() -> Iterator[dict[str, str]]:
    """An Xvfb screen for the module; yields the environment that points at it."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian xvfb, xdotool, x11-apps)")
    name = f":{90 + os.getpid() % 100}"
    xvfb = subprocess.Popen(["Xvfb", name, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        yield {**os.environ, "DISPLAY": name}
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def _label_folder(tmp_path: Path) -> Path:
    frames = tmp_path / "frames"
    for i in range(2):
        write_image(frames / f"{i:05d}.jpg", seed=i)
    folder = tmp_path / "labels"
    subprocess.run([*FDPOSE, "annotate", "init", str(folder), "--frames-from", str(frames)], check=True,
                   capture_output=True)
    return folder


def test_annotate_open_shows_the_labelme_window(tmp_path: Path, display: dict[str, str]) -> None:
    folder = _label_folder(tmp_path)
    env = display
    app = None
    try:
        app = subprocess.Popen([*FDPOSE, "annotate", "open", str(folder)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        title = ""
        for _ in range(120):  # up to 60 s: Qt and labelme start slowly on a busy machine
            found = subprocess.run(["xdotool", "search", "--name", "Labelme - ", "getwindowname"], env=env,
                                   capture_output=True, text=True)
            title = found.stdout.strip()
            if title or app.poll() is not None:
                break
            time.sleep(0.5)
        assert app.poll() is None, f"labelme exited: {app.stderr.read().decode()[-800:] if app.stderr else ''}"
        assert "00000.jpg" in title, f"no labelme window with the first frame (titles: {title!r})"
        time.sleep(1.0)
        shot = subprocess.run(["xwd", "-root", "-silent"], env=env, capture_output=True, check=True).stdout
        png = tmp_path / "labelme_window.png"
        rgb = _xwd_to_png(shot, png)
        print(f"labelme window screenshot: {png}")
        assert rgb.std() > 10  # drawn widgets and the frame, not a blank screen
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(10)
            except subprocess.TimeoutExpired:
                app.kill()


def test_the_window_offers_the_protocol_labels_and_the_occluded_flag(tmp_path: Path,
                                                                    display: dict[str, str]) -> None:
    from fdpose.annotations.folder import find_labelme
    from fdpose.annotations.protocol import JOINT_NAMES, LABELS, OCCLUDED_FLAG

    folder = _label_folder(tmp_path)
    printed = subprocess.run([*FDPOSE, "annotate", "open", str(folder), "--dry-run"], capture_output=True,
                             text=True, check=True).stdout
    argv = shlex.split(printed.strip())
    prefix = find_labelme()
    assert prefix is not None and argv[:len(prefix)] == prefix, printed
    report_file = tmp_path / "window.json"
    probe = Path(__file__).with_name("labelme_probe.py")
    run = subprocess.run([sys.executable, str(probe), str(report_file), *argv[len(prefix):]], env=display,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and report_file.is_file(), run.stderr[-800:]
    report = json.loads(report_file.read_text())
    assert "error" not in report, report.get("error")
    assert report["visible"] and "00000.jpg" in report["title"]
    assert report["labels"] == list(LABELS) and report["labels"][1:] == list(JOINT_NAMES)
    flags = report["label_flags"]
    assert len(flags) == 1 and list(flags.values()) == [[OCCLUDED_FLAG]]
    import re

    pattern = re.compile(next(iter(flags)))
    assert all(pattern.match(j) for j in JOINT_NAMES) and not pattern.match(LABELS[0])
