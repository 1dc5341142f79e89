"""One mp4 per clip, written with PyAV (MPEG-4 Part 2, the codec of OpenCV's 'mp4v') to a
temporary name and renamed on close.

PyAV rather than cv2.VideoWriter: OpenCV's writer drops the last column of odd-width frames
(455 -> 454), PyAV keeps the exact 455 x 256 geometry, so pixel coordinates of the ground
truth hold for the decoded video too. Output is byte-identical for identical frames.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from fdpose.errors import DependencyError
from fdpose.synth.config import VIDEO_FPS


class ClipVideoWriter:
    """Append BGR frames (H, W, 3) uint8; :meth:`close` publishes the file atomically."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float = VIDEO_FPS) -> None:
        try:
            import av
        except ImportError as exc:  # pragma: no cover - av is a declared dependency
            raise DependencyError(f"PyAV is needed to write videos ({exc})", path) from None
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial.mp4")
        self._av = av
        self._container: Any = av.open(str(self.tmp), "w", format="mp4")
        self._stream = self._container.add_stream("mpeg4", rate=int(round(fps)))
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.bit_rate = 2_000_000
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        vf = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        for packet in self._stream.encode(vf):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush, close and rename into place."""
        if self._closed:
            return
        self._closed = True
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Close and delete the partial file (on errors)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.close()
        finally:
            self.tmp.unlink(missing_ok=True)
