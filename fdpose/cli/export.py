"""``fdpose export``: build, check and describe the FineDiving-Pose dataset.

``fdpose export --auto TRACK_OUT [--manual LABELME_DIR]... --annotations FINEDIVING_DIR -o DATASET``
builds the dataset; ``fdpose export check DATASET`` checks an existing one. Heavy imports stay
inside the commands so ``fdpose --help`` stays fast.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Optional

import click

from fdpose.cli.common import emit_json, json_option
from fdpose.cli.options import finite

#: Kept in step with fdpose.pipelines.export (not imported here: it pulls in numpy and the pipeline).
FORMATS = ("fdpose", "hpmcore", "mpii", "coco")
SPLITS = ("all", "train", "test")
DEFAULT_MAX_INTERPOLATED = 0.3


class ExportGroup(click.Group):
    """The ``export`` group: runs the build without a subcommand, ``check`` as a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            return super().parse_args(ctx, args)
        ctx.meta["fdpose_export_argv"] = list(args)  # recorded in the manifest as the command that made it
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[Optional[str], Optional[click.Command], list[str]]:
        if args and args[0] not in self.commands:
            raise click.UsageError(f"unexpected argument {args[0]!r} (subcommand: check; options take one value: "
                                   "repeat --manual for several label folders)", ctx)
        return super().resolve_command(ctx, args)


def _share_text(shares: dict[str, float]) -> str:
    return ", ".join(f"{k} {100 * v:.1f}%" for k, v in shares.items())


def _summary_text(s: dict[str, Any]) -> str:
    per_split = ", ".join(f"{k} {v}" for k, v in s["clips_per_split"].items())
    lines = [f"exported {s['clips']} clip(s) ({per_split}) -> {s['dataset']}  [{', '.join(s['formats'])}]  "
             f"in {s['seconds']:.1f} s",
             f"frames: {s['frames']} (96 per clip), manually labelled: {s['manual_frames']}",
             f"joints: {_share_text(s['provenance_share'])}"]
    for fmt, counts in s["labelled_frames"].items():
        lines.append(f"{fmt}: " + ", ".join(f"{k} {v} labelled frame(s)" for k, v in counts.items()))
    lines.append(f"card: {s['card']}")
    failed = [c["name"] for c in s["check"]["checks"] if not c["ok"] and not c["informational"]]
    lines.append("check: ok" if not failed else f"check: FAILED ({', '.join(failed)}); see fdpose export check "
                                                 f"{s['dataset']}")
    lines += [f"warning: {w}" for w in s["warnings"]]
    lines += [f"dropped: {d['key'][0]}__{d['key'][1]} ({d['split']}): {d['reason']}" for d in s.get("dropped", [])]
    return "\n".join(lines)


@click.group("export", cls=ExportGroup, invoke_without_command=True, no_args_is_help=True)
@click.option("--auto", "track_out", type=click.Path(file_okay=False, path_type=Path), metavar="TRACK_OUT",
              help="Output folder of fdpose track-and-estimate ({match}__{idx}.json per clip).")
@click.option("--manual", multiple=True, type=click.Path(path_type=Path), metavar="LABELME_DIR",
              help="LabelMe folder laid out {match}/{idx}/{frame}.json, repeatable; manual joints win.")
@click.option("--annotations", type=click.Path(path_type=Path), metavar="FINEDIVING_DIR",
              help="FineDiving annotation folder (the four pickles).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), metavar="DATASET",
              help="Dataset folder to write.")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS), default=("fdpose",),
              show_default=True, help="Output format(s), repeatable; the fdpose manifest + arrays are always "
                                      "written (hpmcore: Pose/ tree; mpii, coco: the manually labelled frames).")
@click.option("--split", type=click.Choice(SPLITS), default="all", show_default=True,
              help="FineDiving split(s) that make the dataset.")
@click.option("--allow-missing", is_flag=True, help="Export even when some clips have no track output "
                                                    "(the check then reports them).")
@click.option("--check", "run_check", is_flag=True, help="Print the check report; exit 1 when a check fails.")
@click.option("--max-interpolated", type=click.FloatRange(0, 1), callback=finite, default=DEFAULT_MAX_INTERPOLATED,
              show_default=True, help="Largest share of interpolated joints a clip may have.")
@click.option("--drop-failing", is_flag=True,
              help="Leave out the clips over --max-interpolated instead of failing the check; they are listed "
                   "in the manifest (dropped), the card and the summary.")
@click.option("--min-agreement", type=click.FloatRange(0, 1), callback=finite, default=None,
              help="Fail clips whose automatic joints agree with the manual ones below this PCKh@0.5 "
                   "(default: report only).")
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset in DATASET.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@json_option
@click.pass_context
def export(ctx: click.Context, track_out: Optional[Path], manual: tuple[Path, ...], annotations: Optional[Path],
           out: Optional[Path], formats: tuple[str, ...], split: str, allow_missing: bool, run_check: bool,
           max_interpolated: float, drop_failing: bool, min_agreement: Optional[float], overwrite: bool,
           no_progress: bool, as_json: bool) -> None:
    """Build the FineDiving-Pose dataset: the 96 sampled frames of every clip with a track output,
    manual joints merged in (per-joint provenance), joined with the FineDiving keys, dive
    numbers, scores and difficulties; writes DATASET/manifest.json, clips/, README.md (the card)
    and the chosen formats, then checks the result.

    \b
    fdpose export --auto TRACK_OUT [--manual LABELME_DIR]... --annotations FINEDIVING_DIR -o DATASET
    fdpose export check DATASET
    """
    if ctx.invoked_subcommand is not None:
        return
    for name, value in (("--auto", track_out), ("--annotations", annotations), ("-o / --out", out)):
        if value is None:
            raise click.UsageError(f"missing option {name}", ctx)
    assert track_out is not None and annotations is not None and out is not None
    from fdpose.pipelines.export import export_dataset, format_report

    argv = ctx.meta.get("fdpose_export_argv", [])
    summary = export_dataset(track_out, list(manual), annotations, out, list(formats), split=split,
                             allow_missing=allow_missing, overwrite=overwrite, max_interpolated=max_interpolated,
                             min_agreement=min_agreement, command=shlex.join(["fdpose", "export", *argv]),
                             progress=not no_progress, drop_failing=drop_failing)
    if as_json:
        emit_json(summary.as_dict())
    else:
        click.echo(_summary_text(summary.as_dict()))
        if run_check:
            click.echo(format_report(summary.check))
    if run_check and not summary.check.ok:
        ctx.exit(1)


@export.command("check")
@click.argument("dataset", type=click.Path(exists=True, path_type=Path))
@click.option("--max-interpolated", type=click.FloatRange(0, 1), callback=finite, default=DEFAULT_MAX_INTERPOLATED,
              show_default=True, help="Largest share of interpolated joints a clip may have.")
@click.option("--min-agreement", type=click.FloatRange(0, 1), callback=finite, default=None,
              help="Fail clips whose automatic vs manual PCKh@0.5 is below this (default: report only).")
@click.option("--annotations", type=click.Path(exists=True, path_type=Path), metavar="FINEDIVING_DIR",
              help="Also compare keys, splits, dive numbers and scores with these FineDiving pickles.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@json_option
@click.pass_context
def check(ctx: click.Context, dataset: Path, max_interpolated: float, min_agreement: Optional[float],
          annotations: Optional[Path], no_progress: bool, as_json: bool) -> None:
    """Check a FineDiving-Pose dataset: schema, files, split keys, 96 frames per clip, no NaN,
    interpolated share, Pose/ tree, manual vs automatic agreement. Exit 1 when a check fails."""
    from fdpose.pipelines.export import check_dataset, format_report

    report = check_dataset(dataset, max_interpolated=max_interpolated, min_agreement=min_agreement,
                           annotations=annotations, progress=not no_progress)
    if as_json:
        emit_json(report.as_dict())
    else:
        click.echo(format_report(report))
    if not report.ok:
        ctx.exit(1)
