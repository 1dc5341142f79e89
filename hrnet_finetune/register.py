"""Import this module to register fdpose's mmpose extensions (the configs' ``custom_imports`` do).

Registered into mmpose's registries: ``DiverMpiiDataset`` (DATASETS), ``RandomMotionBlur``
(TRANSFORMS), ``DiverPCKhMetric`` (METRICS) and ``TrainingHistoryHook`` (HOOKS).
"""

from __future__ import annotations

from fdpose.hrnet_finetune import hooks, metric, mmpose_dataset, transforms

__all__ = ["hooks", "metric", "mmpose_dataset", "transforms"]
