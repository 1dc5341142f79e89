"""``python -m fdpose``, the torchrun entry modules, and the shared option parsers."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from fdpose import __version__
from fdpose.cli.options import finite, parse_box
from fdpose.errors import ConfigError


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def test_python_m_fdpose_is_the_fdpose_command(tmp_path: Path) -> None:
    res = _run("-m", "fdpose", "--version", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == f"fdpose, version {__version__}"
    res = _run("-m", "fdpose", "--help", cwd=tmp_path)
    assert res.stdout.startswith("Usage: python -m fdpose [OPTIONS] COMMAND")
    for name in ("annotate", "synth", "track-and-estimate", "export", "train-aqa", "eval-aqa", "score", "demo"):
        assert f"  {name} " in res.stdout


def test_torchrun_entry_modules_keep_the_one_line_errors(tmp_path: Path) -> None:
    res = _run("-m", "fdpose.cli.track", "nowhere", "-o", str(tmp_path / "o"), "--init-box", "1,2", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == "error: --init-box must be x1,y1,x2,y2 with x2 > x1 and y2 > y1, got '1,2'"
    res = _run("-m", "fdpose.cli.aqa", "--help", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("Usage: python -m fdpose.cli.aqa")
    assert all(f"  {name} " in res.stdout for name in ("train-aqa", "eval-aqa", "score"))


def test_parse_box() -> None:
    assert parse_box(None) is None
    assert parse_box("1,2.5,30,40") == (1.0, 2.5, 30.0, 40.0)
    for bad in ("1,2,3", "1,2,3,4,5", "a,b,c,d", "10,0,5,5", "0,10,5,5", "0,0,nan,5", "0,0,inf,5", ""):
        with pytest.raises(ConfigError, match=r"--init-box must be x1,y1,x2,y2 .* got"):
            parse_box(bad)
    with pytest.raises(ConfigError, match="^--box must be"):
        parse_box("1,1,0,0", option="--box")


def test_finite_refuses_nan_and_infinity() -> None:
    assert finite(None, None, 1.5) == 1.5  # type: ignore[arg-type]
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(click.BadParameter, match="must be a finite number"):
            finite(None, None, bad)  # type: ignore[arg-type]
