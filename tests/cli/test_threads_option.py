"""``--threads``: one rule in every command that runs torch (issue 13 B: two ``_set_threads`` with different
"leave it" values). Absent or 0: chosen for the machine (fdpose.runtime); a negative count: usage error, exit 2."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli_helpers import command_at
from fdpose.cli.main import cli

COMMANDS = [("train-aqa",), ("eval-aqa",), ("score",), ("finetune-hrnet", "train"), ("finetune-hrnet", "eval"),
            ("finetune-hrnet", "bench"), ("track-and-estimate",), ("demo",)]


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_threads_option_is_the_same(path: tuple[str, ...]) -> None:
    (param,) = [p for p in command_at(path).params if "--threads" in getattr(p, "opts", [])]
    assert isinstance(param.type, click.IntRange) and (param.type.min, param.type.max) == (0, None)
    assert param.default is None


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_negative_threads_is_a_usage_error(path: tuple[str, ...]) -> None:
    res = CliRunner().invoke(cli, ["-q", *path, "--threads", "-1"])
    assert res.exit_code == 2 and "'--threads': -1 is not in the range x>=0" in res.output, res.output


@pytest.mark.parametrize("path", [("eval-aqa",), ("train-aqa", "--resume", "-o")])
def test_zero_threads_means_automatic_in_the_aqa_commands(tmp_path: Path, path: tuple[str, ...]) -> None:
    """0 gets past the thread rule (it was refused here while finetune-hrnet and track-and-estimate took it):
    what stops the command is the checkpoint that follows."""
    bad = tmp_path / "last.pt"
    bad.write_text("this is not a checkpoint")
    target = str(bad) if path == ("eval-aqa",) else str(tmp_path)
    args = [*path, target, "--threads", "0"]
    if path[0] == "train-aqa":
        args += ["--config", "tiny", "--annotations", str(tmp_path)]
    res = CliRunner().invoke(cli, ["-q", *args])
    assert res.exit_code == 2 and "--threads" not in res.output, res.output
    assert f"error: {bad}: not a readable checkpoint" in res.output, res.output


def test_set_threads_is_the_one_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper both command modules use: OMP_NUM_THREADS alone is left as torch read it; --threads or
    FDPOSE_THREADS set torch's count (restored afterwards)."""
    import torch

    from fdpose.cli import aqa, finetune
    from fdpose.cli.options import set_threads

    assert aqa.set_threads is set_threads and finetune.set_threads is set_threads
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("FDPOSE_THREADS", raising=False)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert set_threads(None) is None and set_threads(0) is None
        assert set_threads(1) == 1 == torch.get_num_threads()
        monkeypatch.setenv("FDPOSE_THREADS", "1")
        assert set_threads(None) == 1
    finally:
        torch.set_num_threads(before)
