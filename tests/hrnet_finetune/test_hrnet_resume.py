"""``finetune-hrnet --resume``: a run interrupted anywhere and resumed equals the uninterrupted run.

Each case trains the small architecture for 3 epochs on the 4-clip world (about 6 s on one core),
interrupts it at a chosen moment (an exception in-process, or SIGKILL of a CLI subprocess), resumes
it and compares with one uninterrupted run: every weight tensor of the last epoch checkpoint and
of best.pth bit-identical, the per-epoch losses and validation metrics equal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from fdpose.errors import ConfigError, InputError
from fdpose.hrnet_finetune.config import TrainSettings
from fdpose.hrnet_finetune.resume import capture_rng_state, restore_rng_state

from hrnet_helpers import RUN, one_torch_thread

SEED = 1
RESUME_RUN = dict(RUN, epochs=3, val_share=0.5)


def _settings(world: Path, work: Path, **changes: Any) -> TrainSettings:
    return TrainSettings([world / "labelme"], work, seed=SEED, **dict(RESUME_RUN, **changes))


def _train(settings: TrainSettings):
    from fdpose.hrnet_finetune.train import train

    with one_torch_thread():
        return train(settings)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from fdpose.hrnet_finetune.checkpoints import state_dict_of, torch_load

    return state_dict_of(torch_load(path), path)


def _history(work: Path) -> list[dict[str, Any]]:
    """Per-epoch records without the wall-clock fields."""
    rows = json.loads((work / "history.json").read_text())
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in rows]


def _assert_same_run(work: Path, reference: Path) -> None:
    for name in ("epoch_3.pth", "best.pth"):
        a, b = _weights(work / name), _weights(reference / name)
        assert a.keys() == b.keys()
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, f"{name}: {len(different)} tensors differ, e.g. {different[0]}"
    assert _history(work) == _history(reference)
    ours, theirs = (json.loads((w / "metrics.json").read_text()) for w in (work, reference))
    assert ours["val"] == theirs["val"] and ours["best_epoch"] == theirs["best_epoch"]


@pytest.fixture(scope="module")
def reference(hr_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Work dir of the uninterrupted 3-epoch run."""
    work = tmp_path_factory.mktemp("resume_ref") / "work"
    result = _train(_settings(hr_world, work))
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    # the weights still move in epoch 3, so equal weights are not equal by accident of a frozen model
    last, before = _weights(work / "epoch_3.pth"), _weights(work / "epoch_2.pth")
    assert sum(not torch.equal(last[k], before[k]) for k in last) > len(last) // 2
    return work


def _interrupt_validation_after(epoch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raise in the validation that follows ``epoch``: its checkpoint is written, its validation never ran."""
    from mmengine.runner.loops import ValLoop

    original = ValLoop.run

    def run(loop: ValLoop) -> Any:
        if loop.runner.epoch == epoch:
            raise KeyboardInterrupt
        return original(loop)

    monkeypatch.setattr(ValLoop, "run", run)


def _interrupt_training_iteration(epoch: int, iteration: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raise before iteration ``iteration`` (0-based) of training epoch ``epoch`` (1-based)."""
    from mmengine.runner.loops import EpochBasedTrainLoop

    original = EpochBasedTrainLoop.run_iter

    def run_iter(loop: EpochBasedTrainLoop, idx: int, data_batch: Any) -> None:
        if loop.epoch == epoch - 1 and idx == iteration:
            raise KeyboardInterrupt
        original(loop, idx, data_batch)

    monkeypatch.setattr(EpochBasedTrainLoop, "run_iter", run_iter)


def _interrupted_then_resumed(world: Path, work: Path, interrupt: Callable[[pytest.MonkeyPatch], None],
                              monkeypatch: pytest.MonkeyPatch, damage: Callable[[Path], None] | None = None):
    """Train with ``interrupt`` patched in (raises KeyboardInterrupt), optionally ``damage`` the work dir, resume."""
    with monkeypatch.context() as m:
        interrupt(m)
        with pytest.raises(KeyboardInterrupt):
            _train(_settings(world, work))
    if damage is not None:
        damage(work)
    return _train(_settings(world, work, resume=True))


def test_killed_before_validating_an_epoch(hr_world: Path, reference: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    result = _interrupted_then_resumed(hr_world, work, lambda m: _interrupt_validation_after(2, m), monkeypatch)
    assert result.resumed_from is not None and result.resumed_from.endswith("epoch_2.pth")
    assert "val" in result.history[1]  # epoch 2 validated after the resume
    _assert_same_run(work, reference)


@pytest.mark.parametrize("epoch,iteration", [(2, 2), (3, 0)])
def test_killed_mid_epoch(hr_world: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          epoch: int, iteration: int) -> None:
    work = tmp_path / "work"
    result = _interrupted_then_resumed(hr_world, work, lambda m: _interrupt_training_iteration(epoch, iteration, m),
                                       monkeypatch)
    assert result.resumed_from is not None and result.resumed_from.endswith(f"epoch_{epoch - 1}.pth")
    _assert_same_run(work, reference)


def test_truncated_last_checkpoint_resumes_from_the_previous_one(hr_world: Path, reference: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    def truncate(work: Path) -> None:  # what an in-place write killed midway (or a full disk) leaves
        data = (work / "epoch_2.pth").read_bytes()
        (work / "epoch_2.pth").write_bytes(data[: len(data) // 3])

    work = tmp_path / "work"
    with caplog.at_level("WARNING", logger="fdpose.hrnet_finetune.resume"):
        result = _interrupted_then_resumed(hr_world, work, lambda m: _interrupt_validation_after(2, m), monkeypatch,
                                           damage=truncate)
    assert result.resumed_from is not None and result.resumed_from.endswith("epoch_1.pth")
    assert any("epoch_2.pth" in r.getMessage() and "earlier checkpoint" in r.getMessage() for r in caplog.records)
    _assert_same_run(work, reference)


def test_checkpoint_writes_are_atomic(hr_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while mmengine writes a checkpoint leaves the previous files untouched and no partial file."""
    import mmengine.runner.runner as mm_runner

    original = mm_runner.save_checkpoint
    calls = {"n": 0}

    def failing(checkpoint: dict, filename: str, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # epoch_1, best of epoch 1, then epoch_2 fails midway
            Path(filename).write_bytes(b"PK\x03\x04 partial")
            raise OSError(28, "No space left on device")
        original(checkpoint, filename, *args, **kwargs)

    monkeypatch.setattr(mm_runner, "save_checkpoint", failing)
    work = tmp_path / "work"
    with pytest.raises(OSError, match="No space"):
        _train(_settings(hr_world, work))
    names = sorted(p.name for p in work.glob("*.pth")) + sorted(p.name for p in work.glob(".*tmp"))
    assert names == ["best_pose_PCKh@0.5_epoch_1.pth", "epoch_1.pth"]
    assert _weights(work / "epoch_1.pth")


def test_resume_refuses_nothing_to_resume_and_changed_settings(hr_world: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="nothing to resume: the work dir does not exist"):
        _train(_settings(hr_world, tmp_path / "none", resume=True))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"nothing to resume: no epoch_\*.pth"):
        _train(_settings(hr_world, tmp_path / "empty", resume=True))
    work = tmp_path / "work"
    with monkeypatch.context() as m:
        _interrupt_training_iteration(2, 0, m)
        with pytest.raises(KeyboardInterrupt):
            _train(_settings(hr_world, work))
    with pytest.raises(ConfigError, match=r"--resume cannot change epochs 3 -> 4"):
        _train(_settings(hr_world, work, epochs=4, resume=True))
    (work / "epoch_1.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"nothing to resume: every epoch checkpoint is damaged \(epoch_1.pth\)"):
        _train(_settings(hr_world, work, resume=True))


def test_resume_accepts_moved_labels_and_refuses_changed_ones(hr_world: Path, reference: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The labels may move between a run and its resume (the result equals the uninterrupted run); a changed
    joint is refused before anything in the work dir is touched."""
    import shutil

    first, moved, work = tmp_path / "first", tmp_path / "moved", tmp_path / "work"
    shutil.copytree(hr_world, first)
    with monkeypatch.context() as m:
        _interrupt_training_iteration(2, 0, m)
        with pytest.raises(KeyboardInterrupt):
            _train(_settings(first, work))
    shutil.copytree(first, moved)
    shutil.rmtree(first)
    label = sorted((moved / "labelme").rglob("*.json"))[3]
    original = label.read_text()
    doc = json.loads(original)
    point = next(s for s in doc["shapes"] if s["shape_type"] == "point")
    point["points"][0][0] += 1.0
    label.write_text(json.dumps(doc))
    config_before = (work / "config.py").read_bytes()
    with pytest.raises(ConfigError, match=r"--resume cannot change the labelled data \(labels, split or images"):
        _train(_settings(moved, work, resume=True))
    assert (work / "config.py").read_bytes() == config_before
    label.write_text(original)
    _train(_settings(moved, work, resume=True))
    _assert_same_run(work, reference)


def test_rng_state_round_trip() -> None:
    import random

    import numpy as np

    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    state = capture_rng_state()
    first = (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist(), np.random.randn())
    np.random.seed(0)
    random.seed(0)
    torch.manual_seed(0)
    restore_rng_state(state)
    assert (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist(), np.random.randn()) == first
    # loadable under weights_only without any allow-list (no numpy objects)
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    torch.load(buf, weights_only=True)


def _cli(world: Path, work: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fdpose.cli.main", "-q", "finetune-hrnet", str(world / "labelme"), "-o", str(work),
            "--arch", "hrnet-small", "--epochs", "3", "--batch-size", "16", "--input-size", "64x64",
            "--val-split", "0.5", "--workers", "0", "--device", "cpu", "--seed", str(SEED), "--threads", "1", *extra]


def test_sigkill_then_cli_resume(hr_world: Path, reference: Path, tmp_path: Path) -> None:
    """kill -9 of the CLI once the first epoch checkpoint exists (wherever that lands), then --resume."""
    work = tmp_path / "work"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.Popen(_cli(hr_world, work), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (work / "epoch_1.pth").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (work / "epoch_1.pth").exists() and not (work / "best.pth").exists()
    res = subprocess.run(_cli(hr_world, work, "--resume", "--json"), env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["resumed_from"].endswith(".pth")
    _assert_same_run(work, reference)
    res = subprocess.run(_cli(hr_world, tmp_path / "fresh", "--resume"), env=env, capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'fresh'}: nothing to resume: the work dir does not exist"]


def test_killed_mid_epoch_with_loader_workers(hr_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Data-loader worker processes (mmengine seeds them with seed + worker id): resume is exact too."""
    reference = tmp_path / "reference"
    _train(_settings(hr_world, reference, workers=1))
    work = tmp_path / "work"
    with monkeypatch.context() as m:
        _interrupt_training_iteration(2, 2, m)
        with pytest.raises(KeyboardInterrupt):
            _train(_settings(hr_world, work, workers=1))
    result = _train(_settings(hr_world, work, workers=1, resume=True))
    assert result.resumed_from is not None and result.resumed_from.endswith("epoch_1.pth")
    _assert_same_run(work, reference)


def test_killed_while_finishing(hr_world: Path, reference: Path, tmp_path: Path) -> None:
    """Every epoch done, killed while writing best.pth / metrics.json: --resume validates the last epoch again and
    writes the same final files."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(reference, work)
    for name in ("best.pth", "metrics.json", "training_curve.png", "hint.txt"):
        (work / name).unlink()
    result = _train(_settings(hr_world, work, resume=True))
    assert result.resumed_from is not None and result.resumed_from.endswith("epoch_3.pth")
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    _assert_same_run(work, reference)
