"""``fdpose annotate review`` and ``fdpose annotate convert`` (added to the ``annotate`` group).

Heavy imports stay inside the commands so ``fdpose --help`` stays fast.
"""

from __future__ import annotations

import math

import click

from fdpose.cli.common import emit_json, json_option, stderr_is_tty

FORMATS = ("labelme", "mpii", "coco")


@click.command("convert")
@click.argument("src", type=click.Path(exists=True, path_type=str))
@click.argument("dst", type=click.Path(path_type=str))
@click.option("--to", "to", type=click.Choice(FORMATS), required=True, help="Target format.")
@click.option(
    "--images",
    type=click.Path(exists=True, file_okay=False, path_type=str),
    default=None,
    help="Image root when images are not where the source says: LabelMe SRC: DIR/<sequence>/<image name>; "
    "MPII SRC: mmpose's image folder (default <json dir>/images); COCO SRC: root of file_name (default the JSON's folder).",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@json_option
def convert_cmd(src: str, dst: str, to: str, images: str | None, overwrite: bool, as_json: bool) -> None:
    """Convert manual labels between LabelMe, MPII JSON (mmpose) and COCO keypoints.

    SRC is a LabelMe folder (or file), an MPII JSON or a COCO JSON, detected from its content.
    DST is a folder for --to labelme and a JSON file for --to mpii/coco. Next to an MPII DST go
    images/ (numerically named hard links, as mmpose needs) and image_ids.json (numeric name ->
    original path), so the reverse conversion restores the original names. Non-protocol shapes
    are dropped by MPII/COCO (warning).
    """
    from fdpose.annotations.convert import convert

    report = convert(src, dst, to, images=images, overwrite=overwrite, progress=stderr_is_tty() and not as_json)
    if as_json:
        emit_json(report.to_dict())
        return
    click.echo(f"{report.frames} frame(s): {report.source_format} {report.source} -> {report.target_format} {report.target}")
    if report.images_placed:
        click.echo(f"images linked/copied: {report.images_placed}")
    # report.warnings were already logged (stderr) by the library; --json carries them too.


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


@click.command("review")
@click.argument("first_dir", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.argument("second_dir", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Joint distance limit in head sizes.")
@click.option("--min-box-iou", type=float, default=0.7, show_default=True, help="Box IoU below this needs a third look.")
@click.option("--merge", "merge_dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Write merged LabelMe files (with provenance) and review_report.json into this folder.")
@click.option("--prefer", type=click.Choice(["second", "first"]), default="second", show_default=True,
              help="Whose joint wins in --merge when both annotators placed it.")
@click.option("--overwrite", is_flag=True, help="Replace existing files in the --merge folder.")
@click.option("--all", "show_all", is_flag=True, help="List every frame, not only those needing a third look.")
@json_option
def review_cmd(
    first_dir: str,
    second_dir: str,
    threshold: float,
    min_box_iou: float,
    merge_dir: str | None,
    prefer: str,
    overwrite: bool,
    show_all: bool,
    as_json: bool,
) -> None:
    """Compare a first-round and a second-round LabelMe folder (frames matched by relative path).

    Distances are normalised by the head size |head_top - upper_neck| averaged over both
    annotators (fallback: 1/8 of the box diagonal). A frame needs a third look when a joint is
    beyond --threshold, box IoU < --min-box-iou, left/right joints are swapped, or the other
    folder has no such frame.

    Exit status: 0 when no frame needs a third look, 1 when some do (like diff), 2 on errors.
    """
    from fdpose.annotations.review import ReviewConfig, review_folders, write_merge

    cfg = ReviewConfig(threshold=threshold, min_box_iou=min_box_iou)
    report, first, second = review_folders(first_dir, second_dir, cfg, progress=stderr_is_tty() and not as_json)
    written = write_merge(report, first, second, merge_dir, prefer, overwrite) if merge_dir else []
    if as_json:
        out = report.to_dict()
        out["merged_files"] = len(written)
        emit_json(out)
    else:
        rows = report.frames if show_all else report.flagged
        if rows:
            click.echo(f"{'frame':<32} {'status':<12} {'worst joint':<22} {'box IoU':>7}  reasons")
            for f in rows:
                name, dist = f.worst_joint()
                worst = f"{name} {_fmt(dist)}" if name else "-"
                click.echo(f"{f.id:<32} {f.status:<12} {worst:<22} {_fmt(f.box_iou):>7}  {'; '.join(f.reasons) or 'ok'}")
        s = report.summary()
        click.echo(
            f"{s['frames']} frame(s), {s['matched']} matched, {s['first_only']} first only, {s['second_only']} second only; "
            f"{s['needs_review']} need a third look; joint agreement {_fmt(s['mean_joint_agreement'], '.3f')} "
            f"(within {threshold:g} head), mean box IoU {_fmt(s['mean_box_iou'], '.3f')}"
        )
        if merge_dir:
            click.echo(f"merged {len(written)} file(s) into {merge_dir} (preferring {prefer})")
    if report.flagged:
        click.get_current_context().exit(1)


# Names the ``annotate`` group imports.
review = review_cmd
convert = convert_cmd
