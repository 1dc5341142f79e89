"""Generate a whole synthetic world: plan matches and clips, render them (optionally in worker
processes), then write the FineDiving pickles and ``world.json`` (last: its presence marks a
complete world)."""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np

from fdpose import __version__
from fdpose.errors import InputError
from fdpose.finediving import FineDivingAnnotations, save_annotations
from fdpose.finediving_checks import summary_statistics
from fdpose.io import remove_stale_temps, write_json
from fdpose.synth.clip import ClipResult, render_clip
from fdpose.synth.config import IMAGE_HEIGHT, IMAGE_WIDTH, VIDEO_FPS, WORLD_VERSION, ClipPlan, Layout, SynthConfig
from fdpose.synth.scoring import recipe

log = logging.getLogger(__name__)

COMPETITIONS = ("SynthCup", "SynthWorlds", "SynthGrandPrix")
EVENTS = ("Men3m", "Women3m", "Men10m", "Women10m")
ROUNDS = 6


def plan_world(cfg: SynthConfig) -> list[ClipPlan]:
    """Matches (2-5 clips each, idx from 1) named like real ones, e.g. ``SynthCup2026_Men3m_final_r1``."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0]))
    combos: list[tuple[str, int]] = []
    plans: list[ClipPlan] = []
    m = 0
    while len(plans) < cfg.videos:
        if not combos:
            combos = [(e, r) for e in EVENTS for r in range(1, ROUNDS + 1)]
            order = rng.permutation(len(combos))
            combos = [combos[i] for i in order]
            block = m // (len(EVENTS) * ROUNDS)
            comp = f"{COMPETITIONS[block % len(COMPETITIONS)]}{2026 - block // len(COMPETITIONS)}"
        event, rnd = combos.pop(0)
        name = f"{comp}_{event}_final_r{rnd}"
        k = min(int(rng.integers(2, 6)), cfg.videos - len(plans))
        for idx in range(1, k + 1):
            n = len(plans)
            plans.append(ClipPlan(n, name, idx, event, (cfg.seed, 1, m), (cfg.seed, 2, n)))
        m += 1
    return plans


def split_keys(cfg: SynthConfig, plans: list[ClipPlan]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Deterministic train/test split (``train_share`` of the clips to train, both sides non-empty
    when there are at least 2 clips and 0 < share < 1)."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 3]))
    n = len(plans)
    n_train = int(round(cfg.train_share * n))
    if n >= 2 and 0.0 < cfg.train_share < 1.0:
        n_train = min(max(n_train, 1), n - 1)
    chosen = set(int(i) for i in rng.permutation(n)[:n_train])
    train = [(p.match, p.idx) for p in plans if p.number in chosen]
    test = [(p.match, p.idx) for p in plans if p.number not in chosen]
    return train, test


def prepare_output(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty OUT unless ``overwrite``; with it, remove the entries a world consists of."""
    if out.exists() and not out.is_dir():
        raise InputError("output exists and is not a folder", out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise InputError("output folder is not empty (use --overwrite to replace the world in it)", out)
        for name in Layout.ENTRIES:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        remove_stale_temps(out, recursive=False)  # a killed run's .world.json.{pid}.*.tmp
    out.mkdir(parents=True, exist_ok=True)


def _render(args: tuple[ClipPlan, SynthConfig, str]) -> ClipResult:
    import cv2

    cv2.setNumThreads(1)  # one clip per process; OpenCV's own threads would oversubscribe the cores
    plan, cfg, root = args
    return render_clip(plan, cfg, Layout(Path(root)))


def generate_world(
    cfg: SynthConfig,
    out: str | Path,
    workers: int = 1,
    overwrite: bool = False,
    progress: Optional[Callable[[Iterable[Any], int], Iterable[Any]]] = None,
) -> dict[str, Any]:
    """Render ``cfg.videos`` clips into ``out``; returns the summary also stored in world.json.

    progress: wraps the iterator of finished clips (e.g. a tqdm factory ``lambda it, n: tqdm(it, total=n)``).
    Output is identical for any ``workers``.
    """
    root = Path(out)
    prepare_output(root, overwrite)
    layout = Layout(root)
    plans = plan_world(cfg)
    jobs = [(p, cfg, str(root)) for p in plans]
    wrap = progress or (lambda it, n: it)
    if workers > 1 and len(jobs) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            results = list(wrap(pool.map(_render, jobs), len(jobs)))
    else:
        results = [r for r in wrap((_render(j) for j in jobs), len(jobs))]
    train, test = split_keys(cfg, plans)
    ann = FineDivingAnnotations(
        fine={(r.plan.match, r.plan.idx): r.fine for r in results},
        coarse={(r.plan.match, r.plan.idx): r.coarse for r in results},
        train=train, test=test, source=layout.annotations,
    )
    save_annotations(layout.annotations, ann)
    stats = summary_statistics(ann)
    test_keys = set(test)
    clips = []
    for r in results:
        key = (r.plan.match, r.plan.idx)
        clips.append({
            "match": r.plan.match,
            "idx": r.plan.idx,
            "event": r.plan.event,
            "split": "test" if key in test_keys else "train",
            "action_type": r.fine.action_type,
            "difficulty": r.fine.difficulty,
            "dive_score": r.fine.dive_score,
            "judge_scores": r.coarse.judge_scores,
            "num_frames": r.fine.num_frames,
            "steps_transit_frames": r.fine.steps_transit_frames.tolist(),
            **{k: v for k, v in r.summary.items() if k != "num_frames"},
        })
    world: dict[str, Any] = {
        "version": WORLD_VERSION,
        "fdpose_version": __version__,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "image_size": {"width": IMAGE_WIDTH, "height": IMAGE_HEIGHT},
        "video_fps": VIDEO_FPS,
        "layout": {
            "frames": "frames/{match}/{idx}/{frame:05d}.jpg (frame numbers from 0)",
            "videos": "videos/{match}__{idx}.mp4" if cfg.write_video else None,
            "labelme": "labelme/{match}/{idx}/{frame:05d}.json (frames where the diver is drawn)",
            "gt": "gt/{match}/{idx}.json",
            "detections": "detections/{match}/{idx}.txt (MOT det, frame 1-based)",
            "annotations": "annotations/ (FineDiving pickles + splits)",
        },
        "scoring": recipe(cfg.form_faults),
        "statistics": stats,
        "totals": {
            "clips": len(results),
            "frames": int(sum(r.fine.num_frames for r in results)),
            "labelme_files": int(sum(r.summary["labelme_files"] for r in results)),
            "train": len(train),
            "test": len(test),
        },
        "clips": clips,
    }
    write_json(layout.world_json, world)
    log.info("wrote %d clips (%d frames) to %s", len(results), world["totals"]["frames"], root)
    return world
