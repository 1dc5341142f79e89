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


def test_native_stderr_goes_to_debug_and_is_restored(capfd: pytest.CaptureFixture[str],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from fdpose.logs import native_stderr_to_debug

    caplog.set_level(logging.DEBUG, logger="fdpose.test_native")
    with pytest.raises(RuntimeError):
        with native_stderr_to_debug("fdpose.test_native"):
            os.write(2, b"W0000 00:00:1.0 native.cc:1] noise from C++\n\n")
            raise RuntimeError("the block failed")
    os.write(2, b"after the block\n")
    err = capfd.readouterr().err
    assert "noise from C++" not in err and "after the block" in err  # fd 2 is back, even after the raise
    records = [r for r in caplog.records if r.name == "fdpose.test_native"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.DEBUG, "W0000 00:00:1.0 native.cc:1] noise from C++")]


@pytest.mark.parametrize("root_flags", [(), ("-v",)])
def test_default_track_and_estimate_prints_no_native_notices(shared_data: Path, tmp_path: Path,
                                                             root_flags: tuple[str, ...]) -> None:
    """The no-flag pipeline (ssd detector, BlazePose) on a real clip: TFLite's and mediapipe's notices
    ("Created TensorFlow Lite XNNPACK delegate", absl ``W0000`` lines) only with -v, as DEBUG lines."""
    pytest.importorskip("mediapipe")
    pytest.importorskip("ai_edge_litert")
    videos = tmp_path / "videos" / "armstand"
    videos.mkdir(parents=True)
    for f in sorted((shared_data / "real" / "mtlaqa_10m_armstand").glob("*.jpg"))[:6]:
        (videos / f.name).symlink_to(f)
    cmd = [sys.executable, "-m", "fdpose", *root_flags, "track-and-estimate", str(videos.parent),
           "-o", str(tmp_path / "out")]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    native = [ln for ln in res.stderr.splitlines() if "XNNPACK" in ln or "W0000" in ln or "absl" in ln]
    if root_flags:
        assert native and all(ln.startswith("DEBUG fdpose.pipelines.") for ln in native), res.stderr[-2000:]
    else:
        assert native == [], res.stderr[-2000:]
