"""fdpose.runtime: device resolution, torchrun variables and the thread choice (idle vs beside a CPU burner)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from fdpose import runtime
from fdpose.errors import ConfigError


def test_resolve_device() -> None:
    assert runtime.resolve_device("cpu") == "cpu"
    assert runtime.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="--device must be auto, cpu, cuda or cuda:N, got 'gpu'"):
        runtime.resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="--device cuda:1: CUDA is not available"):
            runtime.resolve_device("cuda:1")


def test_dist_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert runtime.dist_env() == runtime.DistEnv(0, 1, 0, 1) and runtime.dist_env().is_main
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    env = runtime.dist_env()
    assert (env.rank, env.world_size, env.local_world_size, env.is_main) == (1, 4, 2, False)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="bad torchrun rank 4 of world size 4"):
        runtime.dist_env()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ConfigError, match="RANK='x' is not an integer"):
        runtime.dist_env()


def test_choose_threads_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    monkeypatch.setattr(runtime, "usable_cores", lambda: 8)
    monkeypatch.setattr(runtime, "busy_cores", lambda window=0.2: 3)
    assert runtime.choose_threads() == 5
    assert runtime.choose_threads(processes=2) == 1  # 8 // 2 = 4 cores each, 3 busy
    assert runtime.choose_threads(3) == 3  # --threads wins
    monkeypatch.setattr(runtime, "busy_cores", lambda window=0.2: 20)
    assert runtime.choose_threads() == 1  # never below one
    monkeypatch.setenv(runtime.THREADS_ENV, "6")
    assert runtime.choose_threads() == 6 and runtime.choose_threads(2) == 2
    monkeypatch.setenv(runtime.THREADS_ENV, "0")
    with pytest.raises(ConfigError, match="FDPOSE_THREADS='0' must be at least 1"):
        runtime.choose_threads()
    with pytest.raises(ConfigError, match="--threads must be 0"):
        runtime.choose_threads(-1)


def test_omp_num_threads_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert runtime.resolve_threads(None) is None and runtime.resolve_threads(0) is None
    monkeypatch.setattr(runtime, "busy_cores", lambda window=0.2: 0)
    assert runtime.resolve_threads(2) == 2


def test_busy_cores_sees_a_cpu_burner() -> None:
    """Beside one process spinning on a core, the measured use of other processes rises by about one core."""
    if runtime.others_cpu_use(0.05) is None:
        pytest.skip("no /proc/stat")
    before = runtime.others_cpu_use(0.3)
    if before is not None and before > runtime.usable_cores() - 1.2:
        pytest.skip(f"the machine is already saturated by other jobs ({before:.2f} cores busy)")
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        during = runtime.others_cpu_use(0.3)
    finally:
        burner.kill()
        burner.wait()
    assert before is not None and during is not None
    # other engineers' jobs may load the machine too: compare the difference, not absolute values
    assert during - before > 0.6, (before, during)


def test_others_cpu_use_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine busy time minus this process's own CPU time, per second of the window."""
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    jiffies = iter([(1000, 5000), (1000 + int(1.5 * ticks * 0.5), 5000 + 2 * ticks)])  # 1.5 busy cores for 0.5 s
    own = iter([10.0, 10.25])  # of which this process used 0.25 s
    clock = iter([100.0, 100.5])
    monkeypatch.setattr(runtime, "_cpu_jiffies", lambda: next(jiffies))
    monkeypatch.setattr(runtime, "_own_cpu_seconds", lambda: next(own))
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(time, "sleep", lambda s: None)
    assert runtime.others_cpu_use(0.5) == pytest.approx((0.75 - 0.25) / 0.5, abs=0.02)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    monkeypatch.setattr(runtime, "others_cpu_use", lambda window=0.2: 1.4)
    assert runtime.busy_cores() == 1
    monkeypatch.setattr(runtime, "others_cpu_use", lambda window=0.2: 0.3)
    assert runtime.busy_cores() == 0
    monkeypatch.setattr(os, "getloadavg", lambda: (1.1, 0.0, 0.0))
    assert runtime.busy_cores() == 1  # a quiet moment in a busy minute still counts the minute
    monkeypatch.setattr(runtime, "others_cpu_use", lambda window=0.2: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.1, 0.0, 0.0))
    assert runtime.busy_cores() == 2  # without /proc/stat: the load average minus a quarter core, rounded
