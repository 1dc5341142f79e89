"""Training HP-MCoRe / MCoRe (method.md 3.5): ``fdpose train-aqa``.

* Optimiser: Adam, weight decay 0, lr 5e-4 (code; a config's ``code_lr`` when no lr is given),
  cosine annealing over the epochs (stepped once per epoch, down to ``min_lr`` = 0) or the
  config's ``lr_schedule``, the static encoder at ``static_lr_factor`` x lr (aqa_model/optim.py).
  Batch size is per process.
* Pairs: every training clip is a query once per epoch; its exemplar is another training clip
  with the same dive number, drawn by :class:`ExemplarPicker` from (seed, epoch, query)
  (without dive number: any other clip). Both are loaded with seeded augmentation and encoded
  with their ground-truth transitions (the public code's training path); loss = MSE (both
  directions) + segmentation CE + lambda * contrastive (:meth:`HPMCoRe.losses`). With
  ``score_target "dd"`` (Table II) the scores in that MSE are score / difficulty.
* Data: FineDiving's pickles, or MTL-AQA's (``settings.dataset``, :mod:`fdpose.aqa_model.data.mtlaqa`:
  exemplars of the same difficulty, equal-part stages).
* Model selection: a seeded ``val_share`` of the training split is held out; after every
  epoch the validation clips are scored against 10 seeded exemplars from the rest of the
  training split (cached encodings, :mod:`fdpose.aqa_model.evaluate`); ``best.pt`` keeps the
  epoch with the highest validation SRCC. The test split is only scored once, at the end,
  with the best weights (``RUN_DIR/test/``).
* Files (rank 0 only, every write atomic): ``run.json`` (settings, splits), ``config.json``,
  ``last.pt`` (every epoch: model, optimiser, scheduler, AMP scaler, every rank's RNG states,
  history), ``best.pt``, ``metrics.csv`` (one row per epoch: loss parts, lr, validation SRCC,
  L2, R-l2 x100 and its range, AIoU@0.5/0.75, the exemplar-mean baseline, seconds),
  ``training_curve.png`` (every 10 epochs and when the run stops), ``logs/epoch_NNNN.json`` (queries seen by each rank, parameter
  checksums of every rank), TensorBoard events under ``tensorboard/`` when the
  ``tensorboard`` package is installed, ``summary.json``.
* Exact resume: the data order (DistributedSampler seeded with seed + epoch), the exemplars
  and the augmentation depend only on (seed, epoch, clip); model, optimiser, scheduler, scaler
  and RNG states are restored from ``last.pt``. A run stopped after epoch e (``stop_after``,
  or killed) and resumed gives the same weights and metrics as an uninterrupted run, on the
  same hardware, thread count and world size (a different world size is allowed, with a
  warning: the shards change). The hyper-parameters of a run cannot change on resume, nor the
  data: paths may move, but the annotations, pose files and frames must be what the run started on
  (digests in ``last.pt``, :mod:`fdpose.aqa_model.data.fingerprint`).
* Multi-process: under ``torchrun`` each rank trains on its DistributedSampler shard through
  DistributedDataParallel (gloo on CPU, NCCL on CUDA); validation, checkpoints and logs are
  done by rank 0 while the others wait.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from fdpose import __version__
from fdpose.aqa_model.checkpoint import (BEST_NAME, LAST_NAME, build_model, capture_rng_state, load_checkpoint,
                                         model_from_checkpoint, restore_rng_state, save_checkpoint,
                                         seed_everything)
from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import save_config
from fdpose.aqa_model.data import (ExemplarPicker, FineDivingAQADataset, clip_dataset, load_aqa_annotations,
                                   split_train_val)
from fdpose.aqa_model.data.finediving import key_name
from fdpose.aqa_model.data.fingerprint import data_fingerprint, fingerprint_changes
from fdpose.aqa_model.distributed import DistContext, init_distributed
from fdpose.aqa_model.evaluate import EvalResult, evaluate, write_eval_outputs
from fdpose.aqa_model.model import HPMCoRe
from fdpose.aqa_model.optim import build_scheduler, parameter_groups
from fdpose.synth.oracle import write_oracle_poses
from fdpose.aqa_model.regression import regression_target
from fdpose.aqa_model.run_settings import RunSettings, TrainOptions, official_test_due, resolve_settings
from fdpose.aqa_model.training_log import TrainingLog
from fdpose.errors import ConfigError, InputError, ValidationError
from fdpose.finediving import FineDivingAnnotations, Key
from fdpose.io import remove_stale_temps, write_json

log = logging.getLogger(__name__)

LOSS_PARTS = ("total", "mse", "ce", "contrastive")
CURVE_EVERY = 10  # epochs between training-curve redraws (and at the end of every invocation)


@dataclass
class TrainSummary:
    """The outcome of :func:`train` (rank 0 has the full picture; other ranks get the same dict)."""

    out_dir: Path
    epochs_completed: int
    epochs_total: int
    finished: bool
    best_epoch: int | None
    best_val: dict[str, Any] | None
    test: dict[str, Any] | None
    seconds: float
    world_size: int
    parameters: int
    skipped: dict[str, str] = field(default_factory=dict)
    official: dict[str, Any] | None = None  # --protocol official: selected-on-test and last-evaluation figures

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "out_dir": str(self.out_dir)}


# ----------------------------------------------------------------------------- pieces


class TrainingPairs(Dataset):
    """Item i: ``{"query": clips[i], "exemplar": clips[exemplar of i this epoch]}``."""

    def __init__(self, clips: FineDivingAQADataset, picker: ExemplarPicker) -> None:
        self.clips, self.picker, self.epoch = clips, picker, 0
        self.index_of = {k: i for i, k in enumerate(clips.keys)}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.clips.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, dict[str, torch.Tensor]]:
        exemplar = self.picker.train_exemplar(self.clips.keys[index], self.epoch)
        return {"query": self.clips[index], "exemplar": self.clips[self.index_of[exemplar]]}


class PairObjective(nn.Module):
    """The training loss of a batch of pairs as one ``forward`` (what DDP wraps)."""

    def __init__(self, model: HPMCoRe) -> None:
        super().__init__()
        self.model = model

    def forward(self, query: dict[str, torch.Tensor], exemplar: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (total loss, (4,) detached parts: total, mse, ce, contrastive)."""
        if self.model.config.pair_encoding == "joint":  # the codes: one batch of 2B videos per encoder
            both = {k: torch.cat([query[k], exemplar[k]]) for k in ("video", "pose", "transitions") if k in query}
            enc = self.model.encode(both.get("video"), both.get("pose"), both["transitions"])
            b = query["transitions"].shape[0]
            q, e = enc.select(slice(0, b)), enc.select(slice(b, 2 * b))
        else:
            q = self.model.encode(query.get("video"), query.get("pose"), query["transitions"])
            e = self.model.encode(exemplar.get("video"), exemplar.get("pose"), exemplar["transitions"])
        mode = self.model.config.score_target  # "dd": the regressor learns score / difficulty (Table II)
        total, parts = self.model.losses(q, e, regression_target(query["score"], query["difficulty"], mode),
                                         regression_target(exemplar["score"], exemplar["difficulty"], mode))
        return total, torch.tensor([parts[k] for k in LOSS_PARTS], dtype=torch.float64)


def _to_device(item: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in item.items()}


def _progress(iterable: Any, total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return iterable
    from fdpose.progress import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="batch", file=sys.stderr, leave=False, dynamic_ncols=True)


@dataclass
class _Splits:
    train: list[Key]
    val: list[Key]
    test: list[Key]


def _splits(ann: FineDivingAnnotations, settings: RunSettings) -> _Splits:
    if not ann.train:
        raise InputError("annotations have no training split (train_split.pkl)", ann.source)
    if not ann.fine:
        raise InputError("annotations have no fine-grained file (scores, dive numbers, transitions)", ann.source)
    train, val = split_train_val(ann.train, settings.val_share, settings.seed)
    if settings.val_share > 0:
        scores = {ann.fine[k].dive_score for k in val if k in ann.fine}
        if len(val) < 2 or len(scores) < 2:
            raise ConfigError(f"the validation split has {len(val)} clips with {len(scores)} distinct scores; "
                              "model selection needs >= 2 (raise --val-share, or --val-share 0 to keep the last epoch)")
    if not train:
        raise ConfigError("no training clips left after carving out the validation split")
    return _Splits(train, val, list(ann.test))


def _poses_root(settings: RunSettings, cfg: AQAConfig, out_dir: Path, keys: list[Key], ctx: DistContext) -> str | None:
    """The pose folder to read; with ``poses_from_gt`` rank 0 writes the oracle files first."""
    if settings.poses_from_gt is None or not cfg.needs_pose:
        return settings.poses_root
    root = out_dir / f"oracle_poses_{cfg.num_frames}"
    if ctx.is_main:
        write_oracle_poses(settings.poses_from_gt, root, cfg.num_frames, keys, settings.skip_missing)
    ctx.barrier()
    return str(root)


def _val_record(result: EvalResult | None) -> dict[str, Any]:
    if result is None:
        return {}
    m = result.metrics
    aiou = result.aiou or {}
    return {"val_srcc": m.srcc if math.isfinite(m.srcc) else None, "val_l2": m.l2, "val_rl2_x100": m.rl2_x100,
            "val_rl2_min": m.range_min, "val_rl2_max": m.range_max, "val_aiou_50": aiou.get(0.5),
            "val_aiou_75": aiou.get(0.75),
            "val_baseline_srcc": result.baseline.srcc if math.isfinite(result.baseline.srcc) else None}


def _checksum(model: nn.Module) -> float:
    with torch.no_grad():
        return float(sum(p.detach().double().sum().item() for p in model.parameters()))


# ----------------------------------------------------------------------------- main entry


def train(opts: TrainOptions) -> TrainSummary:
    """Train (or resume) a run in ``opts.out_dir``; see the module docstring."""
    if opts.threads is not None:
        if opts.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {opts.threads}")
        torch.set_num_threads(opts.threads)
    ctx = init_distributed(opts.device)
    try:
        return _train(opts, ctx)
    finally:
        ctx.close()


def _train(opts: TrainOptions, ctx: DistContext) -> TrainSummary:
    out = Path(opts.out_dir)
    last = out / LAST_NAME
    stored_state: dict[str, Any] | None = None
    if ctx.is_main:
        remove_stale_temps(out)  # temp files a killed run left mid-write (their writer's pid is gone)
    if opts.resume:
        if not last.is_file():
            raise InputError(f"nothing to resume: no {LAST_NAME} in the run directory (a run killed before its "
                             "first epoch ended starts again without --resume)", out)
        stored_state = load_checkpoint(last)
    elif last.is_file():
        raise ConfigError(f"the run directory already holds a run ({LAST_NAME}); pass --resume to continue it "
                          "or choose another -o", out)
    settings = resolve_settings(opts, None if stored_state is None else dict(stored_state["run"]), ctx.world_size)
    cfg = settings.model_config()
    device = ctx.device
    use_amp = bool(opts.amp and device.type == "cuda")
    if opts.amp and not use_amp and ctx.is_main:
        log.warning("--amp only takes effect on CUDA; training in float32 on %s", device)
    torch.backends.cudnn.benchmark = False  # exact resume needs deterministic kernels
    torch.backends.cudnn.deterministic = True

    ann = load_aqa_annotations(settings.annotations, settings.dataset)
    splits = _splits(ann, settings)
    every_clip = sorted(set(ann.train) | set(ann.test))
    poses_root = _poses_root(settings, cfg, out, every_clip, ctx)
    # what this run reads; a resume may move the data but not change it (aqa_model/data/fingerprint.py)
    fingerprint = data_fingerprint(ann, every_clip,
                                   settings.frames_root if cfg.needs_video else None,
                                   poses_root if cfg.needs_pose else None)
    if stored_state is not None:
        changes = fingerprint_changes(stored_state.get("data_fingerprint"), fingerprint)
        if changes:
            raise ConfigError(f"--resume cannot change the data: {'; '.join(changes)} differ from what the run "
                              "started on; start a new run directory instead", last)
    clips = clip_dataset(ann, splits.train, cfg, settings.frames_root, poses_root,
                         skip_missing=settings.skip_missing, augment=True, seed=settings.seed)
    if len(clips) == 0:
        raise InputError("no training clip has the data the config needs", settings.annotations)
    picker = ExemplarPicker(ann, clips.keys, settings.use_dive_number, settings.seed)
    pairs = TrainingPairs(clips, picker)
    sampler = DistributedSampler(pairs, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=settings.seed, drop_last=False)
    loader = DataLoader(pairs, batch_size=settings.batch_size, sampler=sampler, num_workers=opts.num_workers,
                        pin_memory=device.type == "cuda")

    seed_everything(settings.seed)
    model = build_model(cfg, weights_follow=stored_state is not None).to(device)
    objective: nn.Module = PairObjective(model)
    if ctx.distributed:
        objective = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=True)  # ablations may leave parameters out of the loss
    # parameter groups (static encoder x static_lr_factor) and the schedule from the config (aqa_model/optim.py)
    optimizer = torch.optim.Adam(parameter_groups(model, cfg, settings.lr), lr=settings.lr,
                                 weight_decay=settings.weight_decay)
    scheduler = build_scheduler(optimizer, cfg, settings.epochs, settings.min_lr)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    tlog = TrainingLog(out, enabled=ctx.is_main)
    start_epoch, best = 0, {"epoch": None, "val_srcc": None, "record": None}
    if stored_state is not None:
        model.load_state_dict(stored_state["model"])
        optimizer.load_state_dict(stored_state["optimizer"])
        scheduler.load_state_dict(stored_state["scheduler"])
        if use_amp and stored_state.get("scaler"):
            scaler.load_state_dict(stored_state["scaler"])
        rng = stored_state.get("rng_per_rank") or []
        if len(rng) == ctx.world_size:
            restore_rng_state(rng[ctx.rank])
        start_epoch = int(stored_state["epoch"])
        best = dict(stored_state.get("best") or best)
        tlog.history = [dict(h) for h in stored_state.get("history", [])]
        if ctx.is_main:
            log.info("resuming %s after epoch %d of %d", out, start_epoch, settings.epochs)
    elif ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.json")
        write_json(out / "run.json", {"settings": dataclasses.asdict(settings), "fdpose_version": __version__,
                                      "torch_version": torch.__version__,
                                      "splits": {"train": [key_name(k) for k in splits.train],
                                                 "val": [key_name(k) for k in splits.val],
                                                 "test": [key_name(k) for k in splits.test]},
                                      "skipped": {key_name(k): v for k, v in clips.skipped.items()}})
    n_params = sum(p.numel() for p in model.parameters())
    if ctx.is_main:
        log.info("training %s (%d parameters) on %s: %d clips (%d pairs/epoch per rank), %d val, world size %d",
                 cfg.name, n_params, device, len(clips), len(sampler), len(splits.val), ctx.world_size)
    tlog.open_tensorboard(purge_step=start_epoch + 1)

    epoch = start_epoch
    for epoch in range(start_epoch, settings.epochs):
        t0 = time.perf_counter()
        sampler.set_epoch(epoch)
        pairs.set_epoch(epoch)
        lr = optimizer.param_groups[0]["lr"]
        sums, seen = _train_epoch(objective, model, loader, optimizer, scaler, device, use_amp, epoch,
                                  opts.progress and ctx.is_main)
        scheduler.step()
        totals = ctx.sum_tensor(sums)
        queries = ctx.all_gather_object([key_name(clips.keys[i]) for i in seen])
        checksums = ctx.all_gather_object(_checksum(model))
        rng_states = ctx.all_gather_object(capture_rng_state())
        record: dict[str, Any] = {"epoch": epoch + 1, "lr": lr}
        n_pairs = max(float(totals[-1]), 1.0)
        record.update({f"loss_{k}": float(totals[i]) / n_pairs for i, k in enumerate(LOSS_PARTS)})
        record["train_pairs"] = int(totals[-1])
        if ctx.is_main:
            result = None
            if splits.val:
                result = evaluate(model, ann, splits.val, clips.keys, settings.frames_root, poses_root,
                                  device=device, num_exemplars=settings.val_exemplars,
                                  use_dive_number=settings.use_dive_number, seed=settings.seed,
                                  batch_size=settings.batch_size, num_workers=opts.num_workers,
                                  skip_missing=settings.skip_missing, progress=False)
                # validation draws from the global RNGs (its DataLoader's base seed): put them back to the
                # state just saved, so the next epoch (dropout masks) is the same resumed or not
                restore_rng_state(rng_states[ctx.rank])
            record.update(_val_record(result))
            if settings.protocol == "official" and splits.test and official_test_due(epoch, settings.test_every):
                record.update(_official_test(model, ann, splits.test, settings, poses_root, device, opts, epoch))
                restore_rng_state(rng_states[ctx.rank])
            srcc = record.get("val_srcc")
            improved = (best["epoch"] is None or not splits.val
                        or (srcc is not None and (best["val_srcc"] is None or srcc > best["val_srcc"])))
            record["is_best"] = bool(improved)
            record["seconds"] = round(time.perf_counter() - t0, 3)
            if improved:
                best = {"epoch": epoch + 1, "val_srcc": srcc, "record": dict(record)}
            tlog.append(record, {"queries_per_rank": {str(r): q for r, q in enumerate(queries)},
                                 "param_checksums": checksums, "world_size": ctx.world_size})
            state = {"config": cfg.to_dict(), "model": model.state_dict(), "epoch": epoch + 1,
                     "run": dataclasses.asdict(settings), "best": best, "history": tlog.history,
                     "data_fingerprint": fingerprint}
            if improved:
                save_checkpoint(out / BEST_NAME, state)
            save_checkpoint(last, {**state, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                   "scaler": scaler.state_dict() if use_amp else {}, "rng_per_rank": rng_states})
            tlog.write_files(curve=(epoch + 1) % CURVE_EVERY == 0)
            log.info("epoch %d/%d: loss %.4f (mse %.4f ce %.4f con %.4f)%s  %.1f s", epoch + 1, settings.epochs,
                     record["loss_total"], record["loss_mse"], record["loss_ce"], record["loss_contrastive"],
                     "" if result is None else f"  val {result.metrics.describe()}", record["seconds"])
        ctx.barrier()
        if opts.stop_after is not None and epoch + 1 >= opts.stop_after and epoch + 1 < settings.epochs:
            epoch += 1
            break
    else:
        epoch = settings.epochs
    tlog.write_files(curve=True, title=f"{cfg.name}: {out.name}")
    tlog.close()
    finished = epoch >= settings.epochs
    test_summary = None
    if ctx.is_main and finished and opts.final_test and splits.test:
        test_summary = _final_test(out, cfg, ann, settings, poses_root, device, opts)
    summary = TrainSummary(out, epoch, settings.epochs, finished, best["epoch"], best.get("record"), test_summary,
                           round(sum(float(h.get("seconds", 0.0)) for h in tlog.history), 3), ctx.world_size,
                           n_params, {key_name(k): v for k, v in clips.skipped.items()},
                           official_summary(tlog.history) if settings.protocol == "official" else None)
    if ctx.is_main and summary.official:
        log.info("official protocol: %s", describe_official(summary.official))
    if ctx.is_main:
        write_json(out / "summary.json", summary.as_dict())
    ctx.barrier()
    return summary


def _train_epoch(objective: nn.Module, model: HPMCoRe, loader: DataLoader, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, device: torch.device, use_amp: bool, epoch: int,
                 progress: bool) -> tuple[torch.Tensor, list[int]]:
    """One pass over this rank's shard -> ((5,) sums of loss parts x pairs and the pair count, query indices)."""
    model.train()
    sums = torch.zeros(len(LOSS_PARTS) + 1, dtype=torch.float64)
    seen: list[int] = []
    autocast = (torch.autocast(device_type="cuda", dtype=torch.float16) if use_amp
                else contextlib.nullcontext())
    bar = _progress(loader, len(loader), f"epoch {epoch + 1}", progress)
    for step, batch in enumerate(bar):
        query, exemplar = _to_device(batch["query"], device), _to_device(batch["exemplar"], device)
        with autocast:
            total, parts = objective(query, exemplar)
        if not torch.isfinite(total):
            raise ValidationError(f"training loss became {float(total)} at epoch {epoch + 1} step {step + 1} "
                                  "(try a lower --lr)")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        scaler.step(optimizer)
        scaler.update()
        b = int(batch["query"]["index"].shape[0])
        sums[:-1] += parts.cpu() * b
        sums[-1] += b
        seen.extend(int(i) for i in batch["query"]["index"])
        if progress and hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{float(parts[0]):.3f}")
    return sums, seen


def _official_test(model: HPMCoRe, ann: FineDivingAnnotations, test: list[Key], settings: RunSettings,
                   poses_root: str | None, device: torch.device, opts: TrainOptions, epoch: int) -> dict[str, Any]:
    """One of the official protocol's test evaluations: new random exemplars each time (seed + epoch)."""
    try:
        result = evaluate(model, ann, test, ann.train, settings.frames_root, poses_root, device=device,
                          num_exemplars=opts.test_exemplars, use_dive_number=settings.use_dive_number,
                          seed=settings.seed + epoch + 1, batch_size=settings.batch_size,
                          num_workers=opts.num_workers, skip_missing=settings.skip_missing, progress=False)
    except ValidationError as exc:
        log.warning("official protocol: test evaluation after epoch %d skipped: %s", epoch + 1, exc)
        return {}
    m = result.metrics
    return {"test_srcc": m.srcc if math.isfinite(m.srcc) else None, "test_l2": m.l2, "test_rl2_x100": m.rl2_x100}


def official_summary(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Best-of-evaluations figures of ``--protocol official`` from the per-epoch records, as the official code
    reports them: the highest test SRCC, and the L2 and R-l2 minima tracked separately (maybe other epochs),
    all labelled "selected on test"; beside them the last evaluation's figures."""
    evals = [h for h in history if h.get("test_srcc") is not None or h.get("test_l2") is not None]
    if not evals:
        return None

    def pick(key: str, best: Any) -> dict[str, Any] | None:
        rows = [h for h in evals if h.get(key) is not None]
        if not rows:
            return None
        row = best(rows, key=lambda h: h[key])
        return {"value": row[key], "epoch": row["epoch"]}

    last = evals[-1]
    return {"evaluations": len(evals),
            "selected_on_test": {"srcc": pick("test_srcc", max), "l2": pick("test_l2", min),
                                 "rl2_x100": pick("test_rl2_x100", min)},
            "last_evaluation": {"epoch": last["epoch"], "srcc": last.get("test_srcc"), "l2": last.get("test_l2"),
                                "rl2_x100": last.get("test_rl2_x100")}}


def describe_official(official: dict[str, Any]) -> str:
    """One line: the selected-on-test figures (labelled so) beside the last evaluation's."""
    sel, last = official["selected_on_test"], official["last_evaluation"]

    def fmt(d: dict[str, Any] | None, digits: int) -> str:
        return "n/a" if d is None else f"{d['value']:.{digits}f} (epoch {d['epoch']})"

    def val(x: Any, digits: int) -> str:
        return "n/a" if x is None else f"{x:.{digits}f}"

    return (f"selected on test over {official['evaluations']} evaluations: SRCC {fmt(sel['srcc'], 4)}, "
            f"min L2 {fmt(sel['l2'], 3)}, min R-l2 x100 {fmt(sel['rl2_x100'], 3)}; last evaluation (epoch "
            f"{last['epoch']}): SRCC {val(last['srcc'], 4)}, L2 {val(last['l2'], 3)}, "
            f"R-l2 x100 {val(last['rl2_x100'], 3)}")


def _final_test(out: Path, cfg: AQAConfig, ann: FineDivingAnnotations, settings: RunSettings,
                poses_root: str | None, device: torch.device, opts: TrainOptions) -> dict[str, Any] | None:
    """Score the test split once with the best weights -> the test report (files in RUN_DIR/test)."""
    best_path = out / BEST_NAME if (out / BEST_NAME).is_file() else out / LAST_NAME
    model, state, _ = model_from_checkpoint(best_path, device)
    try:
        result = evaluate(model, ann, ann.test, ann.train, settings.frames_root, poses_root, device=device,
                          num_exemplars=opts.test_exemplars, use_dive_number=settings.use_dive_number,
                          seed=settings.seed, batch_size=settings.batch_size, num_workers=opts.num_workers,
                          skip_missing=settings.skip_missing, progress=opts.progress,
                          settings={"split": "test", "checkpoint": str(best_path), "epoch": int(state["epoch"])})
    except ValidationError as exc:
        log.warning("final test evaluation skipped: %s", exc)
        return None
    write_eval_outputs(result, out / "test", cfg.num_frames, f"{cfg.name} test (epoch {state['epoch']})")
    log.info("test (best epoch %s): %s", state["epoch"], result.describe().replace("\n", "; "))
    return result.summary()

