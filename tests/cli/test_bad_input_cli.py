"""Issue 13 A's bad inputs driven through the installed command line (a subprocess per run, as a user runs it),
for the cases other modules test at library level: a crafted annotation pickle (train-aqa, export, eval-aqa),
a NaN dive score, a YAML string where a bool belongs, a truncated JPEG frame, an export check without the
fine-grained pickle, a text file as an AQA checkpoint. Each: the exit code, the one ``error:`` line (or the
one warning), no traceback, and the payload never run.
"""

from __future__ import annotations

import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fdpose.finediving import FINE_GRAINED_FILE
from fdpose.io import read_pickle, write_pickle

pytestmark = pytest.mark.slow

ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", FDPOSE_THREADS="1", FDPOSE_NO_PROGRESS="1")


def _fdpose(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([sys.executable, "-m", "fdpose", "-q", *args], cwd=cwd, env=ENV, capture_output=True,
                         text=True, timeout=600)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    return res


def _one_error(res: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert res.returncode == code, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, res.stderr
    return errors[0]


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-clip world (30 frames, seed 1), its track-and-estimate output, a 1-epoch tiny AQA run (~15 s)."""
    pytest.importorskip("mediapipe")
    r = tmp_path_factory.mktemp("badcli")
    for args in (["synth", "W", "-n", "3", "--frames", "30", "--no-video", "--seed", "1"],
                 ["track-and-estimate", "W/frames", "-o", "T", "--detections", "W/detections", "--pose", "mediapipe",
                  "--no-progress"],
                 ["train-aqa", "--config", "tiny", "--annotations", "W/annotations", "--data", "W/frames",
                  "--poses-from-gt", "W/gt", "-o", "R", "--epochs", "1", "--val-share", "0"]):
        res = _fdpose(args, r)
        assert res.returncode == 0, res.stderr
    return r


def _annotations_with(root: Path, name: str, fine: object) -> Path:
    folder = root / name
    shutil.copytree(root / "W" / "annotations", folder)
    (folder / FINE_GRAINED_FILE).write_bytes(pickle.dumps(fine))
    return folder


def test_crafted_annotation_pickle_is_refused_by_every_reader(root: Path) -> None:
    marker = root / "pwned"
    folder = _annotations_with(root, "A_evil", {("x", 1): _Payload(marker)})
    for args in (["train-aqa", "--config", "tiny", "--annotations", str(folder), "--data", "W/frames",
                  "--poses-from-gt", "W/gt", "-o", "R_evil", "--epochs", "1", "--val-share", "0"],
                 ["export", "--auto", "T", "--annotations", str(folder), "-o", "D_evil"],
                 ["eval-aqa", "R/best.pt", "--annotations", str(folder), "--split", "train"]):
        line = _one_error(_fdpose(args, root))
        assert line.startswith(f"error: {folder / FINE_GRAINED_FILE}: not a readable annotation pickle") and \
            "refused" in line and "system" in line, line
    assert not marker.exists()


def test_nan_dive_score_names_the_file_and_key(root: Path) -> None:
    fine = read_pickle(root / "W" / "annotations" / FINE_GRAINED_FILE)
    key = sorted(fine)[0]
    fine[key] = {**fine[key], "dive_score": math.nan}
    folder = root / "A_nan"
    shutil.copytree(root / "W" / "annotations", folder)
    write_pickle(folder / FINE_GRAINED_FILE, fine)
    line = _one_error(_fdpose(["train-aqa", "--config", "tiny", "--annotations", str(folder), "--data", "W/frames",
                               "--poses-from-gt", "W/gt", "-o", "R_nan", "--epochs", "1", "--val-share", "0"], root))
    assert line == f"error: {folder / FINE_GRAINED_FILE}: {key!r}: dive_score is nan (not a finite number)"
    assert "--lr" not in line


def test_yaml_string_where_a_bool_belongs(root: Path) -> None:
    (root / "c.yaml").write_text('preset: tiny\nuse_hse: "false"\n')
    line = _one_error(_fdpose(["train-aqa", "--config", "c.yaml", "--annotations", "W/annotations", "--data",
                               "W/frames", "--poses-from-gt", "W/gt", "-o", "R_yaml", "--epochs", "1"], root))
    assert line.startswith("error: c.yaml: config key 'use_hse' must be bool") and "got str 'false'" in line, line


def test_truncated_jpeg_frame_warns_once_on_stderr(root: Path) -> None:
    shutil.copytree(root / "W" / "frames", root / "F_cut")
    frame = sorted((root / "F_cut").rglob("00004.jpg"))[0]
    data = frame.read_bytes()
    frame.write_bytes(data[: len(data) // 2])
    res = _fdpose(["track-and-estimate", str(frame.parent), "-o", "T_cut", "--detections", "W/detections",
                   "--pose", "mediapipe", "--no-progress"], root)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines == [f"WARNING fdpose.video: {frame}: truncated JPEG (no end-of-image marker): only its first rows "
                     "are real"], res.stderr  # libjpeg's own "Premature end of JPEG file" is not there


def test_export_check_without_the_fine_grained_pickle_fails(root: Path) -> None:
    res = _fdpose(["export", "--auto", "T", "--annotations", "W/annotations", "-o", "D", "--max-interpolated", "1"],
                  root)
    assert res.returncode == 0, res.stderr
    shutil.copytree(root / "W" / "annotations", root / "A_nofine")
    (root / "A_nofine" / FINE_GRAINED_FILE).unlink()
    res = _fdpose(["export", "check", "D", "--annotations", "A_nofine", "--max-interpolated", "1"], root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"no {FINE_GRAINED_FILE}: cannot check the clips against the annotations" in res.stdout
    assert res.stdout.rstrip().splitlines()[-1] == "result: FAILED (splits)"


def test_text_file_as_a_checkpoint(root: Path) -> None:
    (root / "text.pt").write_text("this is not a checkpoint")
    line = _one_error(_fdpose(["eval-aqa", "text.pt"], root))
    assert line == "error: text.pt: not a readable checkpoint (not a torch checkpoint or damaged)"
