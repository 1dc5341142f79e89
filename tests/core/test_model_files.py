"""The model-file lookup: environment override, one-line error for a missing file, cached sha256."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from fdpose.errors import DependencyError
from fdpose.io import cached_file_sha256
from fdpose.model_files import (EXPECTED_SHA256, MODEL_DIR_ENV, POSE_LANDMARK_HEAVY, SSD_OIDV4, SSD_OIDV4_LABELS,
                                model_dir, model_file)

REPO = Path(__file__).resolve().parents[2]


def test_default_folder_is_under_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    assert model_dir() == Path(sys.prefix) / "share" / "fdpose" / "models"


def test_env_override_and_sha(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    (tmp_path / SSD_OIDV4).write_bytes(b"TFL3 fake")
    path = model_file(SSD_OIDV4, verify=False)
    assert path == tmp_path / SSD_OIDV4
    assert cached_file_sha256(path) == hashlib.sha256(b"TFL3 fake").hexdigest()


def test_missing_file_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    with pytest.raises(DependencyError) as err:
        model_file(SSD_OIDV4)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / SSD_OIDV4) in msg and "make install" in msg


def test_a_file_with_the_wrong_sha256_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    (tmp_path / SSD_OIDV4_LABELS).write_text("???\nPerson\n")  # a label map, but not the pinned one
    with pytest.raises(DependencyError) as err:
        model_file(SSD_OIDV4_LABELS)
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / SSD_OIDV4_LABELS) in msg
    assert "sha256" in msg and EXPECTED_SHA256[SSD_OIDV4_LABELS][:16] in msg and "make install" in msg
    assert model_file(SSD_OIDV4_LABELS, verify=False) == tmp_path / SSD_OIDV4_LABELS


def test_pinned_sha256_equal_install_sh() -> None:
    text = (REPO / "install.sh").read_text()
    for var, name in (("SSD_SHA", SSD_OIDV4), ("LABELS_SHA", SSD_OIDV4_LABELS), ("HEAVY_SHA", POSE_LANDMARK_HEAVY)):
        assert f"{var}={EXPECTED_SHA256[name]}\n" in text, var


def test_installed_files_pass_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    for name in EXPECTED_SHA256:
        try:
            path = model_file(name)
        except DependencyError as err:
            if "not found" in str(err):
                pytest.skip(f"model files not installed: {err}")
            raise
        assert cached_file_sha256(path) == EXPECTED_SHA256[name]
