"""Where the model files that install.sh places live, and how a missing one is reported.

install.sh fetches the pinned npm packages once, checks every extracted file by sha256 and
puts them in ``{sys.prefix}/share/fdpose/models`` (``$FDPOSE_MODEL_DIR`` overrides it, e.g. for a
shared read-only model folder). Nothing here downloads: a missing file is an error that says
``make install`` provides it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

from fdpose.errors import DependencyError

#: Environment variable that points at another model folder.
MODEL_DIR_ENV = "FDPOSE_MODEL_DIR"

#: SSD-MobileNetV2 trained on Open Images V4 (24 classes), from npm @mediapipe/objectron 0.4.1675468480.
SSD_OIDV4 = "ssd_mobilenetv2_oidv4.tflite"
#: Its label map (one class name per line, line 0 is the background ``???``).
SSD_OIDV4_LABELS = "ssd_mobilenetv2_oidv4_labels.txt"
#: BlazePose heavy landmark model, from npm @mediapipe/pose 0.5.1675469404.
POSE_LANDMARK_HEAVY = "pose_landmark_heavy.tflite"


def model_dir() -> Path:
    """The folder holding the model files: ``$FDPOSE_MODEL_DIR`` or ``{sys.prefix}/share/fdpose/models``."""
    env = os.environ.get(MODEL_DIR_ENV)
    return Path(env) if env else Path(sys.prefix) / "share" / "fdpose" / "models"


def model_file(name: str) -> Path:
    """Path of model file ``name``; :class:`DependencyError` (one line, names the file) when absent."""
    path = model_dir() / name
    if not path.is_file():
        raise DependencyError(f"model file {name} not found (make install fetches it; or set {MODEL_DIR_ENV})",
                              path)
    return path


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime) so run summaries do not re-hash per clip."""
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)
