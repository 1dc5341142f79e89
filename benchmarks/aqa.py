"""Benchmark of the AQA model on this machine: training steps/s, inference cost, peak memory,
parameters and FLOPs (method.md 3.5 cost note).

    python benchmarks/aqa.py                       # tiny (batch 4, 5 steps) and hpmcore (batch 1, 2 steps)
    python benchmarks/aqa.py --configs hpmcore,mcore --batch 1 --steps 1 --json   # the official codes' sizes
    python benchmarks/aqa.py --configs tiny --json # JSON only

Each config runs in a child process so that its peak resident memory (``getrusage``
ru_maxrss) is its own; ``rss_before_model_mb`` is the process after importing torch and
fdpose, so ``peak_rss_mb - rss_before_model_mb`` is what the model, its inputs, activations,
gradients and Adam state add. ``tracemalloc_peak_mb`` counts Python-heap allocations only
(torch tensors live outside it), measured over one extra training step after the timings. Inputs are random tensors of the config's shapes: the
numbers measure the model, not JPEG decoding. A training step = encode query and exemplar
(ground-truth transitions), both regression directions, all losses, backward, Adam step.
``train_step_cpu_s`` is process CPU time per step (wall time suffers from other load on a shared
machine; the 1-minute load average is recorded). Inference: ``encode_s`` per video and ``compare_s`` per pair (batch 1); a query with 10
exemplars costs ``encode + 10 compare`` with cached exemplar encodings and
``10 x (2 encode + compare)`` the public code's way. Parameters and FLOPs come from
:func:`fdpose.aqa_model.cost.model_cost` (FLOPs of a batch-1 forward; 2 per multiply-add).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

DEFAULT_PLAN = {"tiny": {"batch": 4, "steps": 5}, "hpmcore": {"batch": 1, "steps": 2}, "paper": {"batch": 1, "steps": 2},
                "full": {"batch": 1, "steps": 2}, "mcore": {"batch": 1, "steps": 2}}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def measure(config_name: str, batch: int, steps: int, threads: int | None) -> dict[str, Any]:
    """Run in the child: time training steps and inference of one config."""
    import torch

    from fdpose.aqa_model.presets import load_config
    from fdpose.aqa_model.cost import model_cost
    from fdpose.aqa_model.model import HPMCoRe
    from fdpose.skeleton import NUM_JOINTS

    logging.getLogger("fdpose.aqa_model.encoders").setLevel(logging.ERROR)  # random init is intended here
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = load_config(config_name)
    rss_before = _rss_mb()
    model = HPMCoRe(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)

    def inputs(b: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        video = torch.randn(b, cfg.num_frames, 3, cfg.frame_size, cfg.frame_size)
        pose = torch.rand(b, cfg.num_frames, NUM_JOINTS, cfg.pose_channels) * 100
        step = cfg.num_frames // cfg.num_stages
        trans = torch.tensor([[step * (i + 1) for i in range(cfg.num_transitions)]] * b)
        return video, pose, trans, torch.rand(b) * 30 + 50

    q, e = inputs(batch), inputs(batch)

    def train_step() -> None:
        model.train()
        qe = model.encode(q[0], q[1], q[2])
        ee = model.encode(e[0], e[1], e[2])
        total, _ = model.losses(qe, ee, q[3], e[3])
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    train_step()  # warm-up (allocations, lazy init)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        train_step()
    train_s = (time.perf_counter() - t0) / steps
    train_cpu_s = (time.process_time() - c0) / steps  # less sensitive to other load on shared machines
    model.eval()
    one = inputs(1)
    with torch.no_grad():
        model.encode(one[0], one[1])
        t0 = time.perf_counter()
        enc = model.encode(one[0], one[1])
        encode_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(10):
            model.compare(enc, enc, one[3])
        compare_s = (time.perf_counter() - t0) / 10
    tracemalloc.start()  # after the timings: tracing slows every Python allocation down
    train_step()
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cost = model_cost(cfg)
    return {
        "config": cfg.name, "batch": batch, "steps": steps, "threads": torch.get_num_threads(),
        "input": f"{cfg.num_frames}x{cfg.frame_size}x{cfg.frame_size}",
        "train_step_s": train_s, "train_step_cpu_s": train_cpu_s, "train_steps_per_s": 1.0 / train_s,
        "pairs_per_s": batch / train_s, "load_average_1min": os.getloadavg()[0],
        "encode_s": encode_s, "compare_s": compare_s,
        "query_cached_s": encode_s + 10 * compare_s, "query_uncached_s": 10 * (2 * encode_s + compare_s),
        "rss_before_model_mb": rss_before, "peak_rss_mb": _rss_mb(), "tracemalloc_peak_mb": py_peak / 2**20,
        "params": cost.params_total, "params_by_component": cost.params_by_component,
        "gflops_encode": cost.flops_encode / 1e9, "gflops_compare": cost.flops_compare / 1e9,
        "gflops_train_step_forward": cost.flops_train_step_forward / 1e9,
        "gflops_query_cached": cost.flops_per_query_cached / 1e9,
        "gflops_query_uncached": cost.flops_per_query_uncached / 1e9,
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'config':<9}{'batch':>6}{'step s':>9}{'cpu s':>8}{'steps/s':>9}{'peak RSS MB':>13}{'+model MB':>11}"
            f"{'params M':>10}{'GFLOP fwd':>11}{'GFLOP train':>12}{'query s (cached/naive)':>25}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['config']:<9}{r['batch']:>6}{r['train_step_s']:>9.3f}{r['train_step_cpu_s']:>8.3f}"
                     f"{r['train_steps_per_s']:>9.3f}"
                     f"{r['peak_rss_mb']:>13.0f}{r['peak_rss_mb'] - r['rss_before_model_mb']:>11.0f}"
                     f"{r['params'] / 1e6:>10.3f}{r['gflops_encode'] + r['gflops_compare']:>11.2f}"
                     f"{r['gflops_train_step_forward']:>12.2f}"
                     f"{r['query_cached_s']:>12.2f} / {r['query_uncached_s']:<10.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="tiny,hpmcore", help="comma-separated presets or config files")
    parser.add_argument("--batch", type=int, help="batch size for every config (default: tiny 4, others 1)")
    parser.add_argument("--steps", type=int, help="timed training steps (default: tiny 5, others 2)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.batch or 1, args.steps or 1, args.threads)))
        return 0
    rows = []
    for name in [c.strip() for c in args.configs.split(",") if c.strip()]:
        plan = DEFAULT_PLAN.get(name, {"batch": 1, "steps": 2})
        cmd = [sys.executable, __file__, "--child", name, "--batch", str(args.batch or plan["batch"]),
               "--steps", str(args.steps or plan["steps"])] + (["--threads", str(args.threads)] if args.threads else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"error: benchmark of {name} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if not args.json:
        print(table(rows))
    print(json.dumps({"benchmarks": rows}, indent=None if not args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
