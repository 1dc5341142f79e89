"""Process-level runtime choices, one home each: the device, the torchrun rank variables, torch's CPU threads.

* :func:`resolve_device`: ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` (``mps`` where present) checked once,
  with a one-line :class:`~fdpose.errors.ConfigError` when CUDA is asked for and absent.
* :func:`dist_env`: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` as torchrun sets
  them ((0, 1, 0, 1) outside torchrun).
* :func:`choose_threads` / :func:`apply_threads`: torch's intra-op threads. torch starts one
  thread per core; beside another CPU-bound process those threads wait on each other at every
  parallel region (a descheduled thread stalls the rest), so a busy 2-core machine ran training
  tens of times slower instead of about half as fast (issue 13 C). The automatic choice takes the
  cores this process may use (``os.sched_getaffinity``), divided among the processes of this job
  (torchrun's local world, parallel workers), minus the cores other processes keep busy (the larger
  of their CPU time over 0.2 s from /proc/stat and the 1-minute load average), at least 1. It is
  chosen once, at start-up: a competitor that starts later is not seen. ``--threads N`` or ``FDPOSE_THREADS=N`` override it; an ``OMP_NUM_THREADS`` the user
  set is left as torch read it. ``benchmarks/threads.py`` measures the choice idle and busy.

torch is imported only inside the functions that need it.
"""

from __future__ import annotations

import logging
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


def _cpu_jiffies() -> Optional[tuple[int, int]]:
    """(busy, total) jiffies of the whole machine from /proc/stat (None where unreadable)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def others_cpu_use(window: float = 0.2) -> Optional[float]:
    """Cores kept busy by other processes over the next ``window`` seconds (machine busy time from
    /proc/stat minus this process's own), or None where /proc/stat is unreadable."""
    import time

    first, own0, t0 = _cpu_jiffies(), _own_cpu_seconds(), time.monotonic()
    if first is None:
        return None
    time.sleep(window)
    second, own1, elapsed = _cpu_jiffies(), _own_cpu_seconds(), time.monotonic() - t0
    if second is None or second[1] <= first[1] or elapsed <= 0:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = (second[0] - first[0]) / ticks - (own1 - own0)
    return max(0.0, busy / elapsed)


def busy_cores(window: float = 0.2) -> int:
    """Cores other processes keep busy, rounded (half a core counts): the larger of their CPU use
    measured over ``window`` seconds from /proc/stat and the 1-minute load average minus a quarter
    core of background noise. The sample sees what runs now; the load average remembers the last
    minute, so bursty neighbours (test runs that come and go) that a short sample misses still
    count. At start-up the load average does not yet hold this process's own work."""
    use = others_cpu_use(window)
    try:
        load = max(0.0, os.getloadavg()[0] - 0.25)
    except (AttributeError, OSError):
        load = 0.0
    return int(max(use or 0.0, load) + 0.5)


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


def resolve_threads(requested: Optional[int] = None, processes: Optional[int] = None) -> Optional[int]:
    """:func:`choose_threads`, or None when the user set ``OMP_NUM_THREADS`` and neither ``--threads`` nor
    ``FDPOSE_THREADS`` (torch read that variable already: leave it)."""
    explicit = bool(requested) or bool(os.environ.get(THREADS_ENV, "").strip())
    if not explicit and os.environ.get("OMP_NUM_THREADS", "").strip():
        if requested is not None and requested < 0:
            raise ConfigError(f"--threads must be 0 (automatic) or more, got {requested}")
        return None
    return choose_threads(requested, processes)


def apply_threads(requested: Optional[int] = None, processes: Optional[int] = None) -> int:
    """Set torch's intra-op threads to :func:`resolve_threads`; returns the count in effect."""
    import torch

    n = resolve_threads(requested, processes)
    if n is None:
        n = torch.get_num_threads()
        log.debug("torch threads: %d (OMP_NUM_THREADS)", n)
        return n
    if n != torch.get_num_threads():
        torch.set_num_threads(n)
    log.debug("torch threads: %d (%d usable cores)", n, usable_cores())
    return n
