"""Tracking on the synthetic world (fdpose synth): simulated detector vs ground-truth diver boxes.

Correct in a frame = the chosen box overlaps the true diver box (IoU >= 0.5) when the
simulated detector found the diver there, and no box otherwise.

Measured with the tracker defaults: 0.995 on these two clips (seed 0; 0.962 before the entry,
confirmation, still-phase hand-over and stillness-after-flight rules). Over 12-clip worlds
(``fdpose synth W -n 12 --seed S --no-video``): 0.993 (seed 0), 0.992 (seed 1), 0.982
(seed 2), 0.982 (seed 3); seeds 7 / 8 / 9 0.993 / 0.947 / 0.944 (0.946 / 0.929 / 0.934
before the whole-clip seed hypotheses of fdpose.pipelines.tracking); untouched seeds 10 / 11
0.973 / 0.988. Earlier versions: 0.980 / 0.964 / 0.937 / 0.913 / 0.836, and 0.69 / 0.78 /
0.75 / 0.75 before the camera vote.
The method.md / issue target >= 0.98 holds on these clips (a normal test now); the floor
test guards against regressions with a margin for synth changes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.pipelines.detectors.file import FileDetector
from fdpose.pipelines.tracking import iou, track_diver


@pytest.fixture(scope="module")
def synth_accuracy(tmp_path_factory: pytest.TempPathFactory) -> float:
    try:
        from fdpose.cli.main import cli
    except ImportError as exc:  # the synth command belongs to another stage of the project
        pytest.skip(f"fdpose synth not available: {exc}")
    out = tmp_path_factory.mktemp("synth") / "world"
    result = CliRunner().invoke(cli, ["synth", str(out), "-n", "2", "--seed", "0", "--no-video", "--json"])
    assert result.exit_code == 0, result.output
    detector = FileDetector(out / "detections")
    ok = total = 0
    for gt_path in sorted((out / "gt").rglob("*.json")):
        gt = json.loads(gt_path.read_text())
        n = gt["num_frames"]
        cands = detector.for_clip(f"{gt['match']}__{gt['idx']}").all_frames(n)
        res = track_diver(cands, image_size=(gt["image_width"], gt["image_height"]))
        for t, frame in enumerate(gt["frames"]):
            diver = frame.get("diver") or {}
            g = np.asarray(diver["box"], dtype=float) if diver.get("box") is not None else None
            detected = g is not None and len(cands[t]) > 0 and iou(g, cands[t].xyxy).max() >= 0.5
            box = res.box(t)
            good = (box is not None and iou(g, box[None])[0] >= 0.5) if detected else box is None
            ok += int(good)
            total += 1
    assert total > 100
    return ok / total


def test_synth_tracking_regression_floor(synth_accuracy: float) -> None:
    assert synth_accuracy >= 0.97


def test_synth_tracking_target(synth_accuracy: float) -> None:
    """The issue's target: >= 98% of frames right (measured 0.995)."""
    assert synth_accuracy >= 0.98
