"""Clip sources: video files decoded streaming, and FineDiving frame trees.

A *clip* is one dive. Three kinds of input are understood by :func:`discover_clips`:

- a video file (:data:`fdpose.video.VIDEO_SUFFIXES`): one clip, ``clip_id`` = file stem;
- a directory of videos: one clip per video directly inside it, ``clip_id`` = file stem;
- a FineDiving frame tree ``{root}/{match}/{idx}/*.jpg``: each ``{match}/{idx}`` folder is
  one clip with ``clip_id = "{match}__{idx}"``. The root, a ``{match}`` folder or a single
  ``{match}/{idx}`` folder may be given; the id is always ``{parent name}__{folder name}``
  of the folder holding the images.

Every source yields frames one at a time (:meth:`ClipSource.iter_frames`), so a long video is
never held in memory. Images are ``(H, W, 3) uint8`` BGR (OpenCV order). Decoding itself is
:mod:`fdpose.video`'s (the one reader every stage uses).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Optional, Sequence

import numpy as np

from fdpose.errors import ConfigError, InputError
from fdpose.sampling import CLIP_ID_SEP
from fdpose.video import (DECODERS, IMAGE_SUFFIXES, VIDEO_SUFFIXES, ClipInfo, frame_number, frame_numbers, image_size, is_image,
                          iter_video, list_images, natural_key, probe_video, read_image, resolve_decoder)

log = logging.getLogger(__name__)


__all__ = ["CLIP_ID_SEP", "DECODERS", "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "ClipInfo", "ClipSource", "Frame",
           "FrameTreeClip", "VideoClip", "discover_clips", "frame_number"]


class Frame(NamedTuple):
    """One decoded frame: 0-based position in the clip, source file name (frame trees) and image."""

    frame_index: int
    file_name: Optional[str]
    image: np.ndarray  # (H, W, 3) uint8 BGR


class ClipSource(ABC):
    """One clip. Subclasses decode frames lazily; nothing is read at construction."""

    kind: str = ""

    def __init__(self, clip_id: str, path: Path) -> None:
        self.clip_id = clip_id
        self.path = Path(path)

    @abstractmethod
    def probe(self) -> ClipInfo:
        """Frame count, fps and size (raises :class:`InputError` for an unreadable or empty clip)."""

    @abstractmethod
    def iter_frames(self) -> Iterator[Frame]:
        """Yield every frame in order, one at a time."""

    def frame_numbers(self) -> Optional[list[int]]:
        """Integer frame numbers from file names (frame trees with numeric names), else None."""
        return None

    def describe(self) -> dict[str, Any]:
        """The ``source`` object of the per-clip JSON."""
        return {"kind": self.kind, "path": str(self.path)}

    def iter_batches(self, batch_size: int) -> Iterator[list[Frame]]:
        """Frames grouped in lists of at most ``batch_size`` (for batched detectors / pose models)."""
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        batch: list[Frame] = []
        for frame in self.iter_frames():
            batch.append(frame)
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.clip_id!r}, {str(self.path)!r})"


class FrameTreeClip(ClipSource):
    """A ``{match}/{idx}`` folder of images, sorted numerically by file name."""

    kind = "frame_tree"

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        super().__init__(f"{folder.parent.name}{CLIP_ID_SEP}{folder.name}", folder)
        self.match = folder.parent.name
        self.idx = folder.name

    def files(self) -> list[Path]:
        return list_images(self.path)

    def frame_numbers(self) -> Optional[list[int]]:
        return frame_numbers(self.files())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "match": self.match, "idx": self.idx}

    def probe(self) -> ClipInfo:
        files = self.files()
        if not files:
            raise InputError(f"frame folder holds no images ({'/'.join(IMAGE_SUFFIXES)})", self.path)
        width, height = image_size(files[0], "frame 0")
        return ClipInfo(frame_count=len(files), fps=None, width=width, height=height)

    def iter_frames(self) -> Iterator[Frame]:
        files = self.files()
        if not files:
            raise InputError(f"frame folder holds no images ({'/'.join(IMAGE_SUFFIXES)})", self.path)
        size: Optional[tuple[int, ...]] = None
        for i, f in enumerate(files):
            image = read_image(f, f"frame {i}")
            if size is None:
                size = image.shape
            elif image.shape != size:
                raise InputError(f"image size {image.shape[1]}x{image.shape[0]} differs from the clip's "
                                 f"first frame {size[1]}x{size[0]}", f, f"frame {i}")
            yield Frame(i, f.name, image)


class VideoClip(ClipSource):
    """A video file decoded frame by frame with PyAV (preferred) or OpenCV."""

    kind = "video"

    def __init__(self, path: Path, decoder: str = "auto") -> None:
        super().__init__(Path(path).stem, Path(path))
        if decoder not in DECODERS:
            raise ConfigError(f"unknown decoder {decoder!r}; choose one of {', '.join(DECODERS)}")
        self.decoder = decoder

    def _backend(self) -> str:
        return resolve_decoder(self.decoder)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "decoder": self._backend()}

    def probe(self) -> ClipInfo:
        return probe_video(self.path, self.decoder)

    def iter_frames(self) -> Iterator[Frame]:
        for i, image in enumerate(iter_video(self.path, self.decoder)):
            yield Frame(i, None, image)


def _image_dirs(root: Path, max_depth: int = 2) -> list[Path]:
    """Folders at depth 0..max_depth below ``root`` that directly hold images."""
    found: list[Path] = []
    level = [root]
    for _ in range(max_depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                entries = sorted(d.iterdir(), key=lambda p: natural_key(p.name))
            except OSError as exc:
                raise InputError(f"cannot list folder ({exc.strerror or exc})", d) from None
            if any(is_image(e) for e in entries):
                found.append(d)
            nxt.extend(e for e in entries if e.is_dir() and not e.name.startswith("."))
        level = nxt
    return found


def discover_clips(inputs: Sequence[str | Path], decoder: str = "auto") -> list[ClipSource]:
    """Expand command-line inputs into clip sources (see the module docstring for the layouts).

    Raises :class:`InputError` for a path that does not exist, a file that is not a video, a
    folder holding no clip, or two clips with the same ``clip_id`` (their outputs would collide).
    """
    clips: list[ClipSource] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_file():
            if p.suffix.lower() not in VIDEO_SUFFIXES:
                raise InputError(f"not a video file (expected one of {' '.join(VIDEO_SUFFIXES)})", p)
            clips.append(VideoClip(p, decoder))
        elif p.is_dir():
            videos = sorted((f for f in p.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES
                             and not f.name.startswith(".")), key=lambda f: natural_key(f.name))
            found: list[ClipSource] = [VideoClip(v, decoder) for v in videos]
            found.extend(FrameTreeClip(d) for d in _image_dirs(p))
            if not found:
                raise InputError("folder holds no videos and no {match}/{idx}/*.jpg frame folders", p)
            clips.extend(found)
        else:
            raise InputError("no such file or directory", p)
    seen: dict[str, ClipSource] = {}
    for clip in clips:
        if clip.clip_id in seen:
            raise InputError(f"clip id {clip.clip_id!r} also used by {seen[clip.clip_id].path}", clip.path)
        seen[clip.clip_id] = clip
    log.debug("discovered %d clips", len(clips))
    return clips
