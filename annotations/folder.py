"""Prepare a LabelMe annotation folder and build the ``labelme`` command that labels it.

Layout written by :func:`init_folder`::

    DIR/labels.txt          diver + the 16 MPII joint names (labelme --labels)
    DIR/label_flags.yaml    offers the "occluded" check box on joint points (labelme --label-flags)
    DIR/README.md           the labelling protocol in short
    DIR/<sequence>/*.jpg    frames of one dive/video (optional extraction); labelme saves
                            one JSON next to each image

Frames keep their source frame number in the name (``00012.jpg`` is frame 12 of the video,
or the source file name when copied from a frame folder), so labels map back to the video.

labelme 6.3.1 command-line facts this relies on (``labelme/__main__.py``): ``--labels`` takes
a file with one label per line; ``--label-flags`` takes a YAML/JSON file mapping a label
regex (``re.match``) to flag names shown as check boxes for matching shapes; ``--flags`` is
for *image-level* flags, not per-shape ones; ``--validate-label exact`` refuses labels not in
the list; ``--no-sort-labels`` keeps the list in MPII order. Auto-save is on and image data
is not embedded by default (``--autosave``/``--nodata`` are deprecated and only warn).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from fdpose.errors import DependencyError, InputError
from fdpose.io import atomic_write_bytes, atomic_write_text
from fdpose.skeleton import BOX_LABEL, JOINT_NAMES, NUM_JOINTS

from fdpose.video import VIDEO_SUFFIXES, iter_video, list_images

from fdpose.annotations.protocol import OCCLUDED_FLAG, labels_file_text

log = logging.getLogger(__name__)

LABELS_FILE = "labels.txt"
LABEL_FLAGS_FILE = "label_flags.yaml"
README_FILE = "README.md"

#: JPEG quality of frames extracted from a video (labelme shows them as is; 95 keeps joints crisp).
JPEG_QUALITY = 95


def label_flags_text() -> str:
    """YAML for ``--label-flags``: the occluded check box on the 16 joints, none on the box."""
    pattern = "^(" + "|".join(re.escape(n) for n in JOINT_NAMES) + ")$"
    return f"# labelme --label-flags: label regex -> check boxes shown for those shapes\n'{pattern}': [{OCCLUDED_FLAG}]\n"


def readme_text() -> str:
    """The labelling protocol, short enough to be read before every session."""
    joints = ", ".join(JOINT_NAMES)
    return f"""# Diver pose labels (FineDiving-Pose protocol, MPII 16 joints)

Label every frame in this folder (and its sub-folders) in LabelMe, in raw resolution:

1. One rectangle labelled `{BOX_LABEL}`: the diver's whole body, tight but complete.
2. One point per joint, labelled with the joint name ({NUM_JOINTS} joints, MPII order):
   {joints}.
   Left/right are the DIVER's left and right, not the image's.
3. A joint that is hidden (behind the body, in splash) but whose position you can infer:
   place the point where it must be and tick the `{OCCLUDED_FLAG}` check box.
4. A joint that is out of the picture or cannot be placed at all: leave it out (no point).
5. Never label spectators, judges or other athletes.

labelme saves one JSON file next to each image (auto-save is on). Check your work with
`fdpose annotate validate <this folder>` (errors must be fixed; warnings are hints, e.g.
left/right sides that look swapped compared with neighbouring frames) and see progress with
`fdpose annotate stats <this folder>`. Start labelme with `fdpose annotate open <this folder>`.
"""


@dataclass
class InitResult:
    """What :func:`init_folder` wrote. ``frames``: the extracted/copied frame files, in order."""

    folder: Path
    labels_file: Path
    label_flags_file: Path
    readme: Path
    frames: list[Path] = field(default_factory=list)
    sequence_dir: Optional[Path] = None


def default_sequence_name(source: Path) -> str:
    """Sub-folder name for frames of ``source``: the video stem or the folder name.

    A purely numeric folder name (FineDiving's ``{match}/{idx}``) is prefixed with its parent,
    so ``.../01/7`` becomes ``01_7`` and two dives never collide.
    """
    src = source.resolve()
    name = src.stem if src.is_file() else src.name
    if name.isdigit() and src.parent.name:
        name = f"{src.parent.name}_{name}"
    return name


def copy_frames(src: Path, dst: Path, every: int = 1, progress: Optional[Callable[[Iterable], Iterable]] = None) -> list[Path]:
    """Copy every ``every``-th image of folder ``src`` (natural order, starting with the first) into ``dst``.

    Files are copied byte for byte under their own names (atomic writes).
    """
    images = list_images(src)
    if not images:
        raise InputError("no images in folder", src)
    chosen = images[::every]
    out: list[Path] = []
    for img in progress(chosen) if progress else chosen:
        target = dst / img.name
        try:
            atomic_write_bytes(target, img.read_bytes())
        except OSError as exc:
            raise InputError(f"cannot copy frame ({exc.strerror or exc})", img) from None
        out.append(target)
    return out


def extract_video_frames(video: Path, dst: Path, every: int = 1, progress: Optional[Callable[[Iterable], Iterable]] = None) -> list[Path]:
    """Stream ``video`` and write every ``every``-th frame (0, N, 2N, ...) as ``dst/{index:05d}.jpg``.

    Frames are decoded one at a time (:func:`fdpose.video.iter_video`), so a long video never
    sits in memory.
    """
    import cv2

    stream = enumerate(iter_video(video))
    out: list[Path] = []
    for i, frame in progress(stream) if progress else stream:
        if i % every:
            continue
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise InputError(f"cannot encode frame {i} as JPEG", video)
        out.append(atomic_write_bytes(dst / f"{i:05d}.jpg", buf.tobytes()))
    if not out:
        raise InputError("no frames could be read from the video", video)
    return out


def write_protocol_files(folder: Path) -> tuple[Path, Path, Path]:
    """(Re)write labels.txt, label_flags.yaml and README.md in ``folder`` (idempotent)."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = atomic_write_text(folder / LABELS_FILE, labels_file_text())
    flags = atomic_write_text(folder / LABEL_FLAGS_FILE, label_flags_text())
    readme = atomic_write_text(folder / README_FILE, readme_text())
    return labels, flags, readme


def init_folder(
    folder: str | os.PathLike[str],
    frames_from: Optional[str | os.PathLike[str]] = None,
    every: int = 1,
    name: Optional[str] = None,
    progress: Optional[Callable[[Iterable], Iterable]] = None,
) -> InitResult:
    """Prepare ``folder`` for labelling; optionally fill ``folder/<name>/`` with frames.

    frames_from: a video file (streamed) or a folder of images (copied). Every ``every``-th
    frame is kept. ``name`` defaults to :func:`default_sequence_name`. Refuses to write into
    a sequence folder that already holds images (labels may exist for them).
    """
    if every < 1:
        raise InputError(f"--every must be at least 1, got {every}")
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise InputError("exists and is not a folder", root)
    src = Path(frames_from) if frames_from is not None else None
    seq_dir: Optional[Path] = None
    if src is not None:
        if not src.exists():
            raise InputError("no such video or frame folder", src)
        if src.is_file() and src.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"not a video (known suffixes: {' '.join(VIDEO_SUFFIXES)}) nor a folder of images", src)
        seq_name = name or default_sequence_name(src)
        if not seq_name or seq_name in (".", "..") or "/" in seq_name or "\\" in seq_name:
            raise InputError(f"invalid sequence folder name {seq_name!r}")
        seq_dir = root / seq_name
        if seq_dir.is_dir() and list_images(seq_dir):
            raise InputError("already holds frames; remove it or choose another --name", seq_dir)
        if src.is_dir() and seq_dir.resolve() == src.resolve():
            raise InputError("source and destination frame folders are the same", src)
    labels, flags, readme = write_protocol_files(root)
    result = InitResult(root, labels, flags, readme, sequence_dir=seq_dir)
    if src is not None and seq_dir is not None:
        if src.is_dir():
            result.frames = copy_frames(src, seq_dir, every, progress)
        else:
            result.frames = extract_video_frames(src, seq_dir, every, progress)
        log.debug("wrote %d frames to %s", len(result.frames), seq_dir)
    return result


# --------------------------------------------------------------------------- labelme


def find_labelme() -> Optional[list[str]]:
    """argv prefix that starts labelme from this environment, or None when it is not installed.

    Prefers the ``labelme`` script next to the running interpreter (the project's venv), then
    ``python -m labelme`` when the package is importable, then ``labelme`` on PATH.
    """
    script = Path(sys.executable).parent / ("labelme.exe" if os.name == "nt" else "labelme")
    if script.is_file():
        return [str(script)]
    if importlib.util.find_spec("labelme") is not None:
        return [sys.executable, "-m", "labelme"]
    on_path = shutil.which("labelme")
    return [on_path] if on_path else None


def labelme_command(folder: str | os.PathLike[str], labelme: Optional[list[str]] = None, keep_prev: bool = False) -> list[str]:
    """The argv that opens ``folder`` in labelme with this project's labels and the occluded flag.

    labelme: argv prefix (default :func:`find_labelme`, or plain ``labelme`` when not found).
    keep_prev: pre-fill an unlabelled frame with the previous frame's shapes (fast for video).
    """
    root = Path(folder)
    prefix = labelme if labelme is not None else (find_labelme() or ["labelme"])
    cmd = [
        *prefix,
        str(root),
        "--labels", str(root / LABELS_FILE),
        "--label-flags", str(root / LABEL_FLAGS_FILE),
        "--validate-label", "exact",
        "--no-sort-labels",
    ]
    if keep_prev:
        cmd.append("--keep-prev")
    return cmd


def format_command(cmd: list[str]) -> str:
    """Shell-quoted command line, ready to paste."""
    return shlex.join(cmd)


def has_display(environ: Optional[dict[str, str]] = None) -> bool:
    """Whether a GUI can open: always on Windows/macOS, on Linux only with X11 or Wayland."""
    env = os.environ if environ is None else environ
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def check_folder_ready(folder: Path) -> None:
    """Raise :class:`InputError` unless ``folder`` was prepared by :func:`init_folder`."""
    if not folder.is_dir():
        raise InputError("no such folder (run `fdpose annotate init` first)", folder)
    missing = [f for f in (LABELS_FILE, LABEL_FLAGS_FILE) if not (folder / f).is_file()]
    if missing:
        raise InputError(f"{', '.join(missing)} missing: run `fdpose annotate init {folder}` first", folder)


def check_can_open(folder: Path, keep_prev: bool = False, environ: Optional[dict[str, str]] = None) -> list[str]:
    """The labelme argv for ``folder`` after checking the folder, labelme and the display.

    Raises :class:`InputError` for a folder not prepared by ``init`` and
    :class:`DependencyError` when labelme is missing or no display is available.
    """
    check_folder_ready(folder)
    prefix = find_labelme()
    if prefix is None:
        raise DependencyError("labelme is not installed in this environment (pip install 'labelme>=6.3')")
    if not has_display(environ):
        raise DependencyError(
            "no display: DISPLAY/WAYLAND_DISPLAY is not set, labelme needs a screen "
            "(run on a desktop, or over `ssh -X`); the command is: " + format_command(labelme_command(folder, prefix, keep_prev))
        )
    return labelme_command(folder, prefix, keep_prev)
