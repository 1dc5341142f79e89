"""A full disk met midway (a file-size limit, ``ulimit -f``): one ``error: <file>: ...`` line, a non-zero exit, no
traceback, and nothing broken left behind (every JSON/npz/checkpoint that exists loads; no npz without its JSON).

Each command runs as a subprocess whose RLIMIT_FSIZE is set before it starts (Python ignores SIGXFSZ, so a
write past the limit fails with EFBIG, as a full disk fails with ENOSPC). The limit is chosen per command
so that some of its outputs fit and a later one does not.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli

ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", FDPOSE_THREADS="1", FDPOSE_NO_PROGRESS="1")


def _limited(limit: int) -> Callable[[], None]:
    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


def _run_limited(args: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fdpose", "-q", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=600, preexec_fn=_limited(limit))


def _broken_files(root: Path) -> list[str]:
    """Files under ``root`` that do not load as what their suffix says, and temp files left behind."""
    import cv2
    import torch

    bad = []
    for p in sorted(root.rglob("*")) if root.exists() else []:
        if not p.is_file():
            continue
        if any(mark in p.name for mark in (".tmp", ".partial", ".old-")):
            bad.append(f"{p}: temp file left")
            continue
        try:
            if p.suffix == ".json":
                json.loads(p.read_text())
            elif p.suffix == ".npz":
                with np.load(p) as z:
                    [z[k] for k in z.files]
            elif p.suffix in (".pth", ".pt"):
                torch.load(p, map_location="cpu", weights_only=False)
            elif p.suffix in (".jpg", ".png"):
                assert cv2.imread(str(p)) is not None
        except Exception as exc:  # noqa: BLE001 - any failure to load is what the test reports
            bad.append(f"{p}: {type(exc).__name__}: {exc}")
    return bad


def _assert_one_line_error(res: subprocess.CompletedProcess[str], names: Path, cwd: Path) -> None:
    """One ``error:`` line naming a file under ``names`` (relative to ``cwd``, or absolute)."""
    assert res.returncode != 0, res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, res.stderr
    line = errors[0].replace(f"error: {cwd}/", "error: ", 1)
    assert line.startswith(f"error: {names}/") and "File too large" in line, errors[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-clip world (30 frames each) and a track-and-estimate output of it."""
    pytest.importorskip("mediapipe")
    r = tmp_path_factory.mktemp("full")
    res = CliRunner().invoke(cli, ["-q", "synth", str(r / "W"), "-n", "3", "--frames", "30", "--seed", "1"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["-q", "track-and-estimate", str(r / "W/frames"), "-o", str(r / "T"),
                                   "--detections", str(r / "W/detections"), "--pose", "mediapipe", "--no-progress",
                                   "--threads", "1"])
    assert res.exit_code == 0, res.output
    return r


def test_track_and_estimate(root: Path) -> None:
    """The clip JSONs (~35 kB) do not fit, their npz (~19 kB) do: the batch stops at the first, no npz is left."""
    res = _run_limited(["track-and-estimate", "W/frames", "-o", "TF", "--detections", "W/detections", "--pose",
                        "mediapipe", "--no-progress"], root, 25_000)
    _assert_one_line_error(res, Path("TF"), root)
    out = root / "TF"
    assert not _broken_files(out)
    jsons = {p.stem for p in out.glob("*.json")}
    for npz in out.rglob("pred_comp_*.npz"):
        assert f"{npz.parent.name}__{npz.stem.removeprefix('pred_comp_')}" in jsons, f"{npz} has no clip JSON"


def test_export(root: Path) -> None:
    res = _run_limited(["export", "--auto", "T", "--annotations", "W/annotations", "-o", "DF", "--max-interpolated",
                        "1", "--no-progress"], root, 10_000)
    _assert_one_line_error(res, Path("DF") / "clips", root)  # the file asked for, not the staging copy
    assert not (root / "DF").exists() or not _broken_files(root / "DF")
    assert not [p for p in root.glob(".DF.*")], "the staging folder was left"


def test_synth(root: Path) -> None:
    res = _run_limited(["synth", "SF", "-n", "2", "--frames", "30", "--seed", "1"], root, 60_000)
    _assert_one_line_error(res, Path("SF"), root)
    assert not _broken_files(root / "SF")


def test_score_pose_out(root: Path) -> None:
    run = root / "R"
    res = subprocess.run([sys.executable, "-m", "fdpose", "-q", "train-aqa", "--config", "tiny", "--annotations",
                          "W/annotations", "--data", "W/frames", "--poses-from-gt", "W/gt", "-o", "R", "--epochs", "1",
                          "--val-share", "0", "--threads", "1"], cwd=root, env=ENV, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    clip = next(p for p in sorted((root / "W/frames").glob("*/*")) if p.is_dir())
    res = _run_limited(["score", str(clip), "--checkpoint", str(run / "best.pt"), "--annotations", "W/annotations",
                        "--exemplars", "W/frames", "--poses-from-gt", "W/gt", "--no-dive-number", "--num-exemplars",
                        "1", "--detections", "W/detections", "--pose-out", "PF"], root, 4_000)
    _assert_one_line_error(res, Path("PF") / "pose", root)
    assert not _broken_files(root / "PF")


def test_finetune_hrnet(root: Path) -> None:
    res = _run_limited(["finetune-hrnet", "W/labelme", "-o", "HF", "--arch", "hrnet-small", "--epochs", "1",
                        "--batch-size", "16", "--input-size", "64x64", "--workers", "0", "--device", "cpu",
                        "--threads", "1"], root, 1_000_000)
    _assert_one_line_error(res, Path("HF"), root)
    assert not _broken_files(root / "HF")
