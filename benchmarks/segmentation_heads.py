"""Cost of the segmentation heads (paper Table VI: BiGRU, ASFormer, FC, TCN) at the ``hpmcore`` sizes.

    python benchmarks/segmentation_heads.py            # table
    python benchmarks/segmentation_heads.py --json     # JSON

Input: the ``hpmcore`` preset's segmentation input, the per-frame static (RegNetY-002-GSM) features,
(2, 96, 368): one training pair. Each head is built as :class:`fdpose.aqa_model.model.HPMCoRe` builds it
from the preset with ``segmentation_head`` switched (BiGRU hidden 368, dropout 0.5; FC / TCN hidden 368;
ASFormer ``asformer_channels`` x ``asformer_layers`` per stage, ``asformer_decoders`` refinement stages).
Reported: parameters, FLOPs of one forward of the pair (``torch.utils.flop_counter``, 2 per multiply-add;
it counts convolutions, linear layers and matrix products, not the GRU's recurrent cell, so the BiGRU's
figure is left out) and process CPU seconds of forward + CE (every stage for ASFormer) + backward, median
of ``--repeats`` runs, one thread. Random inputs: the numbers measure the heads, not what they learn.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from fdpose.aqa_model.asformer import ASFormerSpec
from fdpose.aqa_model.presets import preset
from fdpose.aqa_model.segmentation import ProcedureSegmenter, segmentation_loss_all


def measure(head: str, repeats: int) -> dict[str, Any]:
    cfg = dataclasses.replace(preset("hpmcore"), segmentation_head=head).validate()
    torch.manual_seed(0)
    seg = ProcedureSegmenter(head, cfg.static_dim_out, cfg.num_stages, cfg.segmentation_hidden,
                             cfg.segmentation_dropout, ASFormerSpec.from_config(cfg)).train()
    x = torch.randn(2, cfg.num_frames, cfg.static_dim_out)
    gt = torch.tensor([[30, 66], [28, 70]])
    flops = None
    if head != "bigru":
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            seg.forward_stages(x)
        flops = counter.get_total_flops()
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        t0 = time.process_time()
        logits, _ = seg.forward_stages(x)
        loss = segmentation_loss_all(logits[:, -1], gt, cfg.segmentation_transition_weights,
                                     logits[:, :-1] if logits.shape[1] > 1 else None)
        seg.zero_grad()
        loss.backward()
        times.append(time.process_time() - t0)
    return {"head": head, "params": sum(p.numel() for p in seg.parameters()),
            "gflops_forward_pair": None if flops is None else round(flops / 1e9, 4),
            "train_cpu_ms_pair": round(1000 * statistics.median(times[1:]), 2), "stages": int(logits.shape[1]),
            "asformer": dataclasses.asdict(ASFormerSpec.from_config(cfg)) if head == "asformer" else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heads", default="bigru,asformer,fc,tcn")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = [measure(h, args.repeats) for h in args.heads.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'head':<10}{'params':>12}{'GFLOPs/pair':>14}{'train ms/pair':>15}{'stages':>8}")
    for r in rows:
        gf = "-" if r["gflops_forward_pair"] is None else f"{r['gflops_forward_pair']:.4f}"
        print(f"{r['head']:<10}{r['params']:>12,}{gf:>14}{r['train_cpu_ms_pair']:>15.2f}{r['stages']:>8}")


if __name__ == "__main__":
    main()
