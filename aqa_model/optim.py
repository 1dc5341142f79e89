"""Optimiser parameter groups and learning-rate schedules from an :class:`AQAConfig` (method.md 3.8).

Both official codes train the per-frame RegNet at 0.1 x the base learning rate (``lr_factor``:
one Adam group for ``base_model``) and put its BatchNorms in eval mode every epoch (``fix_bn``:
running statistics frozen, affine weights still trained; that part lives in
:meth:`fdpose.aqa_model.model.HPMCoRe.train`). MCoRe's code steps no scheduler (constant lr
1e-3); HP-MCoRe's steps ``CosineAnnealingLR(T_max=20)`` once per epoch for 201 epochs. The config
fields:

* ``static_lr_factor``: the static encoder's parameters (module prefix ``static_encoder.``) form
  their own Adam group at ``factor x lr``; 1.0 = one group (the former behaviour).
* ``lr_schedule``: ``"cosine"`` = one cosine from lr to ``min_lr`` over the run's epochs, stepped
  per epoch; ``"constant"`` = lr never changes (MCoRe's code); ``"cyclic"`` = HP-MCoRe's code:
  ``CosineAnnealingLR(T_max=lr_cycle_epochs)`` stepped per epoch over the whole run, so the rate
  reaches ``min_lr`` after 20 epochs, is back at lr after 40, and so on.
* ``code_lr``: the learning rate a preset's code trains with, used when ``train-aqa`` is given no
  ``--lr`` (None: 5e-4).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fdpose.aqa_model.config import AQAConfig
from fdpose.errors import ConfigError

#: module-name prefix of the static (per-frame) visual encoder inside HPMCoRe
STATIC_PREFIX = "static_encoder."


def parameter_groups(model: nn.Module, config: AQAConfig, lr: float) -> list[dict[str, Any]]:
    """Adam parameter groups: everything at ``lr``, the static encoder at ``static_lr_factor x lr``.

    Returns one group when the factor is 1 or the model has no static encoder (the order of the
    parameters inside a group is ``model.named_parameters()``'s, so optimiser states line up on resume).
    """
    factor = config.static_lr_factor
    named = list(model.named_parameters())
    static = [p for n, p in named if n.startswith(STATIC_PREFIX)]
    if factor == 1.0 or not static:
        return [{"params": [p for _, p in named], "lr": lr}]
    rest = [p for n, p in named if not n.startswith(STATIC_PREFIX)]
    return [{"params": rest, "lr": lr}, {"params": static, "lr": lr * factor}]


def build_scheduler(optimizer: torch.optim.Optimizer, config: AQAConfig, epochs: int,
                    min_lr: float = 0.0) -> torch.optim.lr_scheduler.LRScheduler:
    """The per-epoch learning-rate schedule ``config.lr_schedule`` names (module docstring)."""
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=min_lr)
    if config.lr_schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _epoch: 1.0)
    if config.lr_schedule == "cyclic":  # past T_max the cosine climbs back: a period of 2 x lr_cycle_epochs
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.lr_cycle_epochs, eta_min=min_lr)
    raise ConfigError(f"unknown lr_schedule {config.lr_schedule!r}")
