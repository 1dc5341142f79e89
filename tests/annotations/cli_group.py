"""The real ``fdpose annotate`` group wrapped in the root group's error handling, for CLI tests.

Tests invoke ``annotate_group()`` with ``["convert", ...]`` / ``["review", ...]``; going through the
root group keeps the production behaviour (FdposeError -> one line + exit code).
"""

from __future__ import annotations

import click

from fdpose.cli.main import FdposeGroup, cli


def annotate_group() -> click.Group:
    @click.group(cls=FdposeGroup)
    def root() -> None:
        """Test root: the production ``annotate`` commands under an error-handling group."""

    for name, cmd in cli.commands["annotate"].commands.items():  # type: ignore[attr-defined]
        root.add_command(cmd, name)
    return root
