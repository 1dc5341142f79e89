"""Config files and numeric options that make no sense: one ``error:``/``Error:`` line, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli


def _one_line(args: list[str], expect: str) -> None:
    res = CliRunner().invoke(cli, ["-q", *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and not isinstance(res.exception, (TypeError, ValueError, SyntaxError))
    assert expect in res.output, res.output


def test_aqa_config_value_of_the_wrong_type(tmp_path: Path) -> None:
    from fdpose.aqa_model.presets import load_config
    from fdpose.errors import ConfigError

    path = tmp_path / "c.json"
    path.write_text('{"preset": "tiny", "num_frames": "32"}')
    with pytest.raises(ConfigError, match="'num_frames' must be int like its default 32, got str '32'"):
        load_config(path)
    for body in ('{"preset": "tiny", "use_dve": 1}', '{"preset": "tiny", "i3d_width": "1.0"}'):
        path.write_text(body)
        with pytest.raises(ConfigError, match="must be"):
            load_config(path)
    path.write_text('{"preset": "tiny", "num_frames": 16, "i3d_width": 1}')  # an int where a float is fine
    assert load_config(path).num_frames == 16


def test_train_aqa_config_type_error_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"preset": "tiny", "num_frames": "32"}')
    _one_line(["train-aqa", "--config", str(path), "--annotations", str(tmp_path), "-o", str(tmp_path / "r")],
              f"error: {path}: config key 'num_frames' must be int")


def test_malformed_mmengine_configs(tmp_path: Path) -> None:
    pytest.importorskip("mmengine")
    from fdpose.errors import ConfigError
    from fdpose.hrnet_finetune.config import read_mm_config

    broken = tmp_path / "broken.py"
    broken.write_text("model = dict(type=\n")
    other = tmp_path / "other.py"
    other.write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"not a readable mmengine config \(line 1\): SyntaxError") as err:
        read_mm_config(broken)
    assert str(broken) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="not a top-down pose config: no model, codec"):
        read_mm_config(other)


@pytest.mark.parametrize("args,expect", [
    (["train-aqa", "--num-workers", "-1"], "'--num-workers': -1 is not in the range x>=0"),
    (["train-aqa", "--batch-size", "0"], "'--batch-size': 0 is not in the range x>=1"),
    (["finetune-hrnet", "eval", "c.pth", "l", "--batch-size", "0"], "'--batch-size': 0 is not in the range x>=1"),
    (["track-and-estimate", "f", "-o", "o", "--frames", "100000"], "'--frames': 100000 is not in the range 1<=x<=1024"),
    (["track-and-estimate", "f", "-o", "o", "--workers", "0"], "'--workers': 0 is not in the range x>=1"),
    (["eval-aqa", "c.pt", "--exemplars", "0"], "'--exemplars': 0 is not in the range x>=1"),
])
def test_numeric_options_have_ranges(args: list[str], expect: str) -> None:
    _one_line(args, expect)


def test_yaml_string_is_not_taken_as_a_bool(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    from fdpose.aqa_model.presets import load_config
    from fdpose.errors import ConfigError

    path = tmp_path / "c.yaml"
    path.write_text('preset: tiny\nuse_hse: "false"\n')  # a quoted string: truthy if taken as it is
    with pytest.raises(ConfigError, match="'use_hse' must be bool like its default .*, got str 'false'"):
        load_config(path)
    path.write_text("preset: tiny\nuse_dve: true\nuse_hse: false\n")
    cfg = load_config(path)
    assert cfg.use_hse is False and cfg.use_dve is True
