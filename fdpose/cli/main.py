"""Root ``fdpose`` group: version, verbosity, and one-line errors instead of tracebacks."""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

import click

from fdpose import __version__
from fdpose.cli.common import invoke_with_one_line_errors


class FdposeGroup(click.Group):
    """Click group whose errors print as one line (:func:`fdpose.cli.common.invoke_with_one_line_errors`)."""

    def invoke(self, ctx: click.Context) -> Any:
        return invoke_with_one_line_errors(ctx, lambda: super(FdposeGroup, self).invoke(ctx))


@click.group(cls=FdposeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="fdpose")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: int, quiet: bool) -> None:
    """fdpose: FineDiving-Pose annotation, pose pipeline and action-quality assessment."""
    from fdpose.logs import LOG_FORMAT, capture_warnings
    from fdpose.progress import set_bars

    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format=LOG_FORMAT, force=True)
    # Third-party libraries are chatty at INFO; keep them at WARNING unless -vv.
    for noisy in ("matplotlib", "PIL", "numexpr"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    # mmengine's console output and library python warnings arrive at DEBUG (fdpose.logs): shown with -v.
    logging.getLogger("mmengine").setLevel(logging.DEBUG if verbose else logging.WARNING)
    capture_warnings()
    set_bars(not quiet)  # -q: warnings and errors only, so no progress bars either


def _register() -> None:
    from fdpose.cli.annotate import annotate
    from fdpose.cli.aqa import eval_aqa, score, train_aqa
    from fdpose.cli.demo import demo
    from fdpose.cli.export import export
    from fdpose.cli.finetune import finetune_hrnet
    from fdpose.cli.synth import synth
    from fdpose.cli.track import track_and_estimate

    cli.add_command(annotate)
    cli.add_command(demo)
    cli.add_command(export)
    cli.add_command(finetune_hrnet)
    cli.add_command(synth)
    cli.add_command(track_and_estimate)
    cli.add_command(train_aqa)
    cli.add_command(eval_aqa)
    cli.add_command(score)


_register()


def main(args: Optional[list[str]] = None, prog_name: str = "fdpose") -> None:
    """Console-script entry point (``args`` default: ``sys.argv[1:]``)."""
    cli(args, prog_name=prog_name)


if __name__ == "__main__":
    main()
