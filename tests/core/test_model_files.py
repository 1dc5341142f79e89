"""The model-file lookup: environment override, one-line error for a missing file, cached sha256."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from fdpose.errors import DependencyError
from fdpose.model_files import MODEL_DIR_ENV, SSD_OIDV4, file_sha256, model_dir, model_file


def test_default_folder_is_under_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    assert model_dir() == Path(sys.prefix) / "share" / "fdpose" / "models"


def test_env_override_and_sha(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    (tmp_path / SSD_OIDV4).write_bytes(b"TFL3 fake")
    path = model_file(SSD_OIDV4)
    assert path == tmp_path / SSD_OIDV4
    assert file_sha256(path) == hashlib.sha256(b"TFL3 fake").hexdigest()


def test_missing_file_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path))
    with pytest.raises(DependencyError) as err:
        model_file(SSD_OIDV4)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / SSD_OIDV4) in msg and "make install" in msg
