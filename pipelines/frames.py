"""Clip sources: video files decoded streaming, and FineDiving frame trees.

A *clip* is one dive. Three kinds of input are understood by :func:`discover_clips`:

- a video file (``.mp4 .avi .mov .mkv``): one clip, ``clip_id`` = file stem;
- a directory of videos: one clip per video directly inside it, ``clip_id`` = file stem;
- a FineDiving frame tree ``{root}/{match}/{idx}/*.jpg``: each ``{match}/{idx}`` folder is
  one clip with ``clip_id = "{match}__{idx}"``. The root, a ``{match}`` folder or a single
  ``{match}/{idx}`` folder may be given; the id is always ``{parent name}__{folder name}``
  of the folder holding the images.

Every source yields frames one at a time (:meth:`ClipSource.iter_frames`), so a long video is
never held in memory. Images are ``(H, W, 3) uint8`` BGR (OpenCV order).
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Optional, Sequence

import numpy as np

from fdpose.errors import ConfigError, InputError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv")
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
#: Separator between match and index in a frame-tree clip id (match names contain "_").
CLIP_ID_SEP = "__"
DECODERS: tuple[str, ...] = ("auto", "pyav", "opencv")


class Frame(NamedTuple):
    """One decoded frame: 0-based position in the clip, source file name (frame trees) and image."""

    frame_index: int
    file_name: Optional[str]
    image: np.ndarray  # (H, W, 3) uint8 BGR


@dataclass(frozen=True)
class ClipInfo:
    """Cheap facts about a clip, read without decoding every frame where the format allows.

    ``frame_count_exact`` is False when the count comes from container metadata or packet
    counting (a damaged video can decode fewer frames); the decoded count is authoritative.
    """

    frame_count: int
    fps: Optional[float]
    width: int
    height: int
    frame_count_exact: bool = True


def _natural_key(name: str) -> tuple[Any, ...]:
    """Sort key: numbers inside names compare numerically (``2.jpg`` < ``10.jpg``)."""
    return tuple(int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name))


def frame_number(file_name: str) -> Optional[int]:
    """The integer frame number of a file name such as ``00012.jpg`` (None if the stem is not a number)."""
    stem = Path(file_name).stem
    return int(stem) if stem.isdigit() else None


def _check_image(image: Optional[np.ndarray], path: Path, location: str) -> np.ndarray:
    if image is None or image.size == 0:
        raise InputError("cannot decode image", path, location)
    if image.ndim == 2:  # grayscale frames are promoted so every stage sees (H, W, 3)
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"expected an 8-bit colour image, got shape {image.shape} {image.dtype}", path, location)
    return image


def _av_reason(exc: Exception) -> str:
    """FFmpeg's reason without the file name PyAV appends (the error already names the file)."""
    return str(getattr(exc, "strerror", None) or exc)


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
        files = [p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                 and not p.name.startswith(".")]
        return sorted(files, key=lambda p: _natural_key(p.name))

    def frame_numbers(self) -> Optional[list[int]]:
        nums = [frame_number(p.name) for p in self.files()]
        return None if any(n is None for n in nums) else [int(n) for n in nums if n is not None]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "match": self.match, "idx": self.idx}

    def probe(self) -> ClipInfo:
        files = self.files()
        if not files:
            raise InputError("frame folder holds no images (.jpg/.jpeg/.png)", self.path)
        from PIL import Image, UnidentifiedImageError  # header only: no pixel decoding

        try:
            with Image.open(files[0]) as im:
                width, height = im.size
        except (OSError, UnidentifiedImageError) as exc:
            raise InputError(f"cannot read image header ({exc})", files[0], "frame 0") from None
        return ClipInfo(frame_count=len(files), fps=None, width=int(width), height=int(height))

    def iter_frames(self) -> Iterator[Frame]:
        import cv2

        files = self.files()
        if not files:
            raise InputError("frame folder holds no images (.jpg/.jpeg/.png)", self.path)
        size: Optional[tuple[int, ...]] = None
        for i, f in enumerate(files):
            image = _check_image(cv2.imread(str(f), cv2.IMREAD_COLOR), f, f"frame {i}")
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
        if self.decoder != "auto":
            return self.decoder
        try:
            import av  # noqa: F401
        except ImportError:
            return "opencv"
        return "pyav"

    def _check_file(self) -> None:
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read video ({exc.strerror or exc})", self.path) from None
        if size == 0:
            raise InputError("empty video file (0 bytes)", self.path)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "decoder": self._backend()}

    # ---- probe ---------------------------------------------------------------------------
    def probe(self) -> ClipInfo:
        self._check_file()
        info = self._probe_pyav() if self._backend() == "pyav" else self._probe_opencv()
        if info.frame_count <= 0:
            raise InputError("video has no frames", self.path)
        return info

    def _probe_pyav(self) -> ClipInfo:
        import av

        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise InputError("no video stream in file", self.path)
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                fps = float(rate) if rate else None
                width, height = stream.codec_context.width, stream.codec_context.height
                count, exact = int(stream.frames or 0), False
                if count <= 0:
                    # Some containers (mkv, avi without index) store no frame count: count the
                    # compressed packets instead, which reads the file but decodes nothing.
                    count = sum(1 for pkt in container.demux(stream) if pkt.size > 0)
        except av.FFmpegError as exc:
            raise InputError(f"cannot read video ({_av_reason(exc)})", self.path) from None
        return ClipInfo(count, fps, int(width), int(height), frame_count_exact=exact)

    def _probe_opencv(self) -> ClipInfo:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise InputError("cannot open video (OpenCV)", self.path)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            cap.release()
        return ClipInfo(count, fps, width, height, frame_count_exact=False)

    # ---- decode --------------------------------------------------------------------------
    def iter_frames(self) -> Iterator[Frame]:
        self._check_file()
        frames = self._iter_pyav() if self._backend() == "pyav" else self._iter_opencv()
        n = 0
        for frame in frames:
            n += 1
            yield frame
        if n == 0:
            raise InputError("video has no decodable frames", self.path)

    def _iter_pyav(self) -> Iterator[Frame]:
        import av

        i = 0
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise InputError(f"cannot open video ({_av_reason(exc)})", self.path) from None
        with container:
            if not container.streams.video:
                raise InputError("no video stream in file", self.path)
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame-threaded decoding; frames still arrive in order
            try:
                for vframe in container.decode(stream):
                    image = _check_image(vframe.to_ndarray(format="bgr24"), self.path, f"frame {i}")
                    yield Frame(i, None, image)
                    i += 1
            except av.FFmpegError as exc:
                raise InputError(f"cannot decode video ({_av_reason(exc)})", self.path, f"frame {i}") from None

    def _iter_opencv(self) -> Iterator[Frame]:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise InputError("cannot open video (OpenCV)", self.path)
            i = 0
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                yield Frame(i, None, _check_image(image, self.path, f"frame {i}"))
                i += 1
        finally:
            cap.release()


def _image_dirs(root: Path, max_depth: int = 2) -> list[Path]:
    """Folders at depth 0..max_depth below ``root`` that directly hold images."""
    found: list[Path] = []
    level = [root]
    for _ in range(max_depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                entries = sorted(d.iterdir(), key=lambda p: _natural_key(p.name))
            except OSError as exc:
                raise InputError(f"cannot list folder ({exc.strerror or exc})", d) from None
            if any(e.is_file() and e.suffix.lower() in IMAGE_SUFFIXES for e in entries):
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
                             and not f.name.startswith(".")), key=lambda f: _natural_key(f.name))
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
