"""mmengine's Runner with fdpose's three changes: safe checkpoint loading, explicit device, ``--init``.

* :meth:`FdposeRunner.load_checkpoint` (used by ``resume`` and ``load_from``) runs inside
  :func:`fdpose.hrnet_finetune.checkpoints.safe_loading`, so mmengine's own checkpoints load
  under torch's ``weights_only=True`` default without a process-wide switch.
* The model goes to ``cfg.fdpose_run.device`` (mmengine would always pick CUDA when present).
* After resume/load, a fresh run loads ``cfg.fdpose_run.init_checkpoint`` with
  :func:`~fdpose.hrnet_finetune.checkpoints.init_from_checkpoint` (after mmengine's weight
  initialisation, which would otherwise overwrite it). A resumed run ignores ``--init``.
* The visualizer (without backends) and the log processor are mmengine's own classes, built
  directly: mmpose's registries for them import ``mmpose.visualization``, which needs torchvision.
  fdpose writes its own history instead of visualizer scalars.
* mmengine's console log goes into python logging (:func:`fdpose.logs.route_mmengine_logs`): its
  warnings at DEBUG, shown by the CLI with ``-v``; stdout stays free for ``--json``.
* The config formats its text once (:class:`_TextCachedConfig`) instead of at every checkpoint.
* Checkpoints are written to a temporary file and renamed (mmengine writes in place, so a kill
  while writing left a truncated file), and :class:`~fdpose.hrnet_finetune.resume.ExactResumeHook`
  is always registered: a resumed run equals the uninterrupted one (see that module).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, Optional

from mmengine.config import Config
from mmengine.runner import LogProcessor, Runner
from mmengine.visualization import Visualizer

from fdpose.hrnet_finetune.checkpoints import InitReport, init_from_checkpoint, safe_loading
from fdpose.hrnet_finetune.resume import ExactResumeHook, write_checkpoint_atomically

log = logging.getLogger(__name__)


class _TextCachedConfig(Config):
    """A Config that formats its text once.

    mmengine embeds ``cfg.pretty_text`` (a yapf pass, 0.2-0.8 s of CPU) in every checkpoint it
    saves, i.e. twice per epoch; the config of a run does not change once the runner is built.
    """

    @property
    def pretty_text(self) -> str:
        cached = self.__dict__.get("_fdpose_pretty_text")
        if cached is None:
            cached = Config.pretty_text.fget(self)  # type: ignore[attr-defined]
            object.__setattr__(self, "_fdpose_pretty_text", cached)
        return cached


class FdposeRunner(Runner):
    """See the module docstring. Build with ``FdposeRunner.from_cfg(cfg)``."""

    init_report: Optional[InitReport] = None
    resumed_from: Optional[str] = None

    @classmethod
    def from_cfg(cls, cfg: Config) -> "FdposeRunner":  # type: ignore[override]
        frozen = _TextCachedConfig(cfg.to_dict(), cfg_text=cfg.text, filename=cfg.filename)
        return super().from_cfg(frozen)  # type: ignore[return-value]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(isinstance(h, ExactResumeHook) for h in self.hooks):
            self.register_hook(ExactResumeHook())

    def save_checkpoint(self, out_dir: str, filename: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # mmengine builds the path from out_dir/filename and writes it in place: give it a temporary name.
        def write(tmp: Path) -> None:
            super(FdposeRunner, self).save_checkpoint(out_dir, tmp.name, *args, **kwargs)

        write_checkpoint_atomically(Path(out_dir) / filename, write)

    def build_logger(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        from fdpose.logs import route_mmengine_logs

        logger = super().build_logger(*args, **kwargs)
        route_mmengine_logs()  # this run's logger and mmengine's global one: console output into python logging
        return logger

    def _run_options(self) -> dict[str, Any]:
        return dict(self.cfg.get("fdpose_run", None) or {})

    def build_visualizer(self, visualizer: Any = None) -> Visualizer:  # type: ignore[override]
        if isinstance(visualizer, Visualizer):
            return visualizer
        return Visualizer.get_instance(name=f"fdpose_{self._experiment_name}", vis_backends=None)

    def build_log_processor(self, log_processor: Any) -> LogProcessor:  # type: ignore[override]
        # mmpose's LOG_PROCESSORS registry also imports mmpose.visualization: build mmengine's class directly.
        if isinstance(log_processor, LogProcessor):
            return log_processor
        options = dict(log_processor or {})
        kind = options.pop("type", "LogProcessor")
        if kind != "LogProcessor":
            raise ValueError(f"fdpose runs use mmengine's LogProcessor, got {kind!r}")
        return LogProcessor(**options)

    def wrap_model(self, model_wrapper_cfg: Optional[dict], model: Any) -> Any:  # type: ignore[override]
        device = self._run_options().get("device")
        if device and not self.distributed:
            return model.to(device)
        return super().wrap_model(model_wrapper_cfg, model)

    def load_checkpoint(self, filename: str, map_location: Any = "cpu", strict: bool = False,
                        revise_keys: list = [(r"^module.", "")]) -> Any:  # noqa: B006 - mmengine's signature
        # mmengine print()s "Loads checkpoint by ..." to stdout here (logger=None): keep stdout for --json.
        with safe_loading(), contextlib.redirect_stdout(sys.stderr):
            return super().load_checkpoint(filename, map_location=map_location, strict=strict, revise_keys=revise_keys)

    def resume(self, filename: str, resume_optimizer: bool = True, resume_param_scheduler: bool = True,
               map_location: Any = "default") -> None:
        if map_location == "default":
            map_location = self._run_options().get("device") or "default"
        super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        self.resumed_from = str(filename)
        log.info("resumed from %s at epoch %d", filename, self.epoch)

    def load_or_resume(self) -> None:
        if self._has_loaded:
            return
        super().load_or_resume()
        init = self._run_options().get("init_checkpoint")
        if init and not self._has_loaded:
            model = self.model.module if hasattr(self.model, "module") else self.model
            self.init_report = init_from_checkpoint(model, init)
            self._has_loaded = True
        elif init:
            log.warning("--init %s ignored: the run resumed from %s", init, self.resumed_from)
