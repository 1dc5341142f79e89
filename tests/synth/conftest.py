"""A small synthetic world shared by the synth tests (3 clips of ~50 frames, rendered once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world

SMALL = dict(videos=3, seed=7, frames=50)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(root, world.json content) of a 3-clip world with videos."""
    root = tmp_path_factory.mktemp("world") / "w"
    world = generate_world(SynthConfig(**SMALL), root)
    return root, world
