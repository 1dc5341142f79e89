"""``fdpose demo``: synth -> validate -> fine-tune HRNet -> track-and-estimate -> export -> AQA."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from fdpose.cli.common import emit_json, json_option
from fdpose.cli.options import SEED, threads_option


@click.command("demo")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Demo folder: world/, hrnet/, track/, dataset/, aqa/, report.md, summary.json.")
@click.option("--quick", is_flag=True, help="Smaller world and shorter training (under 3 minutes on 2 CPU cores).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the world and of every training.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@threads_option("; a resumed demo keeps its count; the figures depend on it")
@click.option("--resume", is_flag=True, help="Continue an interrupted demo in OUT (finished steps are kept).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in OUT.")
@json_option
def demo(out: Path, quick: bool, seed: int, device: str, threads: Optional[int], resume: bool, overwrite: bool,
         as_json: bool) -> None:
    """Run the whole mission on the synthetic world, no download: synth clips, validate their
    LabelMe labels, fine-tune a small HRNet on the training clips' labels, track-and-estimate
    every clip with the simulated detector, export FineDiving-Pose, train the tiny AQA model
    and evaluate it on the test clips. Prints one summary table and writes OUT/report.md.
    """
    from fdpose.demo.plan import plan_for
    from fdpose.demo.report import STEP_TITLES, summary_table
    from fdpose.demo.run import prepare_out, run_demo, stored_threads
    from fdpose.demo.steps import DemoContext

    threads = threads or None  # 0: automatic, as absent
    if threads is None and resume:
        threads = stored_threads(out)
    plan = plan_for(quick, seed, threads)
    prepare_out(out, resume, overwrite)
    command = "fdpose demo " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "fdpose demo"
    ctx = DemoContext(out=out, plan=plan, device=device, progress=sys.stderr.isatty(), command=command)

    def on_step(name: str, event: str) -> None:
        if event != "done":
            click.echo(f"[demo] {STEP_TITLES.get(name, name)}: {'kept (resume)' if event == 'skipped' else '...'}",
                       err=True)

    result = run_demo(ctx, resume=resume, on_step=on_step)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(summary_table(result))
    click.echo(f"report: {result.report}")
