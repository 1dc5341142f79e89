"""``fdpose finetune-hrnet``: fine-tune, evaluate and time the top-down HRNet (method.md 2.2).

``fdpose finetune-hrnet LABELME_DIR... -o WORK_DIR`` trains (the ``train`` subcommand is the
default, so ``fdpose finetune-hrnet train ...`` is the same); ``fdpose finetune-hrnet eval
CHECKPOINT LABELME_DIR...`` scores a checkpoint; ``fdpose finetune-hrnet bench LABELME_DIR...``
measures training images per second. Heavy imports (torch, mmpose) happen inside the commands.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Optional

import click

from fdpose.cli.common import emit_json, invoke_with_one_line_errors, json_option, stderr_is_tty
from fdpose.cli.options import SEED, set_threads, threads_option

_ARCH_HELP = "Architecture: hrnet-w48 (method.md 2.2), hrnet-w32, hrnet-small (CPU tests), or a config file path."


class _TrainByDefault(click.Group):
    """A group whose default subcommand is ``train``; errors print as one line even when used alone.

    click's own hook chooses the subcommand: when the first word left after the group's options
    names none (a LabelMe folder, or ``-o``: the group passes options it does not know on, see
    ``ignore_unknown_options`` below), the whole command line belongs to ``train``.
    """

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands:
            return "train", self.commands["train"], args
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        return invoke_with_one_line_errors(ctx, lambda: super(_TrainByDefault, self).invoke(ctx))


@click.group("finetune-hrnet", cls=_TrainByDefault,
             context_settings={"help_option_names": ["-h", "--help"], "ignore_unknown_options": True})
def finetune_hrnet() -> None:
    """Fine-tune a top-down HRNet (mmpose) on LabelMe MPII-16 labels; evaluate; benchmark.

    \b
    fdpose finetune-hrnet LABELME_DIR... -o WORK_DIR [--arch ...] [--init CKPT] [--epochs N] ...
    fdpose finetune-hrnet eval CHECKPOINT LABELME_DIR... [--json]
    fdpose finetune-hrnet bench LABELME_DIR... [--arch ...] [--steps N]
    """


@finetune_hrnet.command("train")
@click.argument("labelme_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--work-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: best.pth, config.py, metrics.json, training_curve.png, hint.txt.")
@click.option("--arch", default="hrnet-w48", show_default=True, help=_ARCH_HELP)
@click.option("--init", "init", type=click.Path(dir_okay=False, path_type=Path),
              help="Local pretrained mmpose checkpoint (MPII or COCO HRNet; a 17-joint head is re-initialised).")
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs (default: the config's 210; LR steps move proportionally).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Images per batch (default: the config's).")
@click.option("--input-size", help="Network input WIDTHxHEIGHT, multiples of 32 (default: the config's, 256x256).")
@click.option("--val-split", "val_share", type=float, default=0.1, show_default=True,
              help="Share of clips held out for validation (split by clip, never by frame).")
@click.option("--val", "val_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Validation LabelMe folder instead of --val-split (repeatable).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True, help="Data-loading processes (0: in the main process).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the split and of training.")
@click.option("--val-interval", type=click.IntRange(min=1), default=1, show_default=True, help="Validate every N epochs (and at the end).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in WORK_DIR from its last epoch checkpoint.")
@click.option("--frame-stride", type=int, default=1, show_default=True,
              help="Train on every N-th labelled frame of each clip (validation keeps all).")
@threads_option()
@json_option
def train_cmd(labelme_dirs: tuple[Path, ...], work_dir: Path, arch: str, init: Optional[Path], epochs: Optional[int],
              batch_size: Optional[int], input_size: Optional[str], val_share: float, val_dirs: tuple[Path, ...],
              device: str, workers: int, seed: int, val_interval: int, resume: bool, frame_stride: int, threads: Optional[int],
              as_json: bool) -> None:
    """Fine-tune on LABELME_DIR... and write the best checkpoint (chosen on the validation clips) to WORK_DIR."""
    from fdpose.hrnet_finetune.config import TrainSettings, parse_input_size
    from fdpose.hrnet_finetune.train import train

    set_threads(threads)
    settings = TrainSettings(
        labelme_dirs=list(labelme_dirs), work_dir=work_dir, arch=arch, init=init, epochs=epochs, batch_size=batch_size,
        input_size=parse_input_size(input_size) if input_size else None, val_share=val_share, val_dirs=list(val_dirs),
        device=device, workers=workers, seed=seed, val_interval=val_interval, resume=resume,
        progress=stderr_is_tty(), frame_stride=frame_stride,
    )
    # Third-party code print()s now and then (mmengine checkpoint messages): with --json, stdout is the JSON only.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        result = train(settings)
    summary = result.to_dict()
    if as_json:
        emit_json(summary)
        return
    split, val = summary["split"], summary["val"]
    speed = summary["images_per_s"]
    click.echo(f"trained {arch} for {result.epochs} epochs on {split['train']['frames']} frames "
               f"({len(split['train']['clips'])} clips), validated on {split['val']['frames']} frames "
               f"({len(split['val']['clips'])} held-out clips)" + (f"; {speed:.1f} training images/s" if speed else ""))
    if result.init:
        click.echo(f"init: {result.init['message']}")
    click.echo(f"best epoch {result.best_epoch}: PCKh@0.5 {val['PCKh@0.5']:.4f}  PCKh@0.1 {val['PCKh@0.1']:.4f}  "
               f"PCK@0.2 {val['PCK@0.2']:.4f} (validation clips)")
    click.echo(f"wrote {result.best_checkpoint}, {result.config.name}, {result.metrics_file.name}, {result.curve.name}")
    click.echo(f"next: {result.hint}")


def _print_scores(report: dict[str, Any]) -> None:
    from fdpose.skeleton import JOINT_NAMES

    keys = ("PCKh@0.5", "PCKh@0.1", "PCK@0.2")
    click.echo(f"{'joint':<12}" + "".join(f"{k:>10}" for k in keys) + f"{'joints':>8}")

    def fmt(v: Optional[float]) -> str:
        return f"{'-':>10}" if v is None else f"{v:>10.4f}"

    for name in JOINT_NAMES:
        click.echo(f"{name:<12}" + "".join(fmt(report[k]["per_joint"][name]) for k in keys)
                   + f"{report['PCKh@0.5']['count'][name]:>8}")
    click.echo(f"{'mean':<12}" + "".join(fmt(report[k]["mean"]) for k in keys)
               + f"{sum(report['PCKh@0.5']['count'].values()):>8}")


@finetune_hrnet.command("eval")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("labelme_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              help="Config file (default: the one embedded in the checkpoint).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Crops per forward pass.")
@click.option("--no-flip", is_flag=True, help="Disable the flip test.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the metrics JSON here.")
@threads_option()
@json_option
def eval_cmd(checkpoint: Path, labelme_dirs: tuple[Path, ...], config: Optional[Path], device: str, batch_size: int,
             no_flip: bool, out: Optional[Path], threads: Optional[int], as_json: bool) -> None:
    """PCKh@0.5, PCKh@0.1 and PCK@0.2 (box) per joint of CHECKPOINT on the frames of LABELME_DIR...

    Each frame is estimated on its labelled diver box; the head size is |head_top - upper_neck|.
    """
    from fdpose.io import write_json
    from fdpose.hrnet_finetune.evaluate import evaluate_checkpoint

    set_threads(threads)
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        report = evaluate_checkpoint(checkpoint, list(labelme_dirs), config=config, device=device, flip_test=not no_flip,
                                     batch_size=batch_size, progress=stderr_is_tty() and not as_json).to_dict()
    if out is not None:
        write_json(out, report)
    if as_json:
        emit_json(report)
        return
    click.echo(f"{checkpoint} on {report['frames']} frames ({', '.join(map(str, labelme_dirs))}), "
               f"flip test {'on' if report['flip_test'] else 'off'}:")
    _print_scores(report)


@finetune_hrnet.command("bench")
@click.argument("labelme_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--arch", default="hrnet-w32", show_default=True, help=_ARCH_HELP)
@click.option("--steps", type=int, default=3, show_default=True, help="Timed training steps.")
@click.option("--warmup", type=int, default=1, show_default=True, help="Untimed steps first.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Images per step.")
@click.option("--input-size", help="Network input WIDTHxHEIGHT (default: the config's).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@threads_option()
@json_option
def bench_cmd(labelme_dirs: tuple[Path, ...], arch: str, steps: int, warmup: int, batch_size: int,
              input_size: Optional[str], device: str, threads: Optional[int], as_json: bool) -> None:
    """Training images per second of an architecture (data pipeline + forward + backward + Adam)."""
    from fdpose.hrnet_finetune.bench import benchmark_training
    from fdpose.hrnet_finetune.config import parse_input_size

    set_threads(threads)
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        result = benchmark_training(arch, list(labelme_dirs), steps=steps, batch_size=batch_size,
                                    input_size=parse_input_size(input_size) if input_size else None, device=device,
                                    warmup=warmup)
    if as_json:
        emit_json(result.to_dict())
        return
    w, h = result.input_size
    click.echo(f"{arch} {w}x{h}, batch {batch_size}, {result.parameters / 1e6:.2f} M parameters, {result.device} "
               f"({result.threads} threads): {result.images_per_s:.2f} training images/s "
               f"({result.seconds_per_step:.2f} s per step over {steps} steps)")
