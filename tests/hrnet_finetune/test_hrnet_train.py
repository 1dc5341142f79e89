"""A short CPU fine-tuning run: loss falls, outputs, metrics, reload, inference API, eval and resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fdpose.errors import ConfigError, ValidationError
from fdpose.hrnet_finetune.config import TrainSettings
from fdpose.hrnet_finetune.data import read_folders
from fdpose.hrnet_finetune.evaluate import evaluate_checkpoint
from fdpose.hrnet_finetune.inference import estimate, estimate_many, load_pose_model

from hrnet_helpers import RUN, one_torch_thread


def test_loss_falls_and_outputs_are_written(hr_trained) -> None:
    r = hr_trained
    losses = [h["train_loss"] for h in r.history]
    assert [h["epoch"] for h in r.history] == list(range(1, RUN["epochs"] + 1))
    assert losses[-1] < 0.85 * losses[0], losses
    for p in (r.best_checkpoint, r.config, r.metrics_file, r.curve, r.work_dir / "hint.txt"):
        assert p.is_file(), p
    assert r.curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "--pose hrnet" in r.hint and f"--pose-checkpoint {r.best_checkpoint.resolve()}" in r.hint
    assert f"--pose-config {r.config.resolve()}" in r.hint
    assert "RandomMotionBlur" in r.config.read_text() and "'TopdownAffine', input_size=(\n" not in r.config.read_text()


def test_best_epoch_is_chosen_on_validation_and_metrics_agree(hr_trained) -> None:
    r = hr_trained
    val = [h["val"]["PCKh@0.5"] for h in r.history]
    assert r.history[r.best_epoch - 1]["val"]["PCKh@0.5"] == max(val)
    metrics = json.loads(r.metrics_file.read_text())
    assert metrics["best_epoch"] == r.best_epoch
    # the eval code path on the held-out clip reproduces the training loop's validation number
    assert metrics["val"]["PCKh@0.5"]["mean"] == pytest.approx(max(val), abs=1e-9)
    assert set(metrics["val"]["PCKh@0.5"]["per_joint"]) == {"r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle",
                                                              "pelvis", "thorax", "upper_neck", "head_top", "r_wrist",
                                                              "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist"}
    for key in ("PCKh@0.5", "PCKh@0.1", "PCK@0.2"):
        assert 0.0 <= metrics["val"][key]["mean"] <= 1.0
    assert metrics["val"]["PCK@0.2"]["mean"] > 0.2  # the model learned something in 5 short epochs
    assert metrics["val"]["PCKh@0.1"]["mean"] <= metrics["val"]["PCKh@0.5"]["mean"]
    assert set(metrics["split"]["train"]["clips"]).isdisjoint(metrics["split"]["val"]["clips"])
    assert metrics["init"]["reinitialised"] == ["head.final_layer.bias", "head.final_layer.weight"]
    assert torch.load(r.best_checkpoint, weights_only=True)["meta"]["epoch"] == r.best_epoch  # no allow-list needed


def test_reloaded_checkpoint_predicts_identically(hr_trained, hr_world: Path) -> None:
    frames = read_folders([hr_world / "labelme"])[0][:5]
    import cv2

    image = cv2.imread(str(frames[0].image_file()))
    boxes = np.stack([f.label.box.xyxy[0] for f in frames])
    a = load_pose_model(None, hr_trained.best_checkpoint, "cpu")  # embedded config
    b = load_pose_model(hr_trained.config, hr_trained.best_checkpoint, "cpu")
    pa, pb = estimate(a, image, boxes), estimate(b, image, boxes)
    assert pa.shape == (5, 16, 3) and pa.dtype == np.float32
    np.testing.assert_array_equal(pa, pb)
    batched = estimate(a, image, boxes, batch_size=2)
    np.testing.assert_allclose(batched, pa, atol=1e-4)
    one = estimate(a, image, boxes[:1])
    np.testing.assert_allclose(one[0], pa[0], atol=1e-4)
    no_flip = estimate(a, image, boxes, flip_test=False)
    assert not np.array_equal(no_flip, pa) and a.model.test_cfg["flip_test"] is True
    # joints land around the box they were asked for (crop padded by 1.25)
    x1, y1, x2, y2 = boxes[0]
    w, h = x2 - x1, y2 - y1
    assert (pa[0, :, 0] > x1 - w).all() and (pa[0, :, 0] < x2 + w).all()
    assert (pa[0, :, 1] > y1 - h).all() and (pa[0, :, 1] < y2 + h).all()
    assert estimate(a, image, np.zeros((0, 4))).shape == (0, 16, 3)
    with pytest.raises(ValidationError, match="x2 > x1"):
        estimate(a, image, np.array([[10, 10, 5, 20]]))
    with pytest.raises(ValidationError, match=r"\(H, W, 3\)"):
        estimate(a, image[..., 0], boxes)
    crops = [(image, boxes[i]) for i in range(5)]
    np.testing.assert_allclose(estimate_many(a, crops), pa, atol=1e-4)


def test_eval_reports_metrics(hr_trained, hr_tiny_world: Path) -> None:
    report = evaluate_checkpoint(hr_trained.best_checkpoint, [hr_tiny_world / "labelme"], device="cpu")
    n_frames = len(read_folders([hr_tiny_world / "labelme"])[0])
    assert n_frames == 24
    assert report.scores.frames == n_frames and report.predictions.shape == (n_frames, 16, 3)
    d = report.to_dict()
    assert d["flip_test"] is True and d["frames"] == n_frames
    counts = d["PCKh@0.5"]["count"]
    assert sum(counts.values()) > 10 * n_frames
    assert 0.0 <= d["PCKh@0.5"]["mean"] <= 1.0 and 0.0 <= d["PCK@0.2"]["mean"] <= 1.0


def test_resume_continues_from_the_last_epoch(hr_tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmengine.runner.loops import EpochBasedTrainLoop

    from fdpose.hrnet_finetune.train import train

    run = dict(RUN, epochs=2, val_share=0.5)
    settings = TrainSettings([hr_tiny_world / "labelme"], tmp_path / "work", seed=1, **run)
    original = EpochBasedTrainLoop.run_epoch

    def interrupted(loop: EpochBasedTrainLoop) -> None:
        if loop.epoch >= 1:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during epoch 2
        original(loop)

    monkeypatch.setattr(EpochBasedTrainLoop, "run_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt), one_torch_thread():
        train(settings)
    monkeypatch.setattr(EpochBasedTrainLoop, "run_epoch", original)
    first = json.loads((tmp_path / "work" / "history.json").read_text())
    assert [h["epoch"] for h in first] == [1] and (tmp_path / "work" / "epoch_1.pth").is_file()
    with pytest.raises(ConfigError, match="--resume"):
        train(settings)
    settings.resume = True
    with one_torch_thread():
        result = train(settings)
    assert result.resumed_from is not None and result.resumed_from.endswith("epoch_1.pth")
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert result.history[0] == first[0]  # epoch 1 was not trained again
    assert (tmp_path / "work" / "epoch_2.pth").is_file() and result.best_checkpoint.is_file()
