"""``fdpose track-and-estimate``: detect, track the diver, estimate poses, write per-clip files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import click

from fdpose.cli.common import emit_json, json_option
from fdpose.cli.options import (parse_box, pick_backends, pose_options_from, pose_set_option, threads_option,
                                tracker_from_options, tracker_options)


def _table(summary: dict[str, Any]) -> str:
    c = summary["clips"]
    lines = [f"clips: {c['done']} done, {c['skipped']} skipped, {c['failed']} failed (of {c['total']})"
             + (f"  [rank {summary['rank']} of {summary['world_size']}]" if summary["world_size"] > 1 else ""),
             f"frames: {summary['frames']}   wall: {summary['wall_seconds']:.1f} s",
             f"{'stage':<12}{'seconds':>10}{'frames/s':>12}"]
    for stage, v in summary["stages"].items():
        fps = "-" if v["frames_per_s"] is None else f"{v['frames_per_s']:.1f}"
        lines.append(f"{stage:<12}{v['seconds']:>10.2f}{fps:>12}")
    total = summary["pipeline_frames_per_s"]
    lines.append(f"{'pipeline':<12}{'':>10}{'-' if total is None else f'{total:.1f}':>12}")
    for role, m in summary.get("models", {}).items():
        lines.append(f"{role}: {m.get('name')}" + "".join(f"  {k}={m[k]}" for k in ("version", "checkpoint")
                                                           if m.get(k)))
    lines.append(f"interpolated joints: {100 * summary['interpolated_share']:.2f}%   "
                 f"tracker losses: {summary['tracker_losses']} frames")
    for o in summary["clips_detail"]:
        if o["status"] != "done":
            lines.append(f"  {o['status']}: {o['clip_id']}: {o['reason']}")
    return "\n".join(lines)


@click.command("track-and-estimate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: {clip_id}.json and pose/{match}/pred_comp_{idx}.npz.")
@click.option("--detector", type=click.Choice(["ssd", "file", "mediapipe", "mmdet"]), default=None,
              help="Person detector [default: file when --detections is given, else ssd]: ssd (offline SSD-MobileNetV2, every person), file (precomputed), mediapipe "
                   "(BlazePose's, one person per frame), mmdet (--det-config/--det-checkpoint).")
@click.option("--detections", type=click.Path(file_okay=False, path_type=Path),
              help="--detector file: folder of per-clip MOT/JSON detections ({match}/{idx}.txt or {clip_id}.txt).")
@click.option("--det-config", type=click.Path(dir_okay=False, path_type=Path), help="--detector mmdet: config.")
@click.option("--det-checkpoint", type=click.Path(dir_okay=False, path_type=Path), help="--detector mmdet: weights.")
@click.option("--pose", "pose", type=click.Choice(["hrnet", "mediapipe"]), default=None,
              help="Pose backend [default: hrnet when --pose-checkpoint or --pose-config is given, else mediapipe]: "
                   "mediapipe (BlazePose, offline) or hrnet (--pose-checkpoint, e.g. finetune-hrnet's).")
@click.option("--pose-config", type=click.Path(dir_okay=False, path_type=Path),
              help="--pose hrnet: mmpose config (default: the one embedded in the checkpoint).")
@click.option("--pose-checkpoint", type=click.Path(dir_okay=False, path_type=Path), help="--pose hrnet: weights.")
@pose_set_option
@click.option("--frames", default=96, show_default=True, type=click.IntRange(1, 1024),
              help="Sampled frames per clip (pred_comp; HP-MCoRe reads 96, MTL-AQA layouts 103; at most 1024: more "
                   "samples than a broadcast clip has frames only repeat frames).")
@click.option("--init-box", help="x1,y1,x2,y2 of the diver in the first frame (all clips).")
@tracker_options
@click.option("--resume", is_flag=True, help="Skip clips whose outputs are complete and valid.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Clips processed in parallel.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True)
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1), help="Frames per detector/pose batch.")
@threads_option(", shared among --workers")
@click.option("--flip-test", is_flag=True, help="--pose hrnet: average with the flipped crop.")
@click.option("--save-overlay", is_flag=True, help="Write an overlay video and contact sheet per clip.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@json_option
def track_and_estimate(inputs: tuple[Path, ...], out: Path, detector: Optional[str], detections: Optional[Path],
                       det_config: Optional[Path], det_checkpoint: Optional[Path], pose: Optional[str],
                       pose_config: Optional[Path], pose_checkpoint: Optional[Path], pose_set: tuple[str, ...],
                       frames: int,
                       init_box: Optional[str], tracker_preset: str, tracker_file: Optional[Path],
                       tracker_set: tuple[str, ...], resume: bool, workers: int, device: str, batch_size: int,
                       threads: Optional[int], flip_test: bool, save_overlay: bool, no_progress: bool, as_json: bool) -> None:
    """Track the diver and estimate 16 joints in every clip of INPUT (videos, folders of videos,
    or FineDiving frame trees {root}/{match}/{idx}/*.jpg).

    Writes OUT/{clip_id}.json per clip and OUT/pose/{match}/pred_comp_{idx}.npz (96, 16, 3)
    for HP-MCoRe. Under torchrun each rank takes clips i with i % WORLD_SIZE == RANK.
    Exit code 1 when a clip failed (the others are still processed).
    """
    from fdpose.pipelines.runner import RunConfig, run_batch

    detector, pose = pick_backends(detector, detections, pose, pose_checkpoint, pose_config)
    from fdpose.runtime import dist_env, resolve_threads

    cfg = RunConfig(out=out, detector=detector, detections=detections, det_config=det_config,
                    det_checkpoint=det_checkpoint, pose=pose, pose_config=pose_config,
                    pose_checkpoint=pose_checkpoint, frames=frames, init_box=parse_box(init_box), resume=resume,
                    workers=workers, device=device, save_overlay=save_overlay, batch_size=batch_size,
                    flip_test=flip_test, tracker=tracker_from_options(tracker_preset, tracker_file, tracker_set),
                    pose_options=pose_options_from(pose, pose_set),
                    threads=resolve_threads(threads, processes=max(workers, 1) * dist_env().local_world_size))
    summary = run_batch(list(inputs), cfg, progress=not no_progress).to_dict()
    if as_json:
        emit_json(summary)
    else:
        click.echo(_table(summary))
    if summary["clips"]["failed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    # ``python -m fdpose.cli.track ...`` (also under torchrun): the command inside the root group, so
    # errors print as one line. Imported only when run as a script: fdpose.cli.main imports this module.
    import sys

    from fdpose.cli.main import main

    main(["track-and-estimate", *sys.argv[1:]])
