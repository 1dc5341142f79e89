"""kill -9 at chosen moments of every long command, then ``--resume`` (or a rerun): the outputs equal the
uninterrupted run's and no temp file or half-written output is left.

Each command runs once uninterrupted as a subprocess (the installed CLI, one thread, a 3-clip world), then
again killed with SIGKILL when a chosen file appears (the k-th output file, a temp file mid-write, a
staging folder), then resumed. What is compared is said per command: byte-identical files where the
command is deterministic (wall-clock fields dropped), tensors for checkpoints. Commands without
``--resume`` (synth, export, annotate convert, eval-aqa) redo everything on a rerun: that is tested.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli

pytestmark = pytest.mark.slow

ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", FDPOSE_THREADS="1", FDPOSE_NO_PROGRESS="1")
#: Names a write in progress or an interrupted staging step leaves (atomic writes' temp files, the
#: video writer's partial file, export's staging folder and the replaced dataset).
LEFTOVER_MARKS = (".tmp", ".partial", ".old-")


def _fdpose(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "fdpose", "-q", *args]


def _run(args: list[str], cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(_fdpose(args), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)
    if ok:
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr, res.stderr
    return res


def _kill_when(args: list[str], cwd: Path, ready: Callable[[], bool], timeout: float = 300,
               poll_s: float = 0.002) -> bool:
    """Start the command and SIGKILL it as soon as ``ready()`` (asked every ``poll_s``); False when it
    finished first."""
    proc = subprocess.Popen(_fdpose(args), cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if ready():
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(poll_s)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _dead_pid() -> int:
    """The pid of a process that has ended (what a killed writer's temp name holds)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _count(root: Path, pattern: str) -> Callable[[], int]:
    return lambda: sum(1 for _ in root.rglob(pattern)) if root.exists() else 0


def _files(root: Path, skip: Callable[[str], bool] = lambda rel: False) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not skip(rel):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _leftovers(*roots: Path) -> list[str]:
    return [str(p) for root in roots if root.exists() for p in root.rglob("*")
            if any(mark in p.name for mark in LEFTOVER_MARKS)]


def _assert_same_tree(work: Path, reference: Path, skip: Callable[[str], bool] = lambda rel: False) -> None:
    ours, theirs = _files(work, skip), _files(reference, skip)
    assert ours.keys() == theirs.keys(), sorted(set(ours) ^ set(theirs))
    different = [k for k in ours if ours[k] != theirs[k]]
    assert not different, different


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-clip world (30 frames each, videos included) and the arguments every command shares."""
    pytest.importorskip("mediapipe")
    r = tmp_path_factory.mktemp("kill")
    res = CliRunner().invoke(cli, ["-q", "synth", str(r / "W"), "-n", "3", "--frames", "30", "--seed", "1"])
    assert res.exit_code == 0, res.output
    return r


# --- synth: no --resume; a killed world is refused until --overwrite, which rebuilds it identically ---

SYNTH = ["synth", "S", "-n", "3", "--frames", "30", "--seed", "1"]


@pytest.fixture(scope="module")
def synth_ref(root: Path) -> Path:
    _run(["synth", "Sref", *SYNTH[2:]], root)
    return root / "Sref"


@pytest.mark.parametrize("moment", ["a temp file", "a partial video", "annotations"])
def test_synth_killed_then_rerun_with_overwrite(root: Path, synth_ref: Path, tmp_path: Path, moment: str) -> None:
    out = tmp_path / "S"
    ready = {
        "a temp file": lambda: _count(out, ".*.tmp")() >= 1,
        "a partial video": lambda: _count(out / "videos", "*.partial.mp4")() >= 1,
        "annotations": lambda: (out / "annotations").is_dir(),
    }[moment]
    assert _kill_when(SYNTH, tmp_path, ready), f"synth finished before {moment} was seen"
    res = _run(SYNTH, tmp_path, ok=False)  # an unfinished world is never taken for a finished one
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        "error: S: output folder is not empty (use --overwrite to replace the world in it)"]
    # what a kill while world.json is written leaves (io's temp name): the rerun removes it too
    (out / f".world.json.{_dead_pid()}.abc123.tmp").write_text("{")
    _run([*SYNTH, "--overwrite"], tmp_path)
    assert not _leftovers(out)
    _assert_same_tree(out, synth_ref)


# --- track-and-estimate --resume: killed after a clip's JSON, or between a clip's npz and its JSON ---

def _track(out: str, *extra: str) -> list[str]:
    return ["track-and-estimate", "W/frames", "-o", out, "--detections", "W/detections", "--pose", "mediapipe",
            "--no-progress", *extra]


@pytest.fixture(scope="module")
def track_ref(root: Path) -> Path:
    _run(_track("Tref"), root)
    return root / "Tref"


@pytest.mark.parametrize("moment", ["first clip JSON", "second npz"])
def test_track_killed_then_resumed(root: Path, track_ref: Path, moment: str) -> None:
    out = root / f"T-{moment.replace(' ', '_')}"
    ready = {"first clip JSON": lambda: _count(out, "*.json")() >= 1,
             "second npz": lambda: _count(out / "pose", "*.npz")() >= 2}[moment]
    assert _kill_when(_track(out.name), root, ready), f"finished before {moment}"
    _run(_track(out.name, "--resume"), root)
    assert not _leftovers(out)
    _assert_same_tree(out, track_ref)


# --- export: no --resume; a killed export leaves no dataset, its rerun writes the same one ---

def _export(out: str, *extra: str) -> list[str]:
    return ["export", "--auto", "Tref", "--annotations", "W/annotations", "-o", out, "--max-interpolated", "1",
            "--format", "fdpose", "--format", "hpmcore", "--no-progress", *extra]


@pytest.fixture(scope="module")
def export_ref(root: Path, track_ref: Path) -> Path:
    _run(_export("Dref"), root)
    return root / "Dref"


def _manifest_without_command(rel: str) -> bool:
    return rel == "manifest.json" or rel == "README.md"  # they name the -o folder; compared apart


@pytest.mark.parametrize("moment", ["staging folder", "first clip file"])
def test_export_killed_then_rerun(root: Path, export_ref: Path, tmp_path: Path, moment: str) -> None:
    import shutil

    shutil.copytree(root / "Tref", tmp_path / "Tref")
    shutil.copytree(root / "W" / "annotations", tmp_path / "W" / "annotations")
    out = tmp_path / "Dref"
    ready = {"staging folder": lambda: _count(tmp_path, ".Dref.*")() >= 1,
             "first clip file": lambda: _count(tmp_path, "*.npz")() >= 4}[moment]
    assert _kill_when(_export("Dref"), tmp_path, ready), f"finished before {moment}"
    assert not out.exists() or (out / "manifest.json").is_file()  # never a half dataset under the name
    _run(_export("Dref", "--overwrite") if out.exists() else _export("Dref"), tmp_path)
    assert not _leftovers(tmp_path), _leftovers(tmp_path)
    _assert_same_tree(out, export_ref)


# --- train-aqa --resume: killed after some epochs or while a checkpoint is written ---

def _train(out: str, *extra: str) -> list[str]:
    return ["train-aqa", "--config", "tiny", "--annotations", "W/annotations", "--data", "W/frames",
            "--poses-from-gt", "W/gt", "-o", out, "--epochs", "12", "--val-share", "0", "--threads", "1",
            "--seed", "0", *extra]


@pytest.fixture(scope="module")
def train_ref(root: Path) -> Path:
    _run(_train("Rref"), root)
    return root / "Rref"


def _no_seconds(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _assert_same_aqa_run(work: Path, reference: Path) -> None:
    import csv

    import torch

    for name in ("last.pt", "best.pt"):
        a, b = (torch.load(d / name, weights_only=True) for d in (work, reference))
        assert a["epoch"] == b["epoch"] and a["model"].keys() == b["model"].keys()
        different = [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
        losses = [[h["loss_total"] for h in s.get("history", [])] for s in (a, b)]
        assert not different, f"{name}: {len(different)} tensors differ, e.g. {different[0]}; losses {losses}"
        assert _no_seconds(a.get("history", [])) == _no_seconds(b.get("history", []))
    rows = [_no_seconds(list(csv.DictReader((d / "metrics.csv").open()))) for d in (work, reference)]
    assert rows[0] == rows[1]
    logs = [sorted(p.name for p in (d / "logs").iterdir()) for d in (work, reference)]
    assert logs[0] == logs[1]
    for name in logs[0]:
        a, b = (json.loads((d / "logs" / name).read_text()) for d in (work, reference))
        assert _no_seconds([a]) == _no_seconds([b]), name
    summaries = [json.loads((d / "summary.json").read_text()) for d in (work, reference)]
    for s in summaries:
        s.pop("seconds"), s.pop("out_dir"), s["best_val"].pop("seconds")
    assert summaries[0] == summaries[1]


@pytest.mark.parametrize("moment", ["fourth epoch log", "the first checkpoint's temp file"])
def test_train_aqa_killed_then_resumed(root: Path, train_ref: Path, moment: str) -> None:
    out = root / f"R-{moment.replace(' ', '_')}"
    ready = {"fourth epoch log": lambda: (out / "logs" / "epoch_0004.json").exists(),
             "the first checkpoint's temp file": lambda: _count(out, ".*.pt.*.tmp")() >= 1}[moment]
    assert _kill_when(_train(out.name), root, ready), f"finished before {moment}"
    if not (out / "last.pt").is_file():  # killed before its first epoch was saved: --resume refuses, says why
        res = _run(_train(out.name, "--resume"), root, ok=False)
        assert res.returncode == 2 and "starts again without --resume" in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        _run(_train(out.name), root)
    else:
        _run(_train(out.name, "--resume"), root)
    assert not _leftovers(out)
    _assert_same_aqa_run(out, train_ref)


# --- eval-aqa: no --resume; a killed evaluation is rerun and writes the same files ---

def test_eval_aqa_killed_then_rerun(root: Path, train_ref: Path) -> None:
    args = ["eval-aqa", "Rref/best.pt", "--split", "train", "--threads", "1", "--out"]
    _run([*args, "Eref"], root)
    out = root / "E"
    assert _kill_when([*args, "E"], root, lambda: _count(out, "*")() >= 1), "finished before its first file"
    _run([*args, "E"], root)
    assert not _leftovers(out)
    _assert_same_tree(out, root / "Eref")


def test_remove_stale_temps_keeps_live_writers_and_other_files(tmp_path: Path) -> None:
    from fdpose.io import atomic_write_text, remove_stale_temps

    dead, live = _dead_pid(), os.getpid()
    stale = [f".a.json.{dead}.x1y2z3ab.tmp", f".epoch_1.pth.{dead}.tmp", f".clip.{dead}.partial.mp4",
             f"sub/.b.npz.{dead}.12345678.tmp", f".D.{dead}.q9w8e7r6.partial/clips/1.npz", f".D.old-{dead}/m.json"]
    kept = [f".a.json.{live}.k1k2k3k4.tmp", "a.json", ".hidden", "sub/.c.tmp", "notes.tmp"]
    for rel in stale + kept:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == sorted(
        {rel.split("/clips")[0].split("/m.json")[0] for rel in stale})
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(kept)
    # a write names its temp file with its pid, so a later run can tell it from a live writer's
    from fdpose.io import _atomic_write

    seen: list[str] = []

    def write(fh: Any) -> None:
        seen.extend(p.name for p in tmp_path.glob(".out.txt.*"))
        fh.write(b"y")

    _atomic_write(tmp_path / "out.txt", write)
    assert len(seen) == 1 and seen[0].startswith(f".out.txt.{live}.") and seen[0].endswith(".tmp"), seen
    assert (tmp_path / "out.txt").read_text() == "y" and not list(tmp_path.glob(".out.txt.*"))
    atomic_write_text(tmp_path / "out.txt", "z")
    assert remove_stale_temps(tmp_path) == [] and (tmp_path / "out.txt").read_text() == "z"
    only_d = tmp_path / "only"
    (only_d / f".D.{dead}.abcdefgh.partial").mkdir(parents=True)
    (only_d / f".E.{dead}.abcdefgh.partial").mkdir()
    assert [p.name for p in remove_stale_temps(only_d, recursive=False, prefix=".D.")] == [
        f".D.{dead}.abcdefgh.partial"]


# --- finetune-hrnet --resume: killed while an epoch checkpoint is being written ---

def _finetune(out: str, *extra: str) -> list[str]:
    return ["finetune-hrnet", "W/labelme", "-o", out, "--arch", "hrnet-small", "--epochs", "2", "--batch-size", "16",
            "--input-size", "64x64", "--val-split", "0.34", "--workers", "0", "--device", "cpu", "--seed", "1",
            "--threads", "1", *extra]


def test_finetune_hrnet_killed_mid_checkpoint_then_resumed(root: Path) -> None:
    """Compared: every tensor of epoch_2.pth and best.pth, the per-epoch history without its wall-clock fields."""
    import torch

    from fdpose.hrnet_finetune.checkpoints import state_dict_of, torch_load

    _run(_finetune("Href"), root)
    out = root / "H"
    # (a small checkpoint is written in a few ms: the poll runs without pause and looks in H/ only,
    # where the atomic write puts its temp file, so that the window is not missed)
    assert _kill_when(_finetune("H"), root, lambda: any(out.glob(".epoch_2.pth.*.tmp")), poll_s=0.0), \
        "finished before writing epoch 2"
    if (out / "epoch_2.pth").exists():  # the rename can land between the poll and the kill: then it is whole
        torch_load(out / "epoch_2.pth")
    _run(_finetune("H", "--resume"), root)
    assert not _leftovers(out)
    for name in ("epoch_2.pth", "best.pth"):
        a, b = (state_dict_of(torch_load(d / name), d / name) for d in (out, root / "Href"))
        assert a.keys() == b.keys()
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, f"{name}: {len(different)} tensors differ, e.g. {different[0]}"
    histories = [[{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")}
                  for r in json.loads((d / "history.json").read_text())] for d in (out, root / "Href")]
    assert histories[0] == histories[1]


# --- annotate convert: no --resume; a plain rerun finishes a killed conversion, identically ---

def test_annotate_convert_killed_then_rerun(root: Path) -> None:
    args = ["annotate", "convert", "W/labelme", "--to", "mpii", "--images", "W/frames"]
    _run([*args[:3], "Cref/mpii.json", *args[3:]], root)
    out = root / "C"
    assert _kill_when([*args[:3], "C/mpii.json", *args[3:]], root, lambda: _count(out / "images", "*")() >= 5), \
        "finished before placing 5 images"
    assert not (out / "mpii.json").exists() or json.loads((out / "mpii.json").read_text())
    # the rerun keeps the images already placed (same files: hard links of the same frames) and finishes
    res = _run([*args[:3], "C/mpii.json", *args[3:]], root)
    found = re.search(r"images linked/copied: (\d+)", res.stdout)  # the line is left out when none was placed
    assert (int(found.group(1)) if found else 0) <= 82 - 5, res.stdout
    assert not _leftovers(out)
    _assert_same_tree(out, root / "Cref")


# --- demo --quick: resumable (its steps rerun cleanly; tests/demo covers --resume); a killed demo says how ---

def test_demo_killed_says_how_to_rerun(root: Path) -> None:
    out = root / "DEMO"
    assert _kill_when(["demo", "-o", "DEMO", "--quick", "--threads", "1"], root,
                      lambda: _count(out, "*.jpg")() >= 20), "the demo finished before its world was rendered"
    res = _run(["demo", "-o", "DEMO", "--quick", "--threads", "1"], root, ok=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert len([x for x in res.stderr.splitlines() if x.startswith("error: ")]) == 1, res.stderr
    assert "--resume" in res.stderr and "--overwrite" in res.stderr, res.stderr
    for p in out.rglob("*.json"):
        json.loads(p.read_text())  # whatever the kill left is complete (atomic writes)
