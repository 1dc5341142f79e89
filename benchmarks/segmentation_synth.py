"""Table V / VI analogues on a synthetic world (CPU): segmentation heads and stage splits, ``tiny`` preset.

    OMP_NUM_THREADS=1 python benchmarks/segmentation_synth.py [--videos 40] [--epochs 24] [--seed 0] [--json]

A seeded synth world (``fdpose synth``'s generator: oracle poses from its ground truth, no frames needed by
``tiny``) is trained once per variant with ``train-aqa``'s code path (30 training / 10 test clips at 40
videos, no validation split, ``--epochs`` of batch 4 at lr 5e-4, one thread) and the test split's
predictions are read back: AIoU@0.5 / 0.75 (mode ``span`` for 3 stages, ``stages`` for 2), the mean
absolute error of each predicted transition in sampled frames, test SRCC, seconds of training. Variants:
the four heads at 3 stages (Table VI) and BiGRU at 2 stages split at the take-off and at the entry (Table
V's 2 and 2*). The synthetic dives mark their phases clearly in the skeleton, so the differences here say
little about FineDiving; they show that every variant trains end to end and what it costs.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fdpose.aqa_model.presets import preset
from fdpose.aqa_model.train import TrainOptions, train
from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world

VARIANTS: dict[str, dict[str, Any]] = {
    "bigru": {}, "asformer": {"segmentation_head": "asformer"}, "fc": {"segmentation_head": "fc"},
    "tcn": {"segmentation_head": "tcn"},
    "bigru K=2 takeoff": {"num_stages": 2, "stage_split": "takeoff"},
    "bigru K=2 entry (2*)": {"num_stages": 2, "stage_split": "entry"},
}


def run_variant(world: Path, out: Path, fields: dict[str, Any], epochs: int, seed: int) -> dict[str, Any]:
    cfg = dataclasses.replace(preset("tiny"), **fields).validate()
    opts = TrainOptions(out_dir=out, annotations=world / "annotations", frames_root=world / "frames",
                        poses_from_gt=world / "gt", config=cfg, epochs=epochs, batch_size=4, lr=5e-4, seed=seed,
                        val_share=0.0, device="cpu", threads=1, progress=False)
    t0 = time.perf_counter()
    summary = train(opts)
    seconds = time.perf_counter() - t0
    test = summary.test or {}
    with (out / "test" / "predictions.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    pred = np.array([[int(x) for x in r["pred_transitions"].split(";")] for r in rows])
    true = np.array([[int(x) for x in r["true_transitions"].split(";")] for r in rows])
    return {"aiou": test.get("aiou"), "aiou_mode": test.get("aiou_mode"), "srcc": round(float(test["srcc"]), 3),
            "transition_mae_frames": [round(float(x), 2) for x in np.abs(pred - true).mean(axis=0)],
            "queries": len(rows), "train_seconds": round(seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        generate_world(SynthConfig(videos=args.videos, seed=args.seed, write_video=False,
                                   dive_numbers=("107b", "205b", "405b")), world, workers=1)
        for name in args.variants.split(","):
            results[name] = run_variant(world, Path(tmp) / name.replace(" ", "_"), VARIANTS[name], args.epochs,
                                        args.seed)
            if not args.json:
                r = results[name]
                print(f"{name:<22} AIoU {r['aiou']} ({r['aiou_mode']})  transition MAE {r['transition_mae_frames']}  "
                      f"SRCC {r['srcc']}  {r['train_seconds']} s", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
