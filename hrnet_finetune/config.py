"""Run settings and the effective mmengine config of a fine-tuning run.

``ARCHITECTURES`` maps the ``--arch`` names to the config files in ``configs/``.
:func:`build_config` loads one, applies :class:`TrainSettings` (epochs with proportionally
moved LR steps, batch size, input size, data locations, device, seed) and keeps the codec
consistent everywhere it is used (:func:`sync_codec`). The result is what is saved as
``WORK_DIR/config.py`` and embedded in every checkpoint.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from fdpose.errors import ConfigError, InputError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

#: ``--arch`` name -> config file name in ``configs/``.
ARCHITECTURES: dict[str, str] = {
    "hrnet-w32": "hrnet_w32.py",
    "hrnet-w48": "hrnet_w48.py",
    "hrnet-small": "hrnet_small.py",
}

#: The reference schedule of method.md 2.2: 210 epochs, LR x0.1 at 170 and 200.
REFERENCE_EPOCHS = 210
REFERENCE_MILESTONES = (170, 200)
#: Linear warm-up length of the reference config (iterations); shortened for short runs.
REFERENCE_WARMUP_ITERS = 500
#: HRNet-W32/W48 downsample to 1/32 in their lowest branch: inputs must be multiples of this.
INPUT_MULTIPLE = 32


def config_path(arch: str) -> Path:
    """The config file of ``arch`` (a name of :data:`ARCHITECTURES` or a path to a config file)."""
    if arch in ARCHITECTURES:
        return CONFIG_DIR / ARCHITECTURES[arch]
    p = Path(arch)
    if p.suffix == ".py" and p.is_file():
        return p
    raise ConfigError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHITECTURES)} or a config file path")


def parse_input_size(text: str) -> tuple[int, int]:
    """``"256x256"`` (width x height) -> (256, 256); both multiples of 32."""
    parts = text.lower().replace(" ", "").split("x")
    try:
        if len(parts) != 2:
            raise ValueError
        w, h = int(parts[0]), int(parts[1])
    except ValueError:
        raise ConfigError(f"--input-size must look like 256x256 (width x height), got {text!r}") from None
    if w <= 0 or h <= 0 or w % INPUT_MULTIPLE or h % INPUT_MULTIPLE:
        raise ConfigError(f"--input-size {text}: width and height must be positive multiples of {INPUT_MULTIPLE}")
    return w, h


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cpu``, ``cuda``, ``cuda:N`` checked
    (:func:`fdpose.runtime.resolve_device`, the one resolver)."""
    from fdpose.runtime import resolve_device as resolve

    return resolve(device)


@dataclass
class TrainSettings:
    """Everything a fine-tuning run needs (the CLI flags).

    labelme_dirs: LabelMe folders to train on (split by clip unless ``val_dirs`` is given);
    work_dir: output folder; arch: :data:`ARCHITECTURES` name or config path; init: local
    pretrained checkpoint; epochs/batch_size/input_size: None keeps the config's value;
    val_share: share of clips held out for validation (ignored with ``val_dirs``); device:
    auto/cpu/cuda[:N]; workers: data-loader processes; resume: continue the last run in work_dir.
    """

    labelme_dirs: list[Path]
    work_dir: Path
    arch: str = "hrnet-w32"
    init: Optional[Path] = None
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    input_size: Optional[tuple[int, int]] = None
    val_share: float = 0.1
    val_dirs: list[Path] = field(default_factory=list)
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    val_interval: int = 1
    resume: bool = False
    progress: bool = False
    # Keep every n-th labelled frame of each training clip: neighbouring frames of a dive are
    # nearly identical, so a stride buys CPU time (demo, quick runs) at little loss of variety.
    frame_stride: int = 1

    def check(self) -> None:
        """Raise :class:`ConfigError` on values that cannot work."""
        if not self.labelme_dirs:
            raise ConfigError("give at least one LabelMe folder")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not self.val_dirs and not 0.0 < self.val_share < 1.0:
            raise ConfigError(f"--val-split must be between 0 and 1 (a share of clips), got {self.val_share}")
        if self.workers < 0:
            raise ConfigError(f"--workers must be 0 or more, got {self.workers}")
        if self.val_interval < 1:
            raise ConfigError(f"--val-interval must be at least 1, got {self.val_interval}")
        if self.frame_stride < 1:
            raise ConfigError(f"--frame-stride must be at least 1, got {self.frame_stride}")
        if self.init is not None and not Path(self.init).is_file():
            raise ConfigError("--init checkpoint not found (give a local file; fdpose never downloads weights)", self.init)
        config_path(self.arch)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("labelme_dirs", "val_dirs"):
            d[k] = [os.fspath(p) for p in d[k]]
        for k in ("work_dir", "init"):
            d[k] = None if d[k] is None else os.fspath(d[k])
        d["input_size"] = None if self.input_size is None else list(self.input_size)
        return d


def _walk(obj: Any):
    """Every dict inside a config value (depth first)."""
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v)


def sync_codec(cfg: Any, input_size: Optional[tuple[int, int]] = None) -> None:
    """Make ``cfg.codec`` (optionally resized) the codec of the head and of every pipeline step.

    input_size: (width, height) to set; heatmaps are a quarter of it (HRNet's output stride).
    """
    codec = dict(cfg.codec)
    if input_size is not None:
        codec["input_size"] = tuple(input_size)
        codec["heatmap_size"] = (input_size[0] // 4, input_size[1] // 4)
    cfg.codec = codec
    cfg.model.head.decoder = dict(codec)
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        for step in _walk(cfg.get(key, {})):
            if step.get("type") == "TopdownAffine":
                step["input_size"] = tuple(codec["input_size"])
            elif step.get("type") == "GenerateTarget":
                step["encoder"] = dict(codec)


#: Top-level keys a top-down pose config must define (mmpose's model, its heatmap codec, and the data).
REQUIRED_CONFIG_KEYS: tuple[str, ...] = ("model", "codec", "train_dataloader", "val_dataloader")


def _config_line(exc: BaseException, path: str | os.PathLike[str]) -> tuple[Optional[int], str]:
    """(line number, source text) in the config file where ``exc`` arose: a SyntaxError's own line, else the
    last traceback frame inside the file (mmengine executes it); (None, "") when it is not in the file."""
    import linecache
    import traceback

    if isinstance(exc, SyntaxError):
        return exc.lineno, ""
    target = os.path.realpath(os.fspath(path))
    line: Optional[int] = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename) == target:
            line = frame.lineno
    return line, (linecache.getline(target, line).strip() if line else "")


def read_mm_config(path: str | os.PathLike[str], required: tuple[str, ...] = REQUIRED_CONFIG_KEYS) -> Any:
    """``mmengine.Config.fromfile`` with one-line errors: a config that does not parse or evaluate, or lacks
    one of ``required``, is a :class:`ConfigError` naming the file (not a traceback from mmengine)."""
    from mmengine import Config

    try:
        cfg = Config.fromfile(str(path))
    except FileNotFoundError:
        raise InputError("config not found", path) from None
    except Exception as exc:  # noqa: BLE001 - mmengine raises anything the config's Python raises
        line, source = _config_line(exc, path)
        detail = f" (line {line})" if line else ""
        reason = " ".join(str(exc).split()) or (f"at `{source}`" if source else "")
        raise ConfigError(f"not a readable mmengine config{detail}: {type(exc).__name__}: {reason}", path) from None
    missing = [k for k in required if k not in cfg]
    if missing:
        raise ConfigError(f"not a top-down pose config: no {', '.join(missing)}", path)
    return cfg


def load_arch_config(arch: str) -> Any:
    """The mmengine ``Config`` of ``arch`` with the codec synchronised (registers fdpose's modules)."""
    cfg = read_mm_config(config_path(arch))
    sync_codec(cfg)
    return cfg


def scaled_schedule(epochs: int, iters_per_epoch: int) -> list[dict[str, Any]]:
    """Warm-up + step schedule of method.md 2.2 scaled to ``epochs``.

    LR steps at 170/210 and 200/210 of the run (at least epoch 1, distinct when possible); the
    linear warm-up lasts min(500 iterations, a tenth of the run) and is dropped when that is 0.
    """
    milestones = sorted({min(epochs, max(1, round(m * epochs / REFERENCE_EPOCHS))) for m in REFERENCE_MILESTONES})
    warmup = min(REFERENCE_WARMUP_ITERS, (epochs * iters_per_epoch) // 10)
    schedule: list[dict[str, Any]] = []
    if warmup > 0:
        schedule.append(dict(type="LinearLR", begin=0, end=warmup, start_factor=0.001, by_epoch=False))
    schedule.append(dict(type="MultiStepLR", begin=0, end=epochs, milestones=milestones, gamma=0.1, by_epoch=True))
    return schedule


#: Key of the labelled data's digest (:func:`fdpose.hrnet_finetune.data.split_digest`) among the run's
#: stored settings: a resume may not change it.
DATA_DIGEST = "data_digest"


def build_config(settings: TrainSettings, data_root: Path, train_frames: int, device: str,
                 data_digest: Optional[str] = None) -> Any:
    """The effective config of a run (see the module docstring).

    data_root: the folder with ``train/`` and ``val/`` MPII exports; train_frames: training
    instances (for the warm-up length); device: a resolved device string.
    """
    cfg = load_arch_config(settings.arch)
    sync_codec(cfg, settings.input_size)
    epochs = settings.epochs or int(cfg.train_cfg.max_epochs)
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = settings.val_interval
    batch = settings.batch_size or int(cfg.train_dataloader.batch_size)
    iters_per_epoch = max(1, math.ceil(train_frames / batch))
    if settings.epochs is not None:
        cfg.param_scheduler = scaled_schedule(epochs, iters_per_epoch)
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg[key]
        if settings.batch_size is not None:
            loader.batch_size = settings.batch_size
        loader.num_workers = settings.workers
        loader.persistent_workers = False
        loader.dataset.data_root = str(data_root)
    cfg.work_dir = str(settings.work_dir)
    cfg.randomness = dict(seed=settings.seed, deterministic=False)
    cfg.resume = bool(settings.resume)
    cfg.load_from = None
    for hook in cfg.custom_hooks:
        if hook.get("type") == "TrainingHistoryHook":
            hook["progress"] = bool(settings.progress)
    cfg.fdpose_run = dict(
        device=device,
        init_checkpoint=None if settings.init is None else str(Path(settings.init).resolve()),
        settings={**settings.to_dict(), **({} if data_digest is None else {DATA_DIGEST: data_digest})},
    )
    return cfg
