"""Video and image-folder IO every stage shares: one reader, one atomic writer, one natural sort.

Reading: :func:`iter_video` decodes a video file one frame at a time (PyAV, or OpenCV when asked
or when PyAV is not importable) and :func:`probe_video` reads its frame count, fps and size
without decoding; :func:`list_images` lists a folder of frames in natural order and
:func:`read_image` decodes one of them. Images are ``(H, W, 3) uint8`` BGR (OpenCV order).
Every failure is an :class:`~fdpose.errors.InputError` naming the file (and the frame).

Writing: :class:`VideoWriter` encodes BGR frames into an mp4 with PyAV under a temporary name and
renames it into place on :meth:`~VideoWriter.close`, so a killed run never leaves half a video.
PyAV rather than ``cv2.VideoWriter``: OpenCV's writer drops the last column of odd-width frames
(455 -> 454); PyAV keeps the exact geometry, so pixel coordinates hold in the decoded video.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, cast

import numpy as np

from fdpose.errors import ConfigError, DependencyError, InputError, ValidationError

log = logging.getLogger(__name__)

#: Containers read as videos (FFmpeg decodes them all, through PyAV or OpenCV).
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                                   ".flv", ".ts")
#: Image files read as frames (what OpenCV decodes and labelme opens).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: ``decoder`` values of :func:`iter_video` / :func:`probe_video`.
DECODERS: tuple[str, ...] = ("auto", "pyav", "opencv")
#: Codecs of :class:`VideoWriter`; "auto" is H.264 for even sizes, MPEG-4 Part 2 otherwise.
CODECS: tuple[str, ...] = ("auto", "libx264", "mpeg4")


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


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key: numbers inside names compare numerically, letters case-blind (``2.jpg`` < ``10.jpg``)."""
    return tuple(int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name))


def frame_number(file_name: str) -> Optional[int]:
    """The integer frame number of a file name such as ``00012.jpg`` (None if the stem is not a number)."""
    stem = Path(file_name).stem
    return int(stem) if stem.isdigit() else None


def frame_numbers(names: Iterable[str | os.PathLike[str]]) -> Optional[list[int]]:
    """Every file's :func:`frame_number` in order, or None when any name is not a number (then
    positions, not numbers, place the frames)."""
    nums = [frame_number(Path(n).name) for n in names]
    return None if any(n is None for n in nums) else [int(n) for n in nums if n is not None]


def is_image(path: Path) -> bool:
    """A visible file with an image suffix (:data:`IMAGE_SUFFIXES`)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` (hidden files skipped), in natural order (2 < 10)."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError as exc:
        raise InputError(f"cannot list folder ({exc.strerror or exc})", folder) from None
    return sorted((p for p in entries if is_image(p)), key=lambda p: natural_key(p.name))


def check_image(image: Optional[np.ndarray], path: Path, location: Optional[str] = None) -> np.ndarray:
    """``image`` as ``(H, W, 3) uint8`` (grey promoted), or :class:`InputError` naming ``path`` / ``location``."""
    if image is None or image.size == 0:
        raise InputError("cannot decode image", path, location)
    if image.ndim == 2:  # grayscale frames are promoted so every stage sees (H, W, 3)
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"expected an 8-bit colour image, got shape {image.shape} {image.dtype}", path, location)
    return image


def jpeg_is_truncated(path: Path) -> bool:
    """True for a ``.jpg``/``.jpeg`` file that does not end with the JPEG end-of-image marker ``FF D9``.

    OpenCV decodes such a file without an error (the missing rows come out grey), so a frame cut short
    by a failed copy would silently feed the detector and the pose model a half image.
    """
    if path.suffix.lower() not in (".jpg", ".jpeg"):
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64))
            tail = fh.read()
    except OSError:
        return False
    # some encoders pad after the marker: look for it near the end, not only in the last two bytes
    return b"\xff\xd9" not in tail


#: Truncated JPEGs already warned about in this process (a training run reads a frame every epoch).
_WARNED_TRUNCATED: set[str] = set()


def imread(path: Path, flags: Optional[int] = None) -> Optional[np.ndarray]:
    """``cv2.imread`` (None when OpenCV cannot decode the file), the one image decode of every stage.

    A truncated JPEG is decoded as OpenCV does (the missing rows grey) with one warning per file and
    process; libjpeg's own "Premature end of JPEG file" line on descriptor 2 goes to the DEBUG log.
    """
    import cv2

    from fdpose.logs import native_stderr_to_debug

    mode = cv2.IMREAD_COLOR if flags is None else flags
    if not jpeg_is_truncated(path):
        return cv2.imread(str(path), mode)
    with native_stderr_to_debug(__name__):
        image = cv2.imread(str(path), mode)
    if image is not None and str(path) not in _WARNED_TRUNCATED:
        _WARNED_TRUNCATED.add(str(path))
        log.warning("%s: truncated JPEG (no end-of-image marker): only its first rows are real", path)
    return image


def read_image(path: Path, location: Optional[str] = None) -> np.ndarray:
    """Decode one image file into ``(H, W, 3) uint8`` BGR (a truncated JPEG is decoded with a warning)."""
    return check_image(imread(path), path, location)


def image_size(path: Path, location: Optional[str] = None) -> tuple[int, int]:
    """``(width, height)`` of an image from its header only (no pixel decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read image header ({exc})", path, location) from None
    return int(width), int(height)


# --------------------------------------------------------------------------- reading videos


def resolve_decoder(decoder: str = "auto") -> str:
    """``"pyav"`` or ``"opencv"``: "auto" is PyAV when importable (frame-exact, threaded), else OpenCV."""
    if decoder not in DECODERS:
        raise ConfigError(f"unknown decoder {decoder!r}; choose one of {', '.join(DECODERS)}")
    if decoder != "auto":
        return decoder
    try:
        import av  # noqa: F401
    except ImportError:
        return "opencv"
    return "pyav"


def _av_reason(exc: Exception) -> str:
    """FFmpeg's reason without the file name PyAV appends (the error already names the file)."""
    return str(getattr(exc, "strerror", None) or exc)


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read video ({exc.strerror or exc})", path) from None
    if size == 0:
        raise InputError("empty video file (0 bytes)", path)


def probe_video(path: Path, decoder: str = "auto") -> ClipInfo:
    """Frame count, fps and size of a video (raises :class:`InputError` for an unreadable or empty one)."""
    path = Path(path)
    backend = resolve_decoder(decoder)
    _check_file(path)
    info = _probe_pyav(path) if backend == "pyav" else _probe_opencv(path)
    if info.frame_count <= 0:
        raise InputError("video has no frames", path)
    return info


def _probe_pyav(path: Path) -> ClipInfo:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError("no video stream in file", path)
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else None
            width, height = stream.codec_context.width, stream.codec_context.height
            count = int(stream.frames or 0)
            if count <= 0:
                # Some containers (mkv, avi without index) store no frame count: count the
                # compressed packets instead, which reads the file but decodes nothing.
                count = sum(1 for pkt in container.demux(stream) if pkt.size > 0)
    except av.FFmpegError as exc:
        raise InputError(f"cannot read video ({_av_reason(exc)})", path) from None
    return ClipInfo(count, fps, int(width), int(height), frame_count_exact=False)


def _probe_opencv(path: Path) -> ClipInfo:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError("cannot open video (OpenCV)", path)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    return ClipInfo(count, fps, width, height, frame_count_exact=False)


def iter_video(path: Path, decoder: str = "auto") -> Iterator[np.ndarray]:
    """Yield every frame of a video in order, one at a time, as ``(H, W, 3) uint8`` BGR.

    A file that cannot be opened or decoded, or that decodes no frame, raises
    :class:`InputError` naming the file (and the frame where decoding failed).
    """
    path = Path(path)
    backend = resolve_decoder(decoder)
    _check_file(path)
    n = 0
    for image in _iter_pyav(path) if backend == "pyav" else _iter_opencv(path):
        n += 1
        yield image
    if n == 0:
        raise InputError("video has no decodable frames", path)


def _iter_pyav(path: Path) -> Iterator[np.ndarray]:
    import av

    i = 0
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise InputError(f"cannot open video ({_av_reason(exc)})", path) from None
    with container:
        if not container.streams.video:
            raise InputError("no video stream in file", path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-threaded decoding; frames still arrive in order
        try:
            for vframe in container.decode(stream):
                yield check_image(vframe.to_ndarray(format="bgr24"), path, f"frame {i}")
                i += 1
        except av.FFmpegError as exc:
            raise InputError(f"cannot decode video ({_av_reason(exc)})", path, f"frame {i}") from None


def _iter_opencv(path: Path) -> Iterator[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError("cannot open video (OpenCV)", path)
        i = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            yield check_image(image, path, f"frame {i}")
            i += 1
    finally:
        cap.release()


# --------------------------------------------------------------------------- writing videos


def fps_fraction(fps: float) -> Fraction:
    """``fps`` as a rational for PyAV, denominator at most 1001 (30000/1001 stays exact, 29.97 -> 2997/100)."""
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValidationError(f"video: fps must be a positive number, got {fps}")
    return Fraction(value).limit_denominator(1001)


class VideoWriter:
    """Append BGR frames ``(H, W, 3) uint8`` to an mp4; :meth:`close` publishes it atomically.

    codec: "libx264" (yuv420p, CRF 20: needs even sizes), "mpeg4" (MPEG-4 Part 2, the codec of
    OpenCV's 'mp4v': any size) or "auto" (H.264 when both sides are even, so FineDiving's 455x256
    keeps its exact size). bit_rate: for mpeg4 (rate-controlled by bit rate); default ~0.25 bit
    per pixel, at least 400 kbit/s, which keeps thin skeleton lines crisp. Encoding is
    deterministic: identical frames give a byte-identical file. Use as a context manager, or
    call :meth:`close` / :meth:`abort` (deletes the partial file) yourself. A file that cannot be
    written (read-only folder, disk full) is an :class:`InputError` naming it; no partial file stays.
    """

    def __init__(self, path: str | os.PathLike[str], width: int, height: int, fps: float = 25.0,
                 codec: str = "auto", bit_rate: Optional[int] = None) -> None:
        try:
            import av
        except ImportError as exc:  # pragma: no cover - av is a declared dependency
            raise DependencyError(f"PyAV is needed to write videos ({exc})", path) from None
        if codec not in CODECS:
            raise ConfigError(f"unknown video codec {codec!r}; choose one of {', '.join(CODECS)}")
        if codec == "auto":
            codec = "libx264" if width % 2 == 0 and height % 2 == 0 else "mpeg4"
        rate = fps_fraction(fps)
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the folder ({exc.strerror or exc})", self.path.parent) from None
        # A name of our own in the destination folder (same file system, so the rename is atomic);
        # FFmpeg creates it with the umask's mode, like any other output.
        self.tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.partial.mp4")
        self.codec = codec
        self.size = (int(width), int(height))
        self.frames = 0
        self._av = av
        self._closed = False
        try:
            self._container: Any = av.open(str(self.tmp), mode="w", format="mp4")
        except (OSError, av.FFmpegError) as exc:
            self.tmp.unlink(missing_ok=True)
            raise InputError(f"cannot write video ({_av_reason(exc)})", self.path) from None
        try:
            # PyAV types add_stream as video | audio | subtitle; a video codec name gives a video stream
            self._stream: Any = cast(Any, self._container.add_stream(codec, rate=rate))
            self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
            if codec == "libx264":
                self._stream.options = {"crf": "20", "preset": "veryfast"}
            else:
                self._stream.bit_rate = int(bit_rate or max(width * height * float(rate) * 0.25, 400_000))
        except BaseException:
            self.abort()
            raise

    def write(self, image_bgr: np.ndarray) -> None:
        """Encode one frame of the writer's size."""
        if image_bgr.shape != (self.size[1], self.size[0], 3) or image_bgr.dtype != np.uint8:
            raise ValidationError(f"video: frame {self.frames}: expected ({self.size[1]}, {self.size[0]}, 3) uint8, "
                                  f"got {image_bgr.shape} {image_bgr.dtype}")
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image_bgr), format="bgr24")
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (OSError, self._av.FFmpegError) as exc:
            self.abort()
            raise InputError(f"cannot write video ({_av_reason(exc)})", self.path, f"frame {self.frames}") from None
        self.frames += 1

    def close(self) -> Path:
        """Flush the encoder, close the file and rename it into place."""
        if not self._closed:
            try:
                for packet in self._stream.encode():
                    self._container.mux(packet)
                self._container.close()
                self._closed = True
                os.replace(self.tmp, self.path)
            except (OSError, self._av.FFmpegError) as exc:
                self.abort()
                raise InputError(f"cannot write video ({_av_reason(exc)})", self.path) from None
        return self.path

    def abort(self) -> None:
        """Close and delete the partial file (after an error)."""
        if not self._closed:
            self._closed = True
            try:
                self._container.close()
            except Exception:  # the container may already be broken; the temp file goes anyway
                pass
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
