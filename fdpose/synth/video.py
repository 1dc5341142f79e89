"""One mp4 per clip: :class:`fdpose.video.VideoWriter` with the synthetic world's fixed settings.

MPEG-4 Part 2 (the codec of OpenCV's 'mp4v') at 2 Mbit/s whatever the size, so worlds written
before the writer was shared stay byte-identical; the exact 455 x 256 geometry is kept, so pixel
coordinates of the ground truth hold for the decoded video too.
"""

from __future__ import annotations

from pathlib import Path

from fdpose.synth.config import VIDEO_FPS
from fdpose.video import VideoWriter

#: The synthetic videos' bit rate (fixed: part of the world's byte-identical output).
BIT_RATE = 2_000_000


class ClipVideoWriter(VideoWriter):
    """Append BGR frames (H, W, 3) uint8; :meth:`close` publishes the file atomically."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float = VIDEO_FPS) -> None:
        super().__init__(path, size[0], size[1], fps=fps, codec="mpeg4", bit_rate=BIT_RATE)
