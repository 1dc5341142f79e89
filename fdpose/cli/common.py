"""Helpers shared by CLI modules: printing results, ``--json`` output and error reporting."""

from __future__ import annotations

import sys
from typing import Any

import click

from fdpose.io import dumps_json

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (numpy values allowed)."""
    click.echo(dumps_json(obj), nl=False)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
