"""``fdpose annotate open`` starts the labelling window (under Xvfb), with a screenshot in the test output.

Needs Debian's xvfb, xdotool and x11-apps (xwd) and the xcb libraries Qt loads (.ci/run installs them);
skips without them. This caught opencv-python's bundled Qt plugins shadowing PyQt5's (no window).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

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


def test_annotate_open_shows_the_labelme_window(tmp_path: Path) -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian xvfb, xdotool, x11-apps)")
    frames = tmp_path / "frames"
    for i in range(2):
        write_image(frames / f"{i:05d}.jpg", seed=i)
    folder = tmp_path / "labels"
    fdpose = [sys.executable, "-m", "fdpose"]
    subprocess.run([*fdpose, "annotate", "init", str(folder), "--frames-from", str(frames)], check=True,
                   capture_output=True)
    display = f":{90 + os.getpid() % 100}"
    env = {**os.environ, "DISPLAY": display}
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    app = None
    try:
        time.sleep(1.5)
        app = subprocess.Popen([*fdpose, "annotate", "open", str(folder)], env=env, stdout=subprocess.DEVNULL,
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
        xvfb.terminate()
        xvfb.wait(10)
