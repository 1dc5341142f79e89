"""The AQA commands pick their device and read the torchrun variables through the core's one resolver
(:mod:`fdpose.runtime`): the same checks and the same one-line errors as track-and-estimate and
finetune-hrnet (issue 13 B: two device resolvers, three readers of the rank variables)."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from fdpose import runtime
from fdpose.aqa_model.distributed import init_distributed, pick_device
from fdpose.errors import ConfigError

TORCHRUN = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


def _message(call, *args: object) -> str:
    with pytest.raises(ConfigError) as err:
        call(*args)
    return str(err.value)


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "tpu"] + ([] if torch.cuda.is_available() else ["cuda", "cuda:0"]))
def test_pick_device_refuses_as_the_core_resolver(spec: str) -> None:
    assert _message(pick_device, spec) == _message(runtime.resolve_device, spec)


def test_pick_device_values() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("AUTO") == torch.device(runtime.resolve_device("auto"))


def test_init_distributed_checks_the_rank_as_dist_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TORCHRUN:
        monkeypatch.delenv(name, raising=False)
    ctx = init_distributed("cpu")
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.backend, ctx.distributed) == (0, 1, 0, None, False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")  # no such rank: refused before any process group is joined
    assert _message(init_distributed, "cpu") == "bad torchrun rank 5 of world size 2"
    monkeypatch.setenv("RANK", "one")
    assert _message(init_distributed, "cpu") == "environment variable RANK='one' is not an integer"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_eval_aqa_device_error_is_the_shared_line(tmp_path) -> None:
    from fdpose.cli.main import cli

    res = CliRunner().invoke(cli, ["-q", "eval-aqa", str(tmp_path), "--device", "cuda"])
    assert res.exit_code == 2, res.output
    assert res.output.strip() == "error: --device cuda: CUDA is not available on this machine (use cpu or auto)"
