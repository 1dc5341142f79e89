"""``fdpose annotate``: prepare LabelMe folders, open labelme, validate labels, count progress."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Iterable, Optional

import click

from fdpose.cli.annotate_tools import convert, review
from fdpose.cli.common import emit_json, json_option
from fdpose.cli.options import finite
from fdpose.errors import DependencyError
from fdpose.progress import progress


def _progress(desc: str, total: Optional[int] = None) -> Any:
    """A wrapper that shows a progress bar (:mod:`fdpose.progress`) over an iterable."""
    def wrap(items: Iterable) -> Iterable:
        return progress(items, desc=desc, total=total, unit="file" if desc == "validate" else "frame")

    return wrap


@click.group("annotate")
def annotate() -> None:
    """Manual MPII-16 labels in LabelMe: init, open, validate, stats, review, convert."""


@annotate.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--frames-from", type=click.Path(exists=True, path_type=Path), metavar="VIDEO_OR_FRAME_DIR",
              help="Extract frames from a video, or copy them from a folder of images, into FOLDER/<name>/.")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Keep every N-th frame (the first, N-th, 2N-th ...).")
@click.option("--name", metavar="NAME", help="Sub-folder for the frames (default: video stem / frame folder name).")
@click.option("--keep-prev", is_flag=True, help="Printed labelme command pre-fills each new frame with the previous labels.")
@json_option
def init_cmd(folder: Path, frames_from: Optional[Path], every: int, name: Optional[str], keep_prev: bool, as_json: bool) -> None:
    """Prepare FOLDER for labelling and print the labelme command to start.

    Writes labels.txt (diver + 16 joints in MPII order), label_flags.yaml (the 'occluded'
    check box on joints) and README.md (the protocol); with --frames-from also the frames.
    """
    from fdpose.annotations.folder import format_command, init_folder, labelme_command

    if frames_from is None and (every != 1 or name is not None):
        raise click.UsageError("--every and --name only apply with --frames-from")
    result = init_folder(folder, frames_from, every, name, progress=_progress("frames") if frames_from else None)
    cmd = labelme_command(folder, keep_prev=keep_prev)
    if as_json:
        emit_json({
            "folder": result.folder,
            "labels_file": result.labels_file,
            "label_flags_file": result.label_flags_file,
            "readme": result.readme,
            "sequence_dir": result.sequence_dir,
            "frames": len(result.frames),
            "labelme_command": cmd,
        })
        return
    click.echo(f"prepared {folder}: {result.labels_file.name}, {result.label_flags_file.name}, {result.readme.name}")
    if result.sequence_dir is not None:
        click.echo(f"{len(result.frames)} frames in {result.sequence_dir} (every {every})")
    click.echo("start labelling with (or run `fdpose annotate open " + str(folder) + "`):")
    click.echo("  " + format_command(cmd))


@annotate.command("open")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--keep-prev", is_flag=True, help="Pre-fill each unlabelled frame with the previous frame's shapes.")
@click.option("--dry-run", is_flag=True, help="Only print the labelme command.")
@click.pass_context
def open_cmd(ctx: click.Context, folder: Path, keep_prev: bool, dry_run: bool) -> None:
    """Open FOLDER in labelme (needs a display) with the project's labels and flags."""
    from fdpose.annotations.folder import check_can_open, check_folder_ready, format_command, labelme_command

    if dry_run:
        check_folder_ready(folder)
        click.echo(format_command(labelme_command(folder, keep_prev=keep_prev)))
        return
    cmd = check_can_open(folder, keep_prev)
    click.echo(format_command(cmd), err=True)
    try:
        rc = subprocess.run(cmd, check=False).returncode
    except OSError as exc:
        raise DependencyError(f"cannot start labelme ({exc.strerror or exc})", cmd[0]) from None
    ctx.exit(rc)


@annotate.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@click.option("--tolerance", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="PX", callback=finite,
              help="How far (pixels) a point or box corner may lie outside the image.")
@click.option("--box-margin", type=click.FloatRange(min=0), default=0.1, show_default=True, metavar="F", callback=finite,
              help="Joints must lie inside the diver box enlarged by this fraction of its size.")
@click.option("--duplicate-px", type=click.FloatRange(min=0), default=1.5, show_default=True, metavar="PX", callback=finite,
              help="Warn when two different joints are at most this far apart.")
@click.option("--require-all-joints", is_flag=True, help="Absent joints are errors (final reviewed labels), not warnings.")
@click.option("--no-sequence", is_flag=True, help="Skip the left/right swap check across consecutive frames.")
@click.option("--max-mb", type=click.FloatRange(min=0, min_open=True), default=64.0, show_default=True, callback=finite, metavar="MB",
              help="Refuse label files larger than this (MB).")
@click.pass_context
def validate_cmd(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, tolerance: float, box_margin: float,
                 duplicate_px: float, require_all_joints: bool, no_sequence: bool, max_mb: float) -> None:
    """Check LabelMe files (PATHS: files or folders) against the labelling protocol.

    One line per problem, `path: shape[i] label: severity: message`, then a summary.
    Exit status 0 when there is no error (warnings allowed), 1 otherwise.
    """
    from fdpose.annotations.validate import ValidateConfig, validate_paths

    cfg = ValidateConfig(tolerance_px=tolerance, box_margin=box_margin, duplicate_px=duplicate_px,
                         require_all_joints=require_all_joints, check_sequences=not no_sequence,
                         max_bytes=int(max_mb * 1024 * 1024))
    report = validate_paths(paths, cfg, progress=_progress("validate"))
    if as_json:
        emit_json(report.to_dict())
    else:
        for problem in report.problems:
            click.echo(problem.line())
        click.echo(report.summary())
    ctx.exit(0 if report.ok else 1)


@annotate.command("stats")
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
def stats_cmd(folders: tuple[Path, ...], as_json: bool) -> None:
    """Count labelled frames per folder (dive/video), joint visibility and diver box sizes."""
    from fdpose.annotations.stats import collect_stats, format_stats

    stats = collect_stats(folders)
    if as_json:
        emit_json(stats.to_dict())
    else:
        click.echo(format_stats(stats), nl=False)


# review (second-annotator comparison) and convert (MPII / COCO export) live in their own module.
annotate.add_command(review)
annotate.add_command(convert)
