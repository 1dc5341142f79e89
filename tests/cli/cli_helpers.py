"""Helpers shared by the CLI option tests."""

from __future__ import annotations

import click

from fdpose.cli.main import cli


def command_at(path: tuple[str, ...]) -> click.Command:
    """The command at ``path`` below ``fdpose`` (``("finetune-hrnet", "train")``)."""
    cmd: click.Command = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd
