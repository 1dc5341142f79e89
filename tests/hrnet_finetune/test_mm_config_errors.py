"""An mmengine config whose Python fails while it is read: the one-line error says where (the config's own
line) and what, also when the exception carries no message (mmengine's lazy-import guard raises a bare
RuntimeError for ``import os; os.system(...)``: the line said only ``RuntimeError: ``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fdpose.errors import ConfigError

pytest.importorskip("mmengine")


def _message(path: Path) -> str:
    from fdpose.hrnet_finetune.config import read_mm_config

    with pytest.raises(ConfigError) as err:
        read_mm_config(path)
    text = str(err.value)
    assert text.startswith(f"{path}: not a readable mmengine config") and "\n" not in text, text
    return text


def test_bare_exception_names_the_config_line(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    cfg = tmp_path / "lazy.py"
    cfg.write_text(f"import os\nos.system('touch {marker}')\nmodel = dict(type='TopdownPoseEstimator')\n")
    text = _message(cfg)
    assert "(line 2)" in text and "RuntimeError" in text and "os.system" in text, text
    assert not marker.exists()


def test_exception_with_a_message_keeps_it_and_gains_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "zero.py"
    cfg.write_text("a = 1\nb = a / 0\n")
    text = _message(cfg)
    assert "(line 2)" in text and "ZeroDivisionError: division by zero" in text, text
