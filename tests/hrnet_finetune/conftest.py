"""Fixtures of the HRNet fine-tuning tests: a small synthetic world and one short CPU training run.

The run (small architecture, 64x64 input, 5 epochs on 3 training clips) is shared by every test
that needs a trained checkpoint, so the whole folder stays within about a minute on two cores.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world

from hrnet_helpers import RUN, WORLD, one_torch_thread


@pytest.fixture(scope="session")
def hr_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a 4-clip synthetic world (``labelme/``, ``frames/``)."""
    root = tmp_path_factory.mktemp("hrnet_world") / "w"
    generate_world(SynthConfig(**WORLD), root)
    return root


@pytest.fixture(scope="session")
def hr_tiny_world(hr_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two clips of 12 labelled frames each, copied from ``hr_world`` with the same layout
    (``labelme/`` next to ``frames/``, so the relative imagePath still resolves)."""
    root = tmp_path_factory.mktemp("hrnet_tiny") / "w"
    clips = sorted({p.parent.relative_to(hr_world / "labelme") for p in (hr_world / "labelme").rglob("*.json")})[:2]
    for clip in clips:
        for json_file in sorted((hr_world / "labelme" / clip).glob("*.json"))[:12]:
            dst = root / "labelme" / clip / json_file.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(json_file, dst)
        shutil.copytree(hr_world / "frames" / clip, root / "frames" / clip)
    return root


@pytest.fixture(scope="session")
def coco_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 17-joint (COCO-style) small HRNet checkpoint with random weights, saved the way mmengine does."""
    from hrnet_helpers import save_coco_style_checkpoint

    return save_coco_style_checkpoint(tmp_path_factory.mktemp("coco") / "coco17.pth")


@pytest.fixture(scope="session")
def hr_trained(hr_world: Path, coco_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    """TrainResult of a short run initialised from the COCO checkpoint."""
    from fdpose.hrnet_finetune.config import TrainSettings
    from fdpose.hrnet_finetune.train import train

    work = tmp_path_factory.mktemp("hrnet_run") / "work"
    settings = TrainSettings([hr_world / "labelme"], work, init=coco_checkpoint, seed=0, **RUN)
    with one_torch_thread():
        return train(settings)
