"""``fdpose finetune-hrnet``: help, one-line errors, and eval/train output (through a test-local root group)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fdpose.cli.finetune import finetune_hrnet


def _root() -> click.Group:
    from fdpose.cli.main import FdposeGroup

    @click.group(cls=FdposeGroup)
    def root() -> None:
        """Test root."""

    root.add_command(finetune_hrnet)
    return root


def _run(*args: str):
    return CliRunner().invoke(_root(), ["finetune-hrnet", *args])


def test_help_lists_subcommands_and_options() -> None:
    res = _run("--help")
    assert res.exit_code == 0
    for word in ("train", "eval", "bench"):
        assert word in res.output
    res = _run("train", "--help")
    assert res.exit_code == 0
    for opt in ("--arch", "--init", "--epochs", "--batch-size", "--input-size", "--val-split", "--val", "--device",
                "--resume", "--json"):
        assert opt in res.output
    assert _run("eval", "--help").exit_code == 0


@pytest.mark.parametrize("args,message", [
    (["{tmp}/missing", "-o", "{tmp}/w"], "{tmp}/missing: no such file or directory"),
    (["{tmp}/empty", "-o", "{tmp}/w"], "{tmp}/empty: no LabelMe files (*.json) found"),
    (["{tmp}/empty", "-o", "{tmp}/w", "--input-size", "100x90"], "multiples of 32"),
    (["{tmp}/empty", "-o", "{tmp}/w", "--arch", "vgg"], "unknown architecture 'vgg'"),
    (["eval", "{tmp}/none.pth", "{tmp}/empty"], "{tmp}/empty: no LabelMe files"),
])
def test_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    res = _run(*[a.format(tmp=tmp_path) for a in args])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.format(tmp=tmp_path) in lines[0]


@pytest.mark.parametrize("order", ["folder first", "option first"])
def test_train_is_the_default_subcommand_whatever_comes_first(tmp_path: Path, order: str) -> None:
    """click's resolve_command picks ``train`` when the first word names no subcommand, also when that
    word is one of train's options (the group passes unknown options on)."""
    (tmp_path / "empty").mkdir()
    folder, work = str(tmp_path / "empty"), str(tmp_path / "w")
    args = [folder, "-o", work] if order == "folder first" else ["-o", work, folder]
    res = _run(*args)
    assert res.exit_code == 2 and res.output.strip() == f"error: {folder}: no LabelMe files (*.json) found"
    res = _run("--epochs", "0", folder, "-o", work)
    assert res.exit_code == 2 and "Usage: root finetune-hrnet train" in res.output and "'--epochs'" in res.output


def test_standalone_command_also_gives_one_line_errors(tmp_path: Path) -> None:
    res = CliRunner().invoke(finetune_hrnet, [str(tmp_path / "missing"), "-o", str(tmp_path / "w")])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0 and "no such file" in res.output


def test_eval_json_and_table(hr_trained, hr_tiny_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    res = _run("eval", str(hr_trained.best_checkpoint), str(hr_tiny_world / "labelme"), "--device", "cpu", "--json",
               "-o", str(out))
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report == json.loads(out.read_text())
    assert set(report) >= {"PCKh@0.5", "PCKh@0.1", "PCK@0.2", "frames", "checkpoint"}
    res = _run("eval", str(hr_trained.best_checkpoint), str(hr_tiny_world / "labelme"), "--device", "cpu", "--no-flip")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "flip test off" in lines[0] and lines[1].split() == ["joint", "PCKh@0.5", "PCKh@0.1", "PCK@0.2", "joints"]
    assert [ln.split()[0] for ln in lines[2:]][:2] == ["r_ankle", "r_knee"] and lines[-1].startswith("mean")


def test_bench_reports_training_speed(hr_tiny_world: Path) -> None:
    res = _run("bench", str(hr_tiny_world / "labelme"), "--arch", "hrnet-small", "--steps", "1", "--warmup", "0",
               "--batch-size", "4", "--input-size", "64x64", "--device", "cpu", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["arch"] == "hrnet-small" and d["input_size"] == [64, 64] and d["steps"] == 1 and d["batch_size"] == 4
    assert d["images_per_s"] == pytest.approx(4 / d["seconds"]) and 100_000 < d["parameters"] < 1_000_000
