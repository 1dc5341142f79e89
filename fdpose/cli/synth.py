"""``fdpose synth``: render a synthetic diving world with exact ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable

import click

from fdpose.cli.common import emit_json, json_option
from fdpose.cli.options import SEED


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--videos", "-n", type=int, default=20, show_default=True, help="Number of clips.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="World seed (same seed, same files).")
@click.option("--frames", type=int, default=100, show_default=True, help="Mean clip length in frames.")
@click.option("--train-share", type=float, default=0.75, show_default=True, help="Share of clips in train_split.pkl.")
@click.option("--detector-miss-rate", type=float, default=0.08, show_default=True,
              help="Base rate at which the simulated detector misses the diver.")
@click.option("--occluder-probability", type=float, default=0.35, show_default=True,
              help="Share of clips where something passes in front of the camera.")
@click.option("--twist-stages", is_flag=True, help="Give twists their own stage (3 transits) like many real twisting records.")
@click.option("--dive-numbers", default="", metavar="LIST",
              help="Comma-separated dive numbers (e.g. 107b,407c,5253b) the world is restricted to, so that "
                   "every dive number gets many clips; default: the whole FineDiving-like table.")
@click.option("--broadcast", is_flag=True,
              help="Broadcast conditions: zoom, cuts, slow-motion replays, walking officials and coaches, people "
                   "in the foreground at the entry, on-screen graphics, false detections on the splash and the "
                   "graphics, a simulated detector calibrated on the real ssd detector (fdpose.synth.config.BROADCAST_PRESET): "
                   "misses per phase, boxes on people, scores. --detector-miss-rate then sets the diver's overall "
                   "miss rate instead of the per-phase ones.")
@click.option("--form-faults", is_flag=True,
              help="Wider in-flight body-position faults (legs apart, bent knees) tied to the diver's quality and a "
                   "diver who lines up for the entry, so more of the score is in the poses (the demo's world; "
                   "fdpose.synth.scoring).")
@click.option("--no-video", is_flag=True, help="Skip the mp4 files (frames are always written).")
@click.option("--workers", "-j", type=int, default=1, show_default=True, help="Worker processes (output is identical).")
@click.option("--overwrite", is_flag=True, help="Replace an existing world in OUT.")
@json_option
def synth(out: Path, videos: int, seed: int, frames: int, train_share: float, detector_miss_rate: float,
          occluder_probability: float, twist_stages: bool, dive_numbers: str, broadcast: bool, form_faults: bool, no_video: bool, workers: int, overwrite: bool,
          as_json: bool) -> None:
    """Render a FineDiving-shaped synthetic world into OUT.

    OUT gets frames/{match}/{idx}/{frame:05d}.jpg, videos/{match}__{idx}.mp4,
    labelme/{match}/{idx}/{frame:05d}.json, gt/{match}/{idx}.json,
    detections/{match}/{idx}.txt (MOT det format, 1-based frames), annotations/ (the four
    FineDiving pickles) and world.json (seed, parameters, scoring recipe, clip list).
    """
    from fdpose.errors import ConfigError
    from fdpose.synth.config import BROADCAST_PRESET, SynthConfig
    from fdpose.synth.world import generate_world

    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    preset = dict(BROADCAST_PRESET) if broadcast else {}
    source = click.get_current_context().get_parameter_source("detector_miss_rate")
    if broadcast and source is not click.core.ParameterSource.DEFAULT:
        preset["detector_miss_overall"] = True  # the given rate over all frames, not the profile's per phase
    cfg = SynthConfig(videos=videos, seed=seed, frames=frames, train_share=train_share,
                      detector_miss_rate=detector_miss_rate, occluder_probability=occluder_probability,
                      twist_stages=twist_stages, write_video=not no_video, form_faults=form_faults,
                      dive_numbers=tuple(n for n in dive_numbers.split(",") if n.strip()), **preset)

    def progress(it: Iterable[Any], total: int) -> Iterable[Any]:
        from fdpose.progress import progress as bar

        return bar(it, total=total, desc="synth clips", unit="clip", leave=True)

    start = time.perf_counter()
    world = generate_world(cfg, out, workers=workers, overwrite=overwrite, progress=progress)
    elapsed = time.perf_counter() - start
    stats = world["statistics"]
    summary = {
        "out": str(out),
        "seed": seed,
        "clips": world["totals"]["clips"],
        "frames": world["totals"]["frames"],
        "labelme_files": world["totals"]["labelme_files"],
        "train": world["totals"]["train"],
        "test": world["totals"]["test"],
        "dive_score": stats["dive_score"],
        "difficulty": stats["difficulty"],
        "clip_length": stats["clip_length"],
        "seconds": round(elapsed, 2),
    }
    if as_json:
        emit_json(summary)
        return
    ds = stats["dive_score"]
    click.echo(f"wrote {summary['clips']} clips ({summary['frames']} frames, {summary['labelme_files']} LabelMe files) "
               f"to {out} in {elapsed:.1f} s")
    click.echo(f"train/test: {summary['train']}/{summary['test']}; dive score mean {ds['mean']:.1f} std {ds['std']:.1f} "
               f"range {ds['min']:.1f}-{ds['max']:.1f}")
