"""A click group holding the ``review`` and ``convert`` commands, for CLI tests (not a test module).

It uses the real root group class (FdposeGroup: FdposeError -> one line + exit code) when
``fdpose.cli.main`` imports; while sibling CLI modules are still missing from the tree, an
equivalent local class stands in.
"""

from __future__ import annotations

import click

from fdpose.cli.annotate_tools import convert, review
from fdpose.errors import FdposeError

try:
    from fdpose.cli.main import FdposeGroup as GroupClass
except ImportError:  # another engineer's CLI module not written yet

    class GroupClass(click.Group):  # type: ignore[no-redef]
        def invoke(self, ctx: click.Context):  # type: ignore[override]
            try:
                return super().invoke(ctx)
            except FdposeError as err:
                click.echo(f"error: {err}", err=True)
                ctx.exit(err.exit_code)


def annotate_group() -> click.Group:
    @click.group(cls=GroupClass)
    def annotate() -> None:
        """Test group."""

    annotate.add_command(convert)
    annotate.add_command(review)
    return annotate
