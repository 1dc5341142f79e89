"""Shared pytest fixtures: seeded RNG and the real data in ../shared (skipped when absent)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterator

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_root() -> Path | None:
    """The shared/ folder beside the repository (or $FDPOSE_SHARED), None when absent."""
    env = os.environ.get("FDPOSE_SHARED")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared"]:
        if (cand / "data").is_dir():
            return cand
    return None


@pytest.fixture
def shared_data() -> Path:
    """Path of shared/data; the test is skipped when ../shared is not beside the repo."""
    root = shared_root()
    if root is None:
        pytest.skip("../shared/data not available")
    return root / "data"


@pytest.fixture(scope="session")
def benchmark_module() -> Callable[[str], ModuleType]:
    """Loader of a script of ``benchmarks/`` by name (``"tracker_ablation"``), for tests of its helpers."""
    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    return load


class _MkdirOnLoad:
    """Unpickling it runs ``os.mkdir(marker)``: code from a file that a trusting loader would execute."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.mkdir, (str(self.marker),))


@pytest.fixture
def mkdir_payload(tmp_path: Path) -> tuple[object, Path]:
    """(an object to save into a file under test, the folder its unpickling would create): a loader
    that refuses code leaves the folder absent."""
    marker = tmp_path / "ran"
    return _MkdirOnLoad(marker), marker


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _bars_allowed_again() -> Iterator[None]:
    """A CLI call with ``-q`` forbids progress bars for the whole process (what a real run wants); tests run
    many CLI calls in one process, so each test starts with bars allowed again."""
    from fdpose.progress import set_bars

    set_bars(True)
    yield
    set_bars(True)
