"""Exact ``finetune-hrnet --resume``: a run killed at any moment and resumed equals the uninterrupted run.

mmengine resumes weights, optimizer, LR schedulers and message hub, but not the random streams the
augmentation draws from, and it validates an epoch only after training it: a run killed between an
epoch's checkpoint and its validation never validated that epoch. Three pieces fix it:

* :class:`ExactResumeHook` stores the python ``random``, numpy and torch (CPU and CUDA) generator
  states in every checkpoint (``checkpoint["fdpose_rng"]``) and restores them after a resume. The
  epoch checkpoint is written at the end of the training epoch, *before* its validation, so the
  hook then validates the resumed epoch again: the validation's draws (the data loader takes a
  base seed from torch's generator) happen in the same order as in the uninterrupted run, and the
  best checkpoint is decided for that epoch whether or not the killed run got there.
  The training sampler needs nothing: mmengine seeds it with ``seed + epoch``; data-loader workers
  are seeded with ``seed + worker id`` by mmengine's ``worker_init_fn``.
* :func:`write_checkpoint_atomically` (used by ``FdposeRunner.save_checkpoint``): mmengine writes
  checkpoints in place, so a kill while writing left a truncated ``.pth``.
* :func:`choose_resume_checkpoint`: the newest ``epoch_N.pth`` that loads (a damaged one, e.g.
  from a full disk, is skipped with a warning); none at all is the same refusal as ``train-aqa``.
"""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from fdpose.errors import ConfigError, InputError
from fdpose.hrnet_finetune.config import DATA_DIGEST

log = logging.getLogger(__name__)

RNG_KEY = "fdpose_rng"
_EPOCH_FILE = re.compile(r"^epoch_(\d+)\.pth$")

#: Settings a resumed run may not change (they change the data, the schedule or the random streams).
#: Paths, the device, workers and progress may change.
FIXED_ON_RESUME = ("arch", "epochs", "batch_size", "input_size", "val_share", "seed", "val_interval", "frame_stride",
                   DATA_DIGEST)


def capture_rng_state() -> dict[str, Any]:
    """The generator states augmentation and data loading draw from, as tensors and ints only
    (the checkpoint stays loadable with ``weights_only=True`` and no numpy objects)."""
    np_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Undo :func:`capture_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": int(np_state["pos"])},
                         "has_gauss": int(np_state["has_gauss"]), "gauss": float(np_state["gauss"])})
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _is_validation_epoch(loop: Any, epoch: int) -> bool:
    """Whether mmengine's EpochBasedTrainLoop validates after finishing ``epoch`` (its own rule)."""
    if epoch < 1 or epoch < loop.val_begin:
        return False
    return epoch % loop.val_interval == 0 or epoch == loop.max_epochs


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Save/restore the random streams and re-validate the resumed epoch (module docstring).

    ``FdposeRunner`` registers it on every run at the lowest priority, so its ``before_train``
    runs after the checkpoint hook has read the best score and the history hook has trimmed history.
    """

    priority = "LOWEST"

    def __init__(self) -> None:
        self._pending: Optional[Mapping[str, Any]] = None
        self._resumed = False

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        checkpoint[RNG_KEY] = capture_rng_state()

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        # Only resume() loads full checkpoints through the runner (--init has its own loader).
        self._pending = checkpoint.get(RNG_KEY)
        self._resumed = True

    def before_train(self, runner: Any) -> None:
        if not self._resumed or runner.epoch == 0:
            return
        if self._pending is None:
            log.warning("the resumed checkpoint holds no random-generator state (written by an older fdpose): "
                        "augmentation after the resume differs from an uninterrupted run")
        else:
            restore_rng_state(self._pending)
        self._pending = None
        if runner.val_loop is not None and _is_validation_epoch(runner.train_loop, runner.epoch):
            log.info("validating the resumed epoch %d again", runner.epoch)
            runner.val_loop.run()


def write_checkpoint_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` for a temporary file next to ``path``, fsync it and rename it over ``path``.

    A kill leaves either the previous file or the complete new one (and perhaps a ``.tmp`` file
    that :func:`remove_stale_temporaries` cleans up).
    """
    dst = Path(path)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            # mmengine's write fails without a file name (disk full, ulimit -f): name the checkpoint
            raise OSError(exc.errno, exc.strerror or str(exc), str(dst)) from exc
        raise
    return dst


def remove_stale_temporaries(work_dir: Path) -> None:
    """Delete temporary checkpoint files a killed run left behind."""
    for tmp in work_dir.glob(".*.pth.*.tmp"):
        tmp.unlink(missing_ok=True)


def epoch_checkpoints(work_dir: Path) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every ``epoch_N.pth`` in ``work_dir``, newest first."""
    found = []
    for p in work_dir.glob("epoch_*.pth"):
        m = _EPOCH_FILE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found, reverse=True)


def _check_resumable(checkpoint: Any, path: Path) -> None:
    if not isinstance(checkpoint, Mapping) or not {"meta", "state_dict", "optimizer", "message_hub"} <= set(checkpoint):
        raise InputError("not a complete training checkpoint (meta, state_dict, optimizer, message_hub)", path)


def stored_settings(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The ``TrainSettings`` dict the run that wrote ``checkpoint`` used ({} when not recorded)."""
    text = checkpoint.get("meta", {}).get("cfg")
    if not text:
        return {}
    from mmengine import Config

    try:
        cfg = Config.fromstring(text, file_format=".py")
    except Exception:  # noqa: BLE001 - an unparsable embedded config only disables the check
        return {}
    return dict((cfg.get("fdpose_run", None) or {}).get("settings", {}) or {})


def check_same_settings(stored: Mapping[str, Any], current: Mapping[str, Any], work_dir: Path) -> None:
    """Refuse a resume whose settings differ from the interrupted run's (:data:`FIXED_ON_RESUME`)."""
    changed = [k for k in FIXED_ON_RESUME if k in stored and _norm(stored[k]) != _norm(current.get(k))]
    if changed:
        detail = ", ".join("the labelled data (labels, split or images differ from what the run started on)"
                           if k == DATA_DIGEST else f"{k} {stored[k]!r} -> {current.get(k)!r}" for k in changed)
        raise ConfigError(f"--resume cannot change {detail}; start a new work dir instead", work_dir)


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def choose_resume_checkpoint(work_dir: Path, current_settings: Optional[Mapping[str, Any]] = None) -> Path:
    """The newest ``epoch_N.pth`` of ``work_dir`` that loads as a full training checkpoint.

    Raises :class:`InputError` ("nothing to resume") when there is none, and :class:`ConfigError`
    when ``current_settings`` differ from the stored run's in a :data:`FIXED_ON_RESUME` field.
    """
    from fdpose.hrnet_finetune.checkpoints import torch_load

    candidates = epoch_checkpoints(work_dir)
    if not candidates:
        raise InputError("nothing to resume: no epoch_*.pth in the work dir", work_dir)
    for _, path in candidates:
        try:
            checkpoint = torch_load(path)
            _check_resumable(checkpoint, path)
        except InputError as err:
            log.warning("%s; resuming from an earlier checkpoint", err)
            continue
        if current_settings is not None:
            check_same_settings(stored_settings(checkpoint), current_settings, work_dir)
        return path
    raise InputError(f"nothing to resume: every epoch checkpoint is damaged ({', '.join(p.name for _, p in candidates)})",
                     work_dir)
