"""fdpose/progress.py: one bar rule for every command (stderr only, a terminal only, switchable)."""

from __future__ import annotations

import io
import sys

import pytest

from fdpose import progress as progress_mod
from fdpose.progress import ENV_DISABLE, bars_wanted, progress, tqdm


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def streams(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeTerminal, io.StringIO]:
    """A terminal as stderr and a pipe as stdout. Patched inside the test body: pytest's output
    capture re-installs its own sys.stderr between fixture setup and the test call."""
    term, out = FakeTerminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.delenv(ENV_DISABLE, raising=False)
    return term, out


def test_bar_drawn_on_a_terminal_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, stdout = streams(monkeypatch)
    assert list(progress(range(5), desc="clips", unit="clip")) == [0, 1, 2, 3, 4]
    assert "clips:" in terminal.getvalue() and "0/5" in terminal.getvalue()  # drawn, then cleared (leave=False)
    assert stdout.getvalue() == ""  # never on stdout


@pytest.mark.parametrize("how", ["argument", "env"])
def test_bar_switched_off(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    terminal, _ = streams(monkeypatch)
    if how == "env":
        monkeypatch.setenv(ENV_DISABLE, "1")
    enabled = how != "argument"
    assert not bars_wanted(enabled)
    bar = progress(range(3), desc="x", enabled=enabled)
    assert list(bar) == [0, 1, 2]
    assert terminal.getvalue() == ""


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    monkeypatch.setenv(ENV_DISABLE, "0")  # "0" does not switch bars off; the pipe does
    manual = progress(total=4, desc="manual")
    manual.update(4)
    manual.close()
    assert list(progress([1, 2], desc="x")) == [1, 2]
    assert pipe.getvalue() == ""


def test_tqdm_drop_in_forces_stderr_and_keeps_disable(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, stdout = streams(monkeypatch)
    assert list(tqdm(range(2), desc="dropin", file=sys.stdout)) == [0, 1]
    assert "dropin" in terminal.getvalue() and stdout.getvalue() == ""
    before = terminal.getvalue()
    assert list(tqdm(range(2), desc="off", disable=True)) == [0, 1]
    assert terminal.getvalue() == before
    assert progress_mod.bars_wanted()


def test_quiet_root_command_forbids_bars_for_the_run(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from click.testing import CliRunner

    from fdpose.cli.main import cli

    try:
        for args, wanted in ((["-q"], False), ([], True)):
            res = CliRunner().invoke(cli, [*args, "annotate", "stats", str(tmp_path)])
            assert res.exit_code == 0, res.output
            terminal, _ = streams(monkeypatch)
            assert bars_wanted() is wanted
            list(progress(range(3), desc="after"))
            assert ("after" in terminal.getvalue()) is wanted
    finally:
        progress_mod.set_bars(True)
