"""What ``fdpose demo`` runs: the sizes of each step for the default and the ``--quick`` run.

The demo is the whole mission on the synthetic world, no download: synth clips -> validate
their LabelMe labels -> fine-tune a small HRNet on the training clips' labels ->
track-and-estimate every clip with the simulated detector -> export FineDiving-Pose ->
train the ``tiny`` AQA model -> evaluate it on the test split.

Who sees which labels (so the numbers mean something):

* The synth world's FineDiving split decides everything: its *training* clips are the
  "annotated" clips. Their LabelMe labels train the HRNet (a share held out by clip for
  model selection) and are the manual joints of the export (manual wins).
* The *test* clips are never labelled for any model: their poses come only from the
  pipeline (fine-tuned HRNet on the tracked diver box), so PCKh@0.5 on them is a held-out
  figure, and the AQA test SRCC is measured on automatically estimated poses.

Budgets: the default run is sized for about 10 minutes on a 2-core CPU, ``--quick`` for a few
minutes (the README's first command, run by CI; measured wall times in docs/demo_aqa.md), reported
per step in the summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

from fdpose.errors import ConfigError


@dataclass(frozen=True)
class DemoPlan:
    """Sizes of every demo step (see the module docstring)."""

    name: str
    seed: int = 0
    # synth world
    clips: int = 40
    frames: int = 80  # mean clip length
    dive_numbers: tuple[str, ...] = ("107b", "205b", "405b")  # few dive numbers: many same-dive exemplars
    train_share: float = 0.75  # the world's FineDiving train split; the rest are the test dives
    # synth form_faults: in-flight body-position faults a pose can show carry more of the judges' score
    # (fdpose.synth.scoring; why the quick plan needs it: docs/demo_aqa.md)
    form_faults: bool = False
    # export --drop-failing: clips over the export check's interpolated-joints limit are left out of
    # the dataset (and of AQA training and testing) and reported, instead of stopping the demo
    drop_failing: bool = False
    # HRNet fine-tuning (hrnet-small, CPU)
    hrnet_epochs: int = 12
    # 96x96 (heatmaps 24x24): 64x64 loses much of the validation PCKh, 128x128 gains nothing for
    # far more time (figures: docs/demo_aqa.md, "The plan's sizes").
    hrnet_input: tuple[int, int] = (96, 96)
    hrnet_batch: int = 16
    hrnet_frame_stride: int = 2
    hrnet_val_share: float = 0.2
    # at most this many labelled training clips fine-tune the HRNet (None: all): more clips for the
    # AQA model without a longer fine-tuning step
    hrnet_clips: Optional[int] = None
    # AQA (tiny preset: the HSE-only small model, see fdpose.aqa_model.config)
    aqa_config: str = "tiny"
    aqa_epochs: int = 24
    aqa_batch: int = 4
    # No validation split: with a few dozen clips, model selection on a handful of validation
    # clips picks noise; the last epoch is kept.
    aqa_val_share: float = 0.0
    aqa_exemplars: int = 10
    # torch threads: part of the plan because the figures depend on it (reductions split differently);
    # chosen by fdpose.runtime when --threads is not given (2 on an idle 2-core machine).
    threads: int = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = DemoPlan(name="default", clips=40, frames=80, hrnet_epochs=14, hrnet_frame_stride=2)
# The quick plan (issue 13 C; figures and runs in docs/demo_aqa.md): 96 clips, half of them test dives, so
# the AQA figure rests on ~48 dives instead of 6; a form_faults world, whose judges' scores are carried by
# what poses show (the default world's largest penalties are set at water contact and in the splash);
# the HRNet fine-tuned on every training clip (on 18 of them the test PCKh was 0.18 and the AQA model
# learned nothing from the estimated poses); export --drop-failing, because one to three short,
# occluded test clips of such worlds cross the export check's 30% interpolated-joints limit; and 80 AQA
# epochs (on that world 40 epochs left the paired gain interval touching zero, 80 did not).
QUICK = DemoPlan(name="quick", clips=96, frames=60, train_share=0.5, hrnet_epochs=14, hrnet_frame_stride=2,
                 aqa_epochs=80, form_faults=True, drop_failing=True)
PLANS: dict[str, DemoPlan] = {"default": DEFAULT, "quick": QUICK}


def plan_for(quick: bool, seed: int = 0, threads: int | None = None) -> DemoPlan:
    """The quick or default plan with the given seed and torch thread count (None: chosen for this
    machine's free cores, :func:`fdpose.runtime.choose_threads`)."""
    import dataclasses

    from fdpose.runtime import choose_threads

    base = QUICK if quick else DEFAULT
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    return dataclasses.replace(base, seed=seed, threads=threads or choose_threads())
