"""``--seed``: one range in every command, 0 .. 2**32 - 1 (what numpy, torch and mmengine's np.random.seed all
take). A negative seed gave numpy's "expected non-negative integer" traceback in synth, train-aqa,
finetune-hrnet and demo; finetune-hrnet's traceback came back above 2**32 - 1 (np.random.seed)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cli_helpers import command_at
from fdpose.cli.main import cli

COMMANDS = [("synth",), ("train-aqa",), ("eval-aqa",), ("score",), ("finetune-hrnet", "train"), ("demo",)]


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_seed_option_has_the_one_range(path: tuple[str, ...]) -> None:
    (param,) = [p for p in command_at(path).params if "--seed" in getattr(p, "opts", [])]
    assert isinstance(param.type, click.IntRange) and (param.type.min, param.type.max) == (0, 2 ** 32 - 1)


@pytest.mark.parametrize("value", ["-1", str(2 ** 32)])
@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_out_of_range_seed_is_a_usage_error(path: tuple[str, ...], value: str) -> None:
    res = CliRunner().invoke(cli, ["-q", *path, "--seed", value])
    assert res.exit_code == 2, res.output
    assert f"'--seed': {value} is not in the range 0<=x<=4294967295" in res.output, res.output
