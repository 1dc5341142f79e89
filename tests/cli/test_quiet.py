"""Library noise stays out of the CLI's output unless ``-v``: mmengine's console warnings and python warnings
from libraries are routed into logging at DEBUG (fdpose.logs)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("mmengine")


@pytest.fixture(scope="module")
def labelme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fdpose.synth.config import SynthConfig
    from fdpose.synth.world import generate_world

    root = tmp_path_factory.mktemp("quiet") / "w"
    generate_world(SynthConfig(videos=2, seed=2, frames=30, write_video=False), root)
    return root / "labelme"


def _finetune(labelme: Path, work: Path, *root_flags: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "fdpose", *root_flags, "finetune-hrnet", str(labelme), "-o", str(work),
           "--arch", "hrnet-small", "--epochs", "1", "--batch-size", "8", "--input-size", "64x64",
           "--val-split", "0.5", "--workers", "0", "--device", "cpu", "--threads", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return res


def test_finetune_without_v_shows_no_mmengine_warnings(labelme: Path, tmp_path: Path) -> None:
    res = _finetune(labelme, tmp_path / "quiet")
    output = res.stdout + res.stderr
    assert "mmengine" not in output and "WARNING" not in output, output
    assert "best epoch 1" in res.stdout
    # the run's own log file still holds mmengine's messages
    logs = list((tmp_path / "quiet").rglob("*.log"))
    assert logs and "FileClient" in "".join(p.read_text() for p in logs)


def test_finetune_with_v_shows_them_as_debug(labelme: Path, tmp_path: Path) -> None:
    res = _finetune(labelme, tmp_path / "verbose", "-v")
    lines = [ln for ln in res.stderr.splitlines() if "FileClient" in ln]
    assert lines and all(ln.startswith("DEBUG mmengine") for ln in lines), res.stderr[-2000:]
    assert "- mmengine - WARNING -" not in res.stderr  # never mmengine's own console format


def test_library_warnings_demoted_fdpose_warnings_kept(caplog: pytest.LogCaptureFixture) -> None:
    from fdpose.logs import capture_warnings

    library = "/usr/lib/python3/dist-packages/somelib.py"
    with warnings.catch_warnings():  # filters and showwarning restored afterwards, whatever ran before
        warnings.simplefilter("always")
        capture_warnings()
        try:
            with caplog.at_level(logging.INFO):
                warnings.warn_explicit("library noise", UserWarning, library, 1)
                import fdpose.logs as logs_module

                warnings.warn_explicit("ours", UserWarning, logs_module.__file__, 1)
            messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "py.warnings"]
            assert [level for level, m in messages if "ours" in m] == ["WARNING"]
            assert not [m for _, m in messages if "library noise" in m]
            with caplog.at_level(logging.DEBUG):
                warnings.warn_explicit("library noise 2", UserWarning, library, 2)
            assert [r.levelname for r in caplog.records if "library noise 2" in r.getMessage()] == ["DEBUG"]
        finally:
            logging.captureWarnings(False)
