"""Multi-process training: torchrun, 2 CPU processes, gloo, DistributedDataParallel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from aqa_run_helpers import TRAIN, config_file, make_world, world_args


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_torchrun_two_cpu_processes_train_one_epoch(tmp_path: Path) -> None:
    world = make_world(tmp_path / "world")
    cfg = config_file(tmp_path / "micro.json")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "fdpose.cli.aqa", "train-aqa", *world_args(world), "-o", str(out), "--config", str(cfg),
           "--epochs", "1", "--batch-size", "2", "--val-share", "0.25", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # rank 0 alone prints the summary and writes the files
    assert proc.stdout.count("finished after epoch 1/1") == 1 and "world size 2" in proc.stdout
    assert proc.stderr.count("epoch 1/1: loss") == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["finished"] and summary["test"]["queries"] == 5
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and state["run"]["world_size"] == 2 and len(state["rng_per_rank"]) == 2
    assert not any(p.name.startswith(".") or p.suffix == ".tmp" for p in out.iterdir())  # no stray temp files
    log = json.loads((out / "logs" / "epoch_0001.json").read_text())
    seen0, seen1 = log["queries_per_rank"]["0"], log["queries_per_rank"]["1"]
    train_keys = json.loads((out / "run.json").read_text())["splits"]["train"]
    assert len(train_keys) == len(TRAIN) - 2
    assert len(seen0) == len(seen1) == len(train_keys) // 2  # DistributedSampler: disjoint halves
    assert not set(seen0) & set(seen1) and sorted(seen0 + seen1) == sorted(train_keys)
    assert log["param_checksums"][0] == log["param_checksums"][1]  # DDP kept the replicas identical
    assert log["train_pairs"] == len(train_keys)
