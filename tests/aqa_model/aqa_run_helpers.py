"""Helpers of the AQA training / evaluation / scoring tests: a small FineDiving-format world on
disk, a micro model config file, and a click group holding the AQA commands."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterator

import click
import cv2
import numpy as np
import pytest
import torch
from aqa_helpers import micro_config

from fdpose.aqa_model.config import AQAConfig
from fdpose.finediving import FineDivingAnnotations, FineGrainedRecord, save_annotations
from fdpose.sampling import write_pred_comp

FRAMES = 20  # frames per clip; the micro config samples 16 of them
HEIGHT, WIDTH = 24, 32
TRANSITS = (5, 13)  # last frames of take-off and flight

#: (match, idx) -> (dive number, score); 8 training clips (two dive numbers), 5 test clips of
#: which one has a dive number absent from training.
TRAIN = {("m1", 1): ("107b", 50.0), ("m1", 2): ("107b", 55.5), ("m1", 3): ("405c", 61.0), ("m2", 1): ("405c", 48.0),
         ("m2", 2): ("107b", 70.5), ("m2", 3): ("405c", 66.0), ("m3", 1): ("107b", 58.0), ("m3", 2): ("405c", 52.5)}
TEST = {("m4", 1): ("107b", 63.0), ("m4", 2): ("405c", 57.0), ("m4", 3): ("107b", 45.5), ("m5", 1): ("405c", 68.0),
        ("m5", 2): ("5253b", 75.0)}


def make_world(root: Path) -> Path:
    """Frames, poses (n = 16) and the four annotation pickles under ``root``; returns root."""
    ann = FineDivingAnnotations()
    labels = np.array([1] * (TRANSITS[0] + 1) + [2] * (TRANSITS[1] - TRANSITS[0]) + [3] * (FRAMES - 1 - TRANSITS[1]),
                      np.int64)
    rng = np.random.default_rng(0)
    for key, (dive, score) in {**TRAIN, **TEST}.items():
        ann.fine[key] = FineGrainedRecord(dive, score, 2.0, np.array(TRANSITS, np.int64), labels,
                                          {1: "take-off", 2: "flight", 3: "entry"})
        folder = root / "frames" / key[0] / str(key[1])
        folder.mkdir(parents=True)
        for f in range(FRAMES):
            img = rng.integers(0, 40, (HEIGHT, WIDTH, 3)).astype(np.uint8)
            x = 4 + f  # a bright "diver" moving right; its size follows the score
            size = int(score // 10)
            img[8:8 + size, x:x + 3] = 255
            cv2.imwrite(str(folder / f"{f:05d}.jpg"), img)
        pose = np.zeros((16, 16, 3), np.float32)
        pose[..., 0] = np.arange(16, dtype=np.float32)[None, :] + np.linspace(0, 10, 16)[:, None]
        pose[..., 1] = score / 10.0
        pose[..., 2] = 1.0
        write_pred_comp(root / "poses" / key[0] / f"pred_comp_{key[1]}.npz", pose, n=16)
    ann.train, ann.test = sorted(TRAIN), sorted(TEST)
    save_annotations(root / "annotations", ann)
    return root


def config_file(path: Path, **overrides: object) -> Path:
    """The micro config (tests' ``aqa_helpers.micro_config``) as a JSON config file."""
    cfg: AQAConfig = micro_config(**overrides)
    data = {k: v for k, v in dataclasses.asdict(cfg).items()}
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
    path.write_text(json.dumps({"preset": "tiny", **{k: v for k, v in data.items() if k != "extra"}}))
    return path


def aqa_group() -> click.Group:
    """A root-like group (one-line errors, exit codes) holding the three AQA commands."""
    from fdpose.cli.aqa import eval_aqa, score, train_aqa
    from fdpose.cli.main import FdposeGroup

    @click.group(cls=FdposeGroup)
    def group() -> None:
        """Test root holding the AQA commands."""

    for command in (train_aqa, eval_aqa, score):
        group.add_command(command)
    return group


def world_args(world: Path) -> list[str]:
    return ["--data", str(world / "frames"), "--annotations", str(world / "annotations"),
            "--poses", str(world / "poses")]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Torch on one thread during a test (2 shared cores: more threads oversubscribe), restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
