"""Checkpoint loading under torch weights_only (allow-list per call) and --init from a COCO 17-joint model."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from fdpose.errors import ConfigError, InputError
from fdpose.hrnet_finetune.checkpoints import init_from_checkpoint, save_slim_checkpoint, torch_load

from hrnet_helpers import build_small_model


class _Sneaky:
    """Pickles as getattr(HistoryBuffer, '__init__'): an attribute outside the allowed statistics."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer

        return (getattr, (HistoryBuffer, "__init__"))


def test_mmengine_style_checkpoint_needs_and_gets_the_allow_list(coco_checkpoint: Path) -> None:
    with pytest.raises(pickle.UnpicklingError):
        torch.load(coco_checkpoint, weights_only=True)  # torch's default refuses numpy and HistoryBuffer
    ckpt = torch_load(coco_checkpoint)
    assert ckpt["meta"]["epoch"] == 210
    np.testing.assert_array_equal(ckpt["meta"]["dataset_meta"]["flip_indices"], np.arange(17))
    assert ckpt["message_hub"]["log_scalars"]["train/loss"].mean() == pytest.approx(0.075)
    # the allow-list is per call: nothing was registered process-wide
    with pytest.raises(pickle.UnpicklingError):
        torch.load(coco_checkpoint, weights_only=True)


def test_disallowed_getattr_and_missing_files_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": {}, "x": _Sneaky()}, bad)
    with pytest.raises(InputError) as err:
        torch_load(bad)
    assert str(err.value).startswith(str(bad)) and "\n" not in str(err.value)
    with pytest.raises(InputError, match="checkpoint not found"):
        torch_load(tmp_path / "nope.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read checkpoint"):
        torch_load(tmp_path / "junk.pth")


def test_coco_head_reinitialised_backbone_kept(coco_checkpoint: Path) -> None:
    coco = torch_load(coco_checkpoint)["state_dict"]
    model = build_small_model(out_channels=16)
    fresh_head = model.head.final_layer.weight.detach().clone()
    report = init_from_checkpoint(model, coco_checkpoint)
    own = model.state_dict()
    backbone = [k for k in own if k.startswith("backbone.")]
    assert backbone and all(torch.equal(own[k], coco[k]) for k in backbone)
    assert torch.equal(model.head.final_layer.weight, fresh_head)  # kept its fresh 16-joint initialisation
    assert model.head.final_layer.weight.shape[0] == 16
    assert sorted(report.reinitialised) == ["head.final_layer.bias", "head.final_layer.weight"]
    assert "17-joint head" in report.message and "re-initialised" in report.message and "backbone kept" in report.message


def test_old_mmpose_names_and_bare_backbones_load(tmp_path: Path) -> None:
    source = build_small_model(out_channels=16)
    with torch.no_grad():
        for p in source.parameters():
            p.add_(0.5)
    sd = source.state_dict()
    old = {k.replace("head.", "keypoint_head.", 1) if k.startswith("head.") else k: v for k, v in sd.items()}
    torch.save({"state_dict": old, "meta": {"mmcv_version": "1.3.8"}}, tmp_path / "old.pth")
    model = build_small_model(out_channels=16)
    report = init_from_checkpoint(model, tmp_path / "old.pth")
    assert not report.reinitialised and all(torch.equal(v, sd[k]) for k, v in model.state_dict().items())
    bare = {k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}
    torch.save(bare, tmp_path / "imagenet.pth")
    model = build_small_model(out_channels=16)
    report = init_from_checkpoint(model, tmp_path / "imagenet.pth")
    assert "backbone only" in report.message
    assert torch.equal(model.backbone.conv1.weight, source.backbone.conv1.weight)


def test_wrong_architecture_is_refused(tmp_path: Path) -> None:
    from fdpose.hrnet_finetune.config import load_arch_config
    from mmpose.registry import MODELS

    cfg = load_arch_config("hrnet-small")
    cfg.model.backbone.extra.stage2.num_channels = (24, 48)
    other = MODELS.build(cfg.model)
    torch.save({"state_dict": other.state_dict()}, tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="does not fit this architecture"):
        init_from_checkpoint(build_small_model(), tmp_path / "other.pth")


def test_slim_checkpoint_loads_with_plain_weights_only(tmp_path: Path) -> None:
    model = build_small_model()
    path = save_slim_checkpoint(tmp_path / "slim.pth", model.state_dict(),
                                {"epoch": 3, "dataset_meta": {"flip_indices": np.arange(16)}, "score": np.float32(0.5)})
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["meta"] == {"epoch": 3, "dataset_meta": {"flip_indices": list(range(16))}, "score": 0.5}
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in ckpt["state_dict"].items())
