"""The settings of a ``train-aqa`` run: what decides its numbers, what the caller asks for, and the
rule that merges the two on ``--resume`` (a resumed run keeps every number-deciding setting; paths
may move, and :mod:`fdpose.aqa_model.data.fingerprint` checks the data behind them did not change).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fdpose.aqa_model.checkpoint import LAST_NAME
from fdpose.aqa_model.config import AQAConfig
from fdpose.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class RunSettings:
    """Everything that decides the numbers of a run (stored in run.json and every checkpoint)."""

    config: dict[str, Any]
    annotations: str
    frames_root: str | None
    poses_root: str | None
    poses_from_gt: str | None
    epochs: int = 200
    batch_size: int = 8
    lr: float = 5e-4
    weight_decay: float = 0.0
    min_lr: float = 0.0
    seed: int = 0
    val_share: float = 0.1
    val_exemplars: int = 10
    use_dive_number: bool = True
    skip_missing: bool = False
    world_size: int = 1
    # "heldout": a val_share of the training split picks the epoch, the test split is scored once at the end.
    # "official": the official code's protocol (method.md 3.8): the whole training split trains and the test
    # split is scored with new random exemplars after the epochs official_test_due names (test_every 0: the
    # code's schedule; N: every N epochs); best-of-evaluations figures are reported labelled "selected on
    # test" beside the last evaluation's.
    protocol: str = "heldout"
    test_every: int = 0
    dataset: str = "finediving"  # annotation format: data.DATASETS (finediving, mtlaqa, mtlaqa-dive)

    def model_config(self) -> AQAConfig:
        return AQAConfig.from_dict(self.config)


#: Settings a resumed run may not change (paths may move; the device / workers may change).
FROZEN_ON_RESUME = ("config", "epochs", "batch_size", "lr", "weight_decay", "min_lr", "seed", "val_share",
                    "val_exemplars", "use_dive_number", "protocol", "test_every", "dataset")

#: ``--protocol`` values (see :class:`RunSettings`).
PROTOCOLS: tuple[str, ...] = ("heldout", "official")

#: HP-MCoRe's code (``tools/runner.py`` at 6bce799) tests after every 0-based epoch from this one on, before it
#: after the even ones only: 70 + 61 = 131 evaluations in its 201 epochs (MCoRe's code tests every epoch).
CODE_TEST_EVERY_EPOCH_FROM = 140


def official_test_due(epoch: int, test_every: int) -> bool:
    """Whether ``--protocol official`` scores the test split after 0-based ``epoch``: ``test_every`` N >= 1
    after epochs N-1, 2N-1, ...; 0 (the default of new runs) on HP-MCoRe's code's schedule
    (:data:`CODE_TEST_EVERY_EPOCH_FROM`). The number of readings matters: the figure reported is the best
    of them."""
    if test_every == 0:
        return epoch >= CODE_TEST_EVERY_EPOCH_FROM or epoch % 2 == 0
    return (epoch + 1) % test_every == 0


@dataclass
class TrainOptions:
    """What the caller asks for. ``None`` hyper-parameters mean: the default for a fresh run,
    the stored value for ``resume`` (an explicit value that differs from the stored one is an error).
    """

    out_dir: Path
    annotations: Path | None = None
    frames_root: Path | None = None
    poses_root: Path | None = None
    poses_from_gt: Path | None = None
    config: AQAConfig | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    seed: int | None = None
    val_share: float | None = None
    val_exemplars: int | None = None
    use_dive_number: bool | None = None
    skip_missing: bool | None = None
    protocol: str | None = None
    test_every: int | None = None
    dataset: str | None = None
    device: str = "auto"
    resume: bool = False
    amp: bool = False
    num_workers: int = 0
    threads: int | None = None  # torch intra-op threads (None: torch's default)
    stop_after: int | None = None  # stop (checkpointed) once this many epochs are done
    test_exemplars: int = 10
    final_test: bool = True
    progress: bool = True


def resolve_settings(opts: TrainOptions, stored: dict[str, Any] | None, world_size: int) -> RunSettings:
    """Fresh run: options over defaults. Resume: stored settings; changed frozen ones are an error."""
    given: dict[str, Any] = {
        "epochs": opts.epochs, "batch_size": opts.batch_size, "lr": opts.lr, "weight_decay": opts.weight_decay,
        "seed": opts.seed, "val_share": opts.val_share, "val_exemplars": opts.val_exemplars,
        "use_dive_number": opts.use_dive_number, "skip_missing": opts.skip_missing,
        "protocol": opts.protocol, "test_every": opts.test_every, "dataset": opts.dataset,
        "config": None if opts.config is None else opts.config.to_dict(),
        "annotations": None if opts.annotations is None else str(opts.annotations),
        "frames_root": None if opts.frames_root is None else str(opts.frames_root),
        "poses_root": None if opts.poses_root is None else str(opts.poses_root),
        "poses_from_gt": None if opts.poses_from_gt is None else str(opts.poses_from_gt),
        "world_size": world_size,
    }
    if stored is None:
        if opts.config is None:
            raise ConfigError("a model config is needed for a new run (--config full|tiny|mcore|FILE)")
        if opts.annotations is None:
            raise ConfigError("--annotations is needed for a new run")
        if given["lr"] is None and opts.config.code_lr is not None:
            given["lr"] = opts.config.code_lr  # the lr of the code the preset reproduces
        if given["epochs"] is None and opts.config.code_epochs is not None:
            given["epochs"] = opts.config.code_epochs  # and its run length, and its test schedule
        if given["test_every"] is None and opts.config.code_test_every is not None:
            given["test_every"] = opts.config.code_test_every
        if opts.protocol == "official":
            if opts.val_share not in (None, 0.0):
                raise ConfigError("--protocol official trains on the whole training split: --val-share must be 0")
            given["val_share"] = 0.0
        settings = RunSettings(**{k: v for k, v in given.items() if v is not None or k in
                                  ("frames_root", "poses_root", "poses_from_gt")})
    else:
        settings = RunSettings(**stored)
        changed = [k for k in FROZEN_ON_RESUME if given.get(k) is not None and given[k] != getattr(settings, k)]
        if changed:
            detail = ", ".join(f"{k} (run {getattr(settings, k)!r}, now {given[k]!r})" if k != "config"
                               else "config" for k in changed)
            raise ConfigError(f"--resume cannot change {detail}; start a new run directory instead",
                              opts.out_dir / LAST_NAME)
        for k in ("annotations", "frames_root", "poses_root", "poses_from_gt", "skip_missing"):
            if given[k] is not None:
                setattr(settings, k, given[k])
        if settings.world_size != world_size:
            log.warning("resuming a %d-process run with %d processes: the data shards change, so the numbers "
                        "will not match an uninterrupted run exactly", settings.world_size, world_size)
            settings.world_size = world_size
    if settings.epochs < 1 or settings.batch_size < 1 or not settings.lr > 0:
        raise ConfigError(f"epochs, batch size and lr must be positive (got {settings.epochs}, "
                          f"{settings.batch_size}, {settings.lr})")
    if not 0.0 <= settings.val_share < 1.0:
        raise ConfigError(f"--val-share must be in [0, 1), got {settings.val_share}")
    if settings.protocol not in PROTOCOLS or settings.test_every < 0:
        raise ConfigError(f"--protocol must be one of {', '.join(PROTOCOLS)} and --test-every >= 1 (0: the code's) "
                          f"(got {settings.protocol!r}, {settings.test_every})")
    settings.model_config()  # validates
    return settings
