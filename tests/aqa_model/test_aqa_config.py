"""Model config: presets, JSON/YAML round trips, file overrides, clear errors."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import load_config, preset, save_config
from fdpose.errors import ConfigError, InputError


def test_presets() -> None:
    full, tiny, mcore = preset("full"), preset("tiny"), preset("mcore")
    assert full.clip_starts() == [0, 10, 20, 30, 40, 50, 60, 70, 80]
    assert (full.num_stages, full.lambda_contrastive, full.temperature) == (3, 10.0, 0.5)
    assert full.resnet_layers == (3, 4, 6, 3) and full.backbone == "i3d"
    assert tiny.frame_size == 32 and tiny.d_model < full.d_model
    # tiny = "HSE alone" (what learns on CPU budgets); its video settings apply when DVE/SVE are switched on
    assert (tiny.use_dve, tiny.use_sve, tiny.use_hse) == (False, False, True) and tiny.needs_pose
    assert (tiny.video_crop, tiny.fused_pose_values, tiny.segmentation_input) == ("diver", True, "all")
    assert (full.video_crop, full.fused_pose_values, full.segmentation_input) == ("frame", False, "motion")
    assert (mcore.use_dve, mcore.use_sve, mcore.use_hse, mcore.fusion) == (False, True, False, "none")
    assert (mcore.static_encoder, mcore.static_dim_out, mcore.d_model) == ("regnet_gsm", 368, 368)


def test_full_is_an_alias_of_paper(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    paper = load_config("paper")
    with caplog.at_level(logging.INFO, logger="fdpose.aqa_model.presets"):
        full = load_config("full")
    assert "alias of 'paper'" in caplog.text
    assert (paper.name, full.name) == ("paper", "full")
    assert dataclasses.replace(full, name="paper") == paper  # every other field identical
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"preset": "paper", "num_stages": 2}))
    assert load_config(path).num_stages == 2 and load_config(path).name == "paper"


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    cfg = preset("tiny")
    path = save_config(cfg, tmp_path / f"cfg{suffix}")
    assert load_config(path) == cfg  # every field, tuples restored


def test_file_overrides_preset(tmp_path: Path) -> None:
    path = tmp_path / "ablation.json"
    path.write_text(json.dumps({"preset": "tiny", "num_stages": 2, "fusion": "dot", "edgeconv": False}))
    cfg = load_config(path)
    assert (cfg.num_stages, cfg.fusion, cfg.edgeconv) == (2, "dot", False)
    assert cfg.d_model == preset("tiny").d_model  # untouched fields keep the preset's values
    yaml_path = tmp_path / "a.yaml"
    yaml_path.write_text("preset: mcore\ntemperature: 0.1\nskeletal_channels: [8, 8]\n")
    cfg = load_config(yaml_path)
    assert cfg.static_encoder == "regnet_gsm" and cfg.temperature == 0.1 and cfg.skeletal_channels == (8, 8)


def test_config_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"preset": "tiny", "nm_stages": 2}))
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert str(bad) in str(err.value) and "nm_stages" in str(err.value)
    bad.write_text(json.dumps({"num_stages": 5}))
    with pytest.raises(ConfigError, match="num_stages must be 1-3"):
        load_config(bad)
    bad.write_text(json.dumps({"segmentation_head": "lstm"}))
    with pytest.raises(ConfigError, match="segmentation_head must be one of bigru, fc, tcn"):
        load_config(bad)
    with pytest.raises(InputError, match="no such config file"):
        load_config(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="drop the pose stream"):
        AQAConfig(fusion="none").validate()
    with pytest.raises(ConfigError, match="at least one"):
        AQAConfig(use_dve=False, use_sve=False, use_hse=False).validate()


def test_mtl_aqa_input_layout(tmp_path) -> None:
    """MTL-AQA's input: 103 frames, 10 overlapping 16-frame segments, the last flush with the end."""
    import json

    import torch

    from fdpose.aqa_model.presets import MTL_AQA_CLIP_STARTS, load_config, mtl_aqa_input, preset
    from fdpose.aqa_model.encoders.i3d import DynamicVisualEncoder

    path = tmp_path / "mtl.json"
    path.write_text(json.dumps({"preset": "full", "input_layout": "mtl_aqa"}))
    cfg = load_config(path)
    assert cfg.num_frames == 103 and cfg.clip_len == 16
    assert cfg.clip_starts() == [0, 10, 20, 30, 40, 50, 60, 70, 80, 87] == list(MTL_AQA_CLIP_STARTS)
    assert cfg.clip_starts()[-1] + cfg.clip_len == cfg.num_frames
    assert preset("full").clip_starts() == list(range(0, 81, 10))  # FineDiving: 9 clips of 96 frames
    # the I3D encoder cuts exactly those segments and spreads them back over 103 frames
    small = mtl_aqa_input(preset("full"))
    enc = DynamicVisualEncoder(small.num_frames, small.clip_len, small.clip_stride, width=0.125, mixed_layers=1,
                               clip_starts=small.clip_starts())
    assert enc.clip_starts == list(MTL_AQA_CLIP_STARTS)
    torch.manual_seed(0)
    out = enc(torch.randn(1, 103, 3, 32, 32))
    assert out.shape == (1, 103, enc.out_dim) and torch.isfinite(out).all()
    assert torch.allclose(enc.frame_weights.sum(dim=1), torch.ones(103))
    with pytest.raises(ValueError, match="103 frames"):
        enc(torch.randn(1, 96, 3, 32, 32))


def test_explicit_clip_starts_are_checked(tmp_path) -> None:
    import json

    from fdpose.aqa_model.presets import load_config

    for bad in ([0, 90], [10, 0], [-1, 10]):
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"preset": "full", "clip_starts_explicit": bad}))
        with pytest.raises(ConfigError, match="clip_starts_explicit"):
            load_config(path)
    path = tmp_path / "layout.json"
    path.write_text(json.dumps({"preset": "full", "input_layout": "kinetics"}))
    with pytest.raises(ConfigError, match="input_layout"):
        load_config(path)


def test_pretrained_presets_refuse_random_visual_encoders(tmp_path: Path) -> None:
    from aqa_run_helpers import aqa_group
    from click.testing import CliRunner

    from fdpose.aqa_model.presets import check_pretrained, random_init_encoders

    paper = preset("paper")
    assert random_init_encoders(paper) == ["I3D (--i3d-weights)", "static ResNet (--static-weights)"]
    assert random_init_encoders(dataclasses.replace(paper, i3d_weights="a.pt", resnet_weights="b.pt")) == []
    assert random_init_encoders(preset("tiny")) == []  # HSE alone: no visual encoder
    with pytest.raises(ConfigError, match="'mcore' would train randomly initialised visual encoders: static RegNetY"):
        check_pretrained(preset("mcore"), allow_random_init=False)
    check_pretrained(preset("mcore"), allow_random_init=True)
    check_pretrained(dataclasses.replace(preset("tiny"), use_dve=True, use_sve=True), allow_random_init=False)

    runner = CliRunner()
    res = runner.invoke(aqa_group(), ["train-aqa", "-o", str(tmp_path / "run"), "--config", "paper"])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "'paper' would train randomly initialised visual encoders: I3D (--i3d-weights)" in res.output
    weights = tmp_path / "i3d.pt"
    weights.write_bytes(b"x")
    res = runner.invoke(aqa_group(), ["train-aqa", "-o", str(tmp_path / "run"), "--config", "full",
                                      "--i3d-weights", str(weights)])
    assert res.exit_code == 2 and "would train randomly initialised visual encoders: static ResNet" in res.output
    assert not (tmp_path / "run" / "run.json").exists()
