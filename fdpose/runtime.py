"""Process-level runtime choices, one home each: the device, the torchrun rank variables, torch's CPU threads.

* :func:`resolve_device`: ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` (``mps`` where present) checked once,
  with a one-line :class:`~fdpose.errors.ConfigError` when CUDA is asked for and absent.
* :func:`dist_env`: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` as torchrun sets
  them ((0, 1, 0, 1) outside torchrun).
* :func:`choose_threads` / :func:`apply_threads`: torch's intra-op threads. torch starts one
  thread per core; beside another CPU-bound process those threads wait on each other at every
  parallel region (a descheduled thread stalls the rest), so a busy 2-core machine ran training
  tens of times slower instead of about half as fast (issue 13 C). The automatic choice takes the
  cores this process may use (``os.sched_getaffinity``), divided among the torchrun processes of
  this machine, minus the cores other processes keep busy (1-minute load average, rounded up), at
  least 1. ``--threads N`` or ``FDPOSE_THREADS=N`` override it; an ``OMP_NUM_THREADS`` the user
  set is left as torch read it. ``benchmarks/threads.py`` measures the choice idle and busy.

torch is imported only inside the functions that need it.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Optional

from fdpose.errors import ConfigError

log = logging.getLogger(__name__)

THREADS_ENV = "FDPOSE_THREADS"


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cpu``, ``cuda``, ``cuda:N`` (and ``mps`` when
    present) checked; anything else or CUDA without CUDA is a :class:`ConfigError`."""
    import torch

    spec = (device or "auto").lower()
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return spec
    if spec == "cuda" or (spec.startswith("cuda:") and spec[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: CUDA is not available on this machine (use cpu or auto)")
        if spec != "cuda" and int(spec[5:]) >= torch.cuda.device_count():
            raise ConfigError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return spec
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError(f"--device {device}: MPS is not available on this machine (use cpu or auto)")
        return spec
    raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")


@dataclass(frozen=True)
class DistEnv:
    """This process's place in a torchrun job (``world_size == 1``: no torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not an integer") from None


def dist_env() -> DistEnv:
    """The torchrun variables of this process, checked (0 <= RANK < WORLD_SIZE)."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"bad torchrun rank {rank} of world size {world}")
    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    return DistEnv(rank, world, _env_int("LOCAL_RANK", 0), max(1, local_world))


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity; the CPU count where affinity is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def busy_cores() -> int:
    """Cores other processes keep busy: the 1-minute load average, rounded up (0 where unknown).

    The load average lags by about a minute and counts this process once it runs, so it is read
    at start-up, before this process has loaded the machine.
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0
    # 0.25 of slack: an idle machine's background noise (load 0.1-0.2) takes no core away.
    return max(0, math.ceil(load - 0.25))


def choose_threads(requested: Optional[int] = None, processes: Optional[int] = None) -> int:
    """Torch intra-op threads for this process (see the module docstring).

    requested: ``--threads`` (None or 0: automatic); processes: processes of this job sharing the
    machine's cores (default: torchrun's LOCAL_WORLD_SIZE).
    """
    if requested is not None and requested < 0:
        raise ConfigError(f"--threads must be 0 (automatic) or more, got {requested}")
    if requested:
        return int(requested)
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        n = _env_int(THREADS_ENV, 0)
        if n < 1:
            raise ConfigError(f"environment variable {THREADS_ENV}={env!r} must be at least 1")
        return n
    share = usable_cores() // max(1, processes if processes is not None else dist_env().local_world_size)
    return max(1, share - busy_cores())


def apply_threads(requested: Optional[int] = None, processes: Optional[int] = None) -> int:
    """Set torch's intra-op threads to :func:`choose_threads` (unless the user set ``OMP_NUM_THREADS`` and gave
    no ``--threads``/``FDPOSE_THREADS``); returns the count in effect."""
    import torch

    explicit = bool(requested) or bool(os.environ.get(THREADS_ENV, "").strip())
    if not explicit and os.environ.get("OMP_NUM_THREADS", "").strip():
        n = torch.get_num_threads()
        log.debug("torch threads: %d (OMP_NUM_THREADS)", n)
        return n
    n = choose_threads(requested, processes)
    if n != torch.get_num_threads():
        torch.set_num_threads(n)
    log.debug("torch threads: %d (%d usable cores, load %s)", n, usable_cores(), _load_text())
    return n


def _load_text() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "unknown"
