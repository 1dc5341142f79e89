"""Architecture configs, run settings and the motion-blur augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import ConfigError
from fdpose.hrnet_finetune.config import (ARCHITECTURES, TrainSettings, build_config, load_arch_config,
                                          parse_input_size, scaled_schedule)
from fdpose.hrnet_finetune.transforms import RandomMotionBlur, motion_blur_kernel


@pytest.mark.parametrize("arch,size,channels", [("hrnet-w32", 256, 32), ("hrnet-w48", 256, 48), ("hrnet-small", 128, 16)])
def test_arch_configs_follow_the_method(arch: str, size: int, channels: int) -> None:
    cfg = load_arch_config(arch)
    assert cfg.codec == dict(type="MSRAHeatmap", input_size=(size, size), heatmap_size=(size // 4, size // 4), sigma=2,
                             unbiased=True)
    assert cfg.model.head.decoder == cfg.codec and cfg.model.head.out_channels == 16
    assert cfg.model.head.in_channels == channels == cfg.model.backbone.extra.stage4.num_channels[0]
    assert cfg.model.test_cfg.flip_test is True
    assert cfg.optim_wrapper.optimizer == dict(type="Adam", lr=5e-4)
    assert cfg.param_scheduler[-1].milestones == [170, 200] and cfg.train_cfg.max_epochs == 210
    steps = {s["type"]: s for s in cfg.train_dataloader.dataset.pipeline}
    assert steps["RandomBBoxTransform"]["rotate_factor"] == 180.0
    assert {"RandomFlip", "RandomHalfBody", "RandomMotionBlur"} <= set(steps)
    assert steps["TopdownAffine"]["input_size"] == (size, size) and steps["GenerateTarget"]["encoder"] == cfg.codec
    assert "init_cfg" not in cfg.model.backbone, "no download path in the configs"
    assert set(ARCHITECTURES) == {"hrnet-w32", "hrnet-w48", "hrnet-small"}


def test_build_config_scales_schedule_and_input(tmp_path: Path) -> None:
    s = TrainSettings([tmp_path], tmp_path / "work", arch="hrnet-w32", epochs=21, batch_size=4, input_size=(192, 256),
                      workers=0)
    cfg = build_config(s, tmp_path / "data", train_frames=40, device="cpu")
    assert cfg.train_cfg.max_epochs == 21
    warm, steps = cfg.param_scheduler
    assert steps["milestones"] == [17, 20] and warm["end"] == 21  # a tenth of 21 epochs x 10 iterations
    assert cfg.codec["input_size"] == (192, 256) and cfg.codec["heatmap_size"] == (48, 64)
    val_affine = [p for p in cfg.val_dataloader.dataset.pipeline if p["type"] == "TopdownAffine"][0]
    assert val_affine["input_size"] == (192, 256)
    assert cfg.train_dataloader.batch_size == 4 and cfg.train_dataloader.dataset.data_root == str(tmp_path / "data")
    assert cfg.fdpose_run["device"] == "cpu"
    assert [s["type"] for s in scaled_schedule(2, 3)] == ["MultiStepLR"]  # 6 iterations: no warm-up


def test_settings_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="multiples of 32"):
        parse_input_size("100x100")
    with pytest.raises(ConfigError, match="256x256"):
        parse_input_size("big")
    assert parse_input_size("192x256") == (192, 256)
    with pytest.raises(ConfigError, match="unknown architecture"):
        TrainSettings([tmp_path], tmp_path, arch="resnet").check()
    with pytest.raises(ConfigError, match="never downloads"):
        TrainSettings([tmp_path], tmp_path, init=tmp_path / "zoo.pth").check()
    with pytest.raises(ConfigError, match="--val-split"):
        TrainSettings([tmp_path], tmp_path, val_share=1.0).check()


def test_motion_blur_kernel_and_transform() -> None:
    k = motion_blur_kernel(7, 30.0)
    assert k.shape == (7, 7) and abs(k.sum() - 1.0) < 1e-5
    assert motion_blur_kernel(6, 0.0).shape == (7, 7)
    horizontal = motion_blur_kernel(5, 0.0)
    assert np.allclose(horizontal[2], 0.2) and np.allclose(np.delete(horizontal, 2, axis=0), 0)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    kpts = rng.uniform(0, 32, (1, 16, 2)).astype(np.float32)
    np.random.seed(0)
    out = RandomMotionBlur(prob=1.0, min_length=5, max_length=5)({"img": img.copy(), "keypoints": kpts.copy()})
    assert out["img"].shape == img.shape and out["img"].dtype == np.uint8
    assert np.abs(out["img"].astype(int) - img).mean() > 10  # noise is smeared
    np.testing.assert_array_equal(out["keypoints"], kpts)
    same = RandomMotionBlur(prob=0.0)({"img": img.copy()})
    np.testing.assert_array_equal(same["img"], img)
    with pytest.raises(ValueError):
        RandomMotionBlur(prob=1.5)
