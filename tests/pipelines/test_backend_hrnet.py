"""The hrnet pose adapter with a randomly initialised small HRNet (no training, no downloads).

Accuracy with a trained checkpoint belongs to the pipeline's synth benchmark; here: the contract.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mmpose")
pytest.importorskip("mmcv.ops")

from fdpose.errors import ValidationError  # noqa: E402
from fdpose.pipelines.pose.base import PoseEstimator  # noqa: E402
from fdpose.pipelines.pose.hrnet import HRNetPoseEstimator  # noqa: E402


@pytest.fixture(scope="module")
def estimator(tmp_path_factory: pytest.TempPathFactory) -> HRNetPoseEstimator:
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import fdpose.hrnet_finetune.register  # noqa: F401
    from fdpose.hrnet_finetune.checkpoints import save_slim_checkpoint
    from fdpose.hrnet_finetune.config import load_arch_config, sync_codec

    cfg = load_arch_config("hrnet-small")
    sync_codec(cfg, (64, 64))
    init_default_scope("mmpose")
    torch.manual_seed(0)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.get("backbone", {}).pop("init_cfg", None)
    path = tmp_path_factory.mktemp("hrnet") / "random_small.pth"
    save_slim_checkpoint(path, MODELS.build(model_cfg).state_dict(), {"cfg": cfg.pretty_text})
    return HRNetPoseEstimator(path, device="cpu", flip_test=True, batch_size=2)


def test_contract(estimator: HRNetPoseEstimator) -> None:
    assert isinstance(estimator, PoseEstimator)
    assert estimator.info.name == "hrnet" and estimator.info.checkpoint.endswith("random_small.pth")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (256, 455, 3), dtype=np.uint8)
    boxes = np.array([[100, 50, 160, 200, 0.9], [300, 40, 300, 120, 0.8], [200, 100, 260, 160, 0.7]])
    poses = estimator.estimate(image, boxes)
    assert poses.shape == (3, 16, 3) and poses.dtype == np.float64
    assert np.isnan(poses[1, :, :2]).all() and (poses[1, :, 2] == 0).all()  # zero-width box: missing
    # a thin adapter: exactly the fine-tune package's inference, as float64 with confidences in [0, 1]
    from fdpose.hrnet_finetune.inference import estimate

    direct = np.asarray(estimate(estimator._pm, image, boxes[[0, 2], :4], flip_test=True), dtype=np.float64)
    for k, d in zip((0, 2), direct):
        p = poses[k]
        assert np.isfinite(p).all() and ((p[:, 2] >= 0) & (p[:, 2] <= 1)).all()
        np.testing.assert_allclose(p[:, :2], d[:, :2], atol=1e-4)
        np.testing.assert_allclose(p[:, 2], np.clip(d[:, 2], 0, 1), atol=1e-6)
    # frames batched together give the same joints as one frame at a time (up to float32 batch
    # arithmetic, which the random model's flat heatmaps amplify to ~0.01 px)
    batch = estimator.estimate_batch([image, image[:, ::-1].copy()], [boxes[:1], boxes[2:]])
    single = [poses[:1], estimator.estimate(image[:, ::-1].copy(), boxes[2:])]
    for b, s in zip(batch, single):
        assert b.shape == s.shape
        np.testing.assert_allclose(b[..., :2], s[..., :2], atol=0.05)
        np.testing.assert_allclose(b[..., 2], s[..., 2], atol=1e-4)
    estimator.reset()
    assert estimator.estimate(image, np.zeros((0, 4))).shape == (0, 16, 3)


def test_bad_input(estimator: HRNetPoseEstimator) -> None:
    with pytest.raises(ValidationError, match="expected an \\(H, W, 3\\) uint8"):
        estimator.estimate(np.zeros((10, 10), np.uint8), np.array([[0, 0, 5, 5]]))
    with pytest.raises(ValidationError, match="expected \\(N, 4\\)"):
        estimator.estimate(np.zeros((10, 10, 3), np.uint8), np.zeros((2, 3)))


def test_estimate_many_matches_estimate(estimator: HRNetPoseEstimator) -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (128, 160, 3), dtype=np.uint8) for _ in range(3)]
    boxes = [np.array([10.0, 20, 60, 110]), np.array([50.0, 5, 90, 100]), np.array([30.0, 30, 30, 90])]
    many = estimator.estimate_many(list(zip(images, boxes)))
    assert many.shape == (3, 16, 3)
    assert np.isnan(many[2, :, :2]).all()  # degenerate box
    for k in (0, 1):
        np.testing.assert_allclose(many[k, :, :2], estimator.estimate(images[k], boxes[k][None])[0, :, :2], atol=0.05)
