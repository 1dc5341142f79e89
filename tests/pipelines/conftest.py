"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def ssd():  # type: ignore[no-untyped-def]
    """The offline SSD person detector (issue 11 section 1), skipped without its model file."""
    try:
        from fdpose.pipelines.runner import RunConfig, make_detector

        return make_detector(RunConfig(out=Path("."), detector="ssd"))("real")
    except Exception as exc:  # (module, runtime or model file absent: install.sh not run)
        pytest.skip(f"ssd detector not available: {exc}")


@pytest.fixture
def robustness_bench(benchmark_module):  # type: ignore[no-untyped-def]
    """``benchmarks/real_robustness.py`` and its cached ``ssd`` detector: (module, detector); skipped
    without the installed model."""
    from fdpose.errors import DependencyError

    mod = benchmark_module("real_robustness")
    try:
        return mod, mod.CachedDetector(mod.make_detector("ssd"))
    except DependencyError as err:
        pytest.skip(f"ssd model not installed: {err}")
