"""Helpers shared by CLI modules: printing results, ``--json`` output and error reporting."""

from __future__ import annotations

import errno
import logging
import sys
from typing import Any, Callable

import click

from fdpose.errors import FdposeError
from fdpose.io import dumps_json

log = logging.getLogger(__name__)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (numpy values allowed)."""
    click.echo(dumps_json(obj), nl=False)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


def os_error_line(err: OSError) -> str:
    """``path: reason`` for an OS-level failure (permission denied, disk full, read-only file system, ...)."""
    reason = err.strerror or str(err) or type(err).__name__
    if err.errno == errno.EFBIG:
        reason += " (a file-size limit, e.g. ulimit -f)"
    paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
    return ": ".join([*paths, " ".join(reason.split())])


def invoke_with_one_line_errors(ctx: click.Context, call: Callable[[], Any]) -> Any:
    """Run a command group's ``invoke``; errors become one ``error: ...`` line on stderr and an exit code.

    The one error handler of the CLI (the root group and groups that may run alone use it):
    :class:`FdposeError` -> its exit code (2 for bad input); ``OSError`` (an output that cannot be
    written, a full disk, a file-size limit) -> exit 1 naming the path; ``MemoryError`` -> exit 2;
    Ctrl-C (``KeyboardInterrupt``) -> exit 130.
    The traceback goes to the debug log (``-v`` shows it).
    """
    try:
        return call()
    except FdposeError as err:
        log.debug("error", exc_info=True)
        click.echo(f"error: {err}", err=True)
        ctx.exit(err.exit_code)
    except OSError as err:
        log.debug("OS error", exc_info=True)
        click.echo(f"error: {os_error_line(err)}", err=True)
        ctx.exit(1)
    except MemoryError:
        click.echo("error: out of memory", err=True)
        ctx.exit(2)
    except KeyboardInterrupt:
        # Ctrl-C: the shell's convention (128 + SIGINT) rather than click's "Aborted!" with 1,
        # so scripts can tell an interrupted run from a failed one; writes are atomic either way
        click.echo("error: interrupted", err=True)
        ctx.exit(130)
