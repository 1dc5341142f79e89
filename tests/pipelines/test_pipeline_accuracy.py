"""Pose accuracy of the whole pipeline with the ``hrnet`` backend on a synthetic world (CPU).

A 16-clip synth world (seed 11, ~60 frames per clip): three clips (every fifth) are held out
and never labelled for the model; hrnet-small (96x96 input, 14 epochs on every second labelled
frame of the other 13 clips, batch 16, seed 0, the demo's settings) is fine-tuned on the rest,
then ``run_batch`` runs the file detector, the tracker and that model on the held-out clips'
frame trees and ``evaluate_run`` scores the outputs against the world's ground truth. Every
estimated joint is kept (interpolation ``min_confidence`` 0): the test measures where the
joints are, not how sure the model is.

Reference: the same run with a randomly initialised checkpoint of the same architecture and
input size, so the floor cannot be reached by an untrained network.

Measured (CPU, torch 2.13, these seeds): PCKh@0.5 0.150 (trained) vs 0.012 (random
initialisation); tracking accuracy 0.958 on these three clips (0.982 / 0.905 / 1.000 per
clip; PCKh 0.208 / 0.111 / 0.127). Before the tracker's short-clip rules the middle clip was
tracked on 0.794 of its frames and the run scored 0.133 (random 0.0095). Floors: PCKh >= 0.08 and at
least three times the random model; tracking >= 0.93. With more labelled clips the same
settings go further: the default ``fdpose demo`` (30 labelled clips) reaches 0.539 on its
never-labelled test clips. Time: 30-55 s on the idle 2-core CPU (training 118 s while
another job ran beside it): marked slow.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("mmpose")
pytest.importorskip("mmcv.ops")

from fdpose.synth.evaluate import evaluate_run  # noqa: E402
from fdpose.pipelines.interpolate import InterpolationConfig  # noqa: E402
from fdpose.pipelines.runner import RunConfig, run_batch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_helpers import tiny_hrnet_checkpoint  # noqa: E402

MEASURED_PCKH = 0.150  # trained model, held-out clips
MEASURED_RANDOM_PCKH = 0.012  # random initialisation, same clips
MEASURED_TRACKING = 0.958
PCKH_FLOOR = 0.08
RANDOM_FACTOR = 3.0
TRACKING_FLOOR = 0.93
INPUT_SIZE = (96, 96)


def _synth(out: Path, *args: str) -> None:
    from fdpose.cli.main import cli

    res = CliRunner().invoke(cli, ["-q", "synth", str(out), *args, "--no-video"])
    assert res.exit_code == 0, res.output


def _run(world: Path, frames: Path, out: Path, checkpoint: Path) -> dict[str, Any]:
    cfg = RunConfig(out=out, detections=world / "detections", pose="hrnet", pose_checkpoint=checkpoint,
                    interpolation=InterpolationConfig(min_confidence=0.0))
    summary = run_batch([frames], cfg, progress=False)
    assert all(o.status == "done" for o in summary.outcomes), summary
    return evaluate_run(world, out)


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    from fdpose.hrnet_finetune.config import TrainSettings
    from fdpose.hrnet_finetune.train import train

    root = tmp_path_factory.mktemp("accuracy")
    world = root / "world"
    _synth(world, "-n", "16", "--seed", "11", "--frames", "60")
    clips = sorted(p for p in (world / "labelme").glob("*/*") if p.is_dir())
    held_out = clips[::5][:3]
    labelled = [c for c in clips if c not in held_out]
    # the held-out clips' frame trees, alone under one root ({root}/{match}/{idx})
    frames = root / "held_out"
    for c in held_out:
        (frames / c.parent.name).mkdir(parents=True, exist_ok=True)
        (frames / c.parent.name / c.name).symlink_to(world / "frames" / c.parent.name / c.name)
    trained = train(TrainSettings(labelled, root / "work", arch="hrnet-small", epochs=14, batch_size=16,
                                  input_size=INPUT_SIZE, val_share=0.2, workers=0, device="cpu", seed=0,
                                  frame_stride=2))
    random_ckpt = tiny_hrnet_checkpoint(root / "random.pth", input_size=INPUT_SIZE)
    return {"trained": _run(world, frames, root / "out_trained", trained.best_checkpoint),
            "random": _run(world, frames, root / "out_random", random_ckpt)}


@pytest.mark.slow
def test_trained_hrnet_pckh_above_floor(scores: dict[str, dict[str, Any]]) -> None:
    res = scores["trained"]
    print("PCKh trained", res["pckh"], "random", scores["random"]["pckh"], "tracking", res["tracking_accuracy"])
    assert len(res["clips"]) == 3
    assert all(c["pckh_joints"] > 300 for c in res["clips"])  # whole dives, 16 joints per frame
    assert res["pckh"] >= PCKH_FLOOR


@pytest.mark.slow
def test_trained_hrnet_beats_random_initialisation(scores: dict[str, dict[str, Any]]) -> None:
    assert scores["trained"]["pckh"] >= RANDOM_FACTOR * scores["random"]["pckh"]


@pytest.mark.slow
def test_tracking_accuracy_of_the_same_run(scores: dict[str, dict[str, Any]]) -> None:
    assert scores["trained"]["tracking_accuracy"] >= TRACKING_FLOOR
    # the tracker does not depend on the pose model
    assert scores["trained"]["tracking_accuracy"] == scores["random"]["tracking_accuracy"]
