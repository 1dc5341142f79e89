"""Table II's DD mode on a synthetic MTL-AQA-layout world (CPU): score / difficulty vs the final score.

    OMP_NUM_THREADS=1 python benchmarks/mtlaqa_dd_synth.py [--clips 60] [--epochs 12] [--seed 0] [--json]

A seeded world written in MTL-AQA's layout (annotation dict keyed (video, clip), ``train_split_0.pkl`` /
``test_split_0.pkl``, 32-row pose files; no frames: the ``tiny`` preset reads poses only) is trained with
``train-aqa``'s code path (``--dataset mtlaqa``) four times: ``score_target`` final / dd x exemplars of the
same difficulty / of any difficulty. In the world, a dive is a 16-joint figure that somersaults through
``difficulty`` x 180 degrees while its joints shake with an amplitude that falls with the execution (the
sum of three judge scores, 12-28); the final score is execution x difficulty, as in MTL-AQA. So the
execution is seen as the shaking and the difficulty as the rotation. Three quarters of the clips train
(no validation split, batch 4, lr 5e-4, one thread); the test quarter is scored with 10 exemplars.
Reported: test SRCC, R-l2 x100, the exemplar-mean baseline's SRCC, seconds. What this shows is that
each variant trains end to end and how the DD target behaves on a world built this way, not Table II.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fdpose.aqa_model.presets import preset
from fdpose.aqa_model.train import TrainOptions, train
from fdpose.sampling import write_pred_comp

DIFFICULTIES = (1.6, 2.0, 2.4, 2.8, 3.2, 3.6)
FRAMES = 32
#: a standing figure (MPII-16 order), pixels around its pelvis
TEMPLATE = np.array([[-6, 40], [-5, 20], [-4, 0], [4, 0], [5, 20], [6, 40], [0, 0], [0, -20], [0, -28], [0, -38],
                     [-12, 0], [-10, -10], [-8, -22], [8, -22], [10, -10], [12, 0]], np.float64)

VARIANTS: dict[str, tuple[str, bool]] = {  # name -> (score_target, exemplars of the same difficulty)
    "final, same difficulty": ("final", True), "dd, same difficulty": ("dd", True),
    "final, any difficulty": ("final", False), "dd, any difficulty": ("dd", False),
}


def make_world(root: Path, clips: int, seed: int) -> None:
    """Annotations, splits and pose files of ``clips`` synthetic dives under ``root``."""
    rng = np.random.default_rng(seed)
    info = root / "info"
    info.mkdir(parents=True)
    anns: dict[tuple[int, int], dict[str, Any]] = {}
    t = np.linspace(0.0, 1.0, FRAMES)
    for i in range(clips):
        key = (1 + i // 10, 1 + i % 10)
        difficulty = float(rng.choice(DIFFICULTIES))
        execution = float(np.round(rng.uniform(12.0, 28.0) * 2) / 2)
        angle = np.pi * difficulty * t  # somersaults: more rotation for harder dives
        rot = np.stack([np.stack([np.cos(angle), -np.sin(angle)], -1), np.stack([np.sin(angle), np.cos(angle)], -1)],
                       -2)  # (T, 2, 2)
        body = np.einsum("tij,kj->tki", rot, TEMPLATE)
        shake = (30.0 - execution) / 30.0 * 6.0  # px: worse execution, more shaking
        body += rng.normal(0.0, shake, body.shape)
        centre = np.stack([100 + 60 * t, 60 + 120 * (t - 0.3) ** 2], -1)[:, None, :]
        pose = np.concatenate([body + centre, np.ones((FRAMES, 16, 1))], -1)
        write_pred_comp(root / "poses" / f"{key[0]:02d}" / f"pred_comp_{key[1]}.npz", pose, n=FRAMES)
        anns[key] = {"start_frame": 0, "end_frame": FRAMES - 1, "difficulty": difficulty,
                     "final_score": execution * difficulty}
    keys = sorted(anns)
    order = rng.permutation(len(keys))
    n_test = len(keys) // 4
    test = sorted(keys[j] for j in order[:n_test])
    train_keys = sorted(keys[j] for j in order[n_test:])
    (info / "final_annotations_dict.pkl").write_bytes(pickle.dumps(anns))
    (info / "train_split_0.pkl").write_bytes(pickle.dumps(train_keys))
    (info / "test_split_0.pkl").write_bytes(pickle.dumps(test))


def run(root: Path, target: str, same: bool, epochs: int, seed: int) -> dict[str, Any]:
    cfg = dataclasses.replace(preset("tiny"), score_target=target, name=f"tiny-{target}")
    start = time.perf_counter()
    summary = train(TrainOptions(
        out_dir=root / f"run_{target}_{'same' if same else 'any'}", annotations=root / "info",
        poses_root=root / "poses", config=cfg, epochs=epochs, batch_size=4, seed=seed, val_share=0.0,
        use_dive_number=same, dataset="mtlaqa", test_exemplars=10, device="cpu", threads=1, progress=False))
    test = summary.test or {}
    return {"srcc": test.get("srcc"), "rl2_x100": test.get("rl2_x100"),
            "baseline_srcc": (test.get("baseline_exemplar_mean") or {}).get("srcc"),
            "queries": test.get("queries"), "seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mtl_dd_") as tmp:
        root = Path(tmp)
        make_world(root, args.clips, args.seed)
        for name, (target, same) in VARIANTS.items():
            results[name] = run(root, target, same, args.epochs, args.seed)
    if args.json:
        print(json.dumps({"clips": args.clips, "epochs": args.epochs, "seed": args.seed, "results": results}))
        return
    print(f"{args.clips} clips, {args.epochs} epochs, seed {args.seed}")
    for name, r in results.items():
        print(f"{name:24s} SRCC {r['srcc']:.3f}  R-l2x100 {r['rl2_x100']:.3f}  baseline SRCC {r['baseline_srcc']:.3f}  "
              f"{r['seconds']:.1f} s")


if __name__ == "__main__":
    main()
