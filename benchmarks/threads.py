"""torch thread choice on an idle and on a busy machine: the old choice (torch's default, one thread
per core) against fdpose's (:func:`fdpose.runtime.apply_threads`).

    python benchmarks/threads.py                   # 1 burner, 12 s per measurement, 2 rounds
    python benchmarks/threads.py --json --seconds 8 --rounds 1

Workload: training steps of the small HRNet that ``finetune-hrnet --arch hrnet-small`` and the demo
train (forward, heatmap MSE, backward, Adam) on a fixed random batch of 16 crops of 128x128; the
figure is training images per second. Every measurement runs in a fresh child process that makes
its thread choice at start-up as the CLI does (the child's environment has no OMP_NUM_THREADS or
FDPOSE_THREADS). "busy": this script first starts ``--burners`` processes that spin on one core
each (``while True: pass``), the situation of issue 13 C (one other CPU-bound job on a 2-core
machine), and stops them after the measurement. Scenarios alternate within each round so that
slow drifts of the machine hit all of them alike; the ratios come from the same run.

Other users of the machine load it too (the load average before and after is printed): absolute
figures are noisy, compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

SCENARIOS = (("idle", "old"), ("idle", "new"), ("busy", "old"), ("busy", "new"))


def child(choice: str, seconds: float, max_steps: int) -> dict[str, Any]:
    """Run in the child process: choose threads, then time training steps for about ``seconds``."""
    import torch

    from fdpose.runtime import apply_threads, others_cpu_use, usable_cores

    others = others_cpu_use(0.5)  # what the machine looks like to this child (burner and other users)
    start_choice = time.perf_counter()
    threads = apply_threads(None) if choice == "new" else torch.get_num_threads()
    choice_seconds = time.perf_counter() - start_choice
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from fdpose.hrnet_finetune.config import load_arch_config

    init_default_scope("mmpose")
    cfg = load_arch_config("hrnet-small")
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    x = torch.randn(16, 3, 128, 128)
    target = torch.rand(16, 16, 32, 32)

    def step() -> None:
        opt.zero_grad()
        heatmaps = model.head(model.backbone(x))
        loss = torch.nn.functional.mse_loss(heatmaps, target)
        loss.backward()
        opt.step()

    step()  # warm-up: allocations, thread pool start
    steps, t0 = 0, time.perf_counter()
    while steps < max_steps and (steps < 2 or time.perf_counter() - t0 < seconds):
        step()
        steps += 1
    elapsed = time.perf_counter() - t0
    return {"choice": choice, "threads": threads, "cores": usable_cores(), "steps": steps, "seconds": elapsed,
            "images_per_s": 16 * steps / elapsed, "choice_seconds": choice_seconds,
            "others_busy_cores": None if others is None else round(others, 2)}


def _burners(n: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    time.sleep(1.0)  # let them reach full speed before the child looks at the machine
    return procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def measure(state: str, choice: str, burners: int, seconds: float, max_steps: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "FDPOSE_THREADS")}
    procs = _burners(burners) if state == "busy" else []
    try:
        out = subprocess.run([sys.executable, __file__, "--child", choice, "--seconds", str(seconds),
                              "--max-steps", str(max_steps)], env=env, capture_output=True, text=True, check=True)
    finally:
        _stop(procs)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["state"] = state
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burners", type=int, default=1, help="CPU-spinning processes in the busy case")
    parser.add_argument("--seconds", type=float, default=12.0, help="timed seconds per measurement (at least 2 steps)")
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="each scenario measured once per round")
    parser.add_argument("--json", action="store_true", help="JSON only")
    parser.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.seconds, args.max_steps)))
        return
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for state, choice in SCENARIOS:
            runs.append(measure(state, choice, args.burners, args.seconds, args.max_steps))
    load_after = os.getloadavg()
    table = {}
    for state, choice in SCENARIOS:
        mine = [r for r in runs if r["state"] == state and r["choice"] == choice]
        table[f"{state}/{choice}"] = {"threads": sorted({r["threads"] for r in mine}),
                                      "images_per_s": statistics.median(r["images_per_s"] for r in mine),
                                      "runs": [round(r["images_per_s"], 2) for r in mine],
                                      "others_busy_cores": [r["others_busy_cores"] for r in mine]}
    ips = {k: v["images_per_s"] for k, v in table.items()}
    report = {
        "cores": runs[0]["cores"], "burners": args.burners, "seconds": args.seconds, "rounds": args.rounds,
        "load_average_before": [round(v, 2) for v in load_before], "load_average_after": [round(v, 2) for v in load_after],
        "scenarios": table,
        "ratios": {
            "old busy/idle": ips["busy/old"] / ips["idle/old"],
            "new busy/idle": ips["busy/new"] / ips["idle/new"],
            "busy new/old": ips["busy/new"] / ips["busy/old"],
            "idle new/old": ips["idle/new"] / ips["idle/old"],
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['cores']} usable cores, {args.burners} burner(s) when busy; load average before "
          f"{report['load_average_before']}, after {report['load_average_after']}")
    print(f"{'scenario':<12}{'threads':>10}{'images/s':>12}   runs (cores busy with other processes at start)")
    for name, row in table.items():
        runs = ", ".join(f"{v} ({b})" for v, b in zip(row["runs"], row["others_busy_cores"]))
        print(f"{name:<12}{','.join(map(str, row['threads'])):>10}{row['images_per_s']:>12.2f}   {runs}")
    for name, value in report["ratios"].items():
        print(f"{name:<16}{value:>8.3f}")


if __name__ == "__main__":
    main()
