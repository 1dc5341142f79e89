"""The root command: version, help on every (sub)command, and that only landed commands exist."""

from __future__ import annotations

import click
from click.testing import CliRunner

from fdpose import __version__
from fdpose.cli.main import cli


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, path)


def test_version():
    res = CliRunner().invoke(cli, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output


def test_help_on_every_command():
    runner = CliRunner()
    paths = list(_all_commands(cli))
    assert paths, "no commands registered"
    for path, cmd in paths:
        res = runner.invoke(cli, [*path, "--help"])
        assert res.exit_code == 0, (path, res.output)
        assert "Usage:" in res.output and (cmd.help or cmd.short_help or "").split("\n")[0][:20] in res.output


def test_registered_commands_are_the_landed_ones():
    # Commands of issues that have not landed must not exist (no placeholders).
    assert {"annotate", "export", "finetune-hrnet", "synth", "track-and-estimate", "train-aqa", "eval-aqa",
            "score"} <= set(cli.commands)
    annotate = cli.commands["annotate"]
    assert isinstance(annotate, click.Group)
    assert {"init", "open", "validate", "review", "convert", "stats"} <= set(annotate.commands)


def test_unknown_command_is_a_usage_error():
    res = CliRunner().invoke(cli, ["no-such-command"])
    assert res.exit_code == 2 and "No such command" in res.output


def test_ctrl_c_is_one_line_and_exit_130(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGINT during a long command: ``error: interrupted``, exit 130 (not click's 'Aborted!' with 1), no traceback."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "fdpose", "synth", str(tmp_path / "w"), "-n", "60", "--frames", "120",
                             "--seed", "3"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "w").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # the world's folder appears once the command is at work
    time.sleep(1.0)
    assert proc.poll() is None, "synth ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "error: interrupted"
