"""The seven steps of ``fdpose demo`` (see :mod:`fdpose.demo.plan` for what each sees).

Every step takes the :class:`DemoContext` and returns a JSON-ready dict of what it measured;
:mod:`fdpose.demo.run` times the steps, records them in ``DEMO_DIR/demo_state.json`` and
skips finished ones on ``--resume``. Heavy imports (torch, mmpose) happen inside the steps.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fdpose.demo.plan import DemoPlan
from fdpose.errors import FdposeError, ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoContext:
    """Where the demo writes (``out``) and what it runs (``plan``); ``device``: auto | cpu | cuda."""

    out: Path
    plan: DemoPlan
    device: str = "auto"
    progress: bool = False
    command: str = "fdpose demo"

    @property
    def world(self) -> Path:
        return self.out / "world"

    @property
    def hrnet(self) -> Path:
        return self.out / "hrnet"

    @property
    def track(self) -> Path:
        return self.out / "track"

    @property
    def dataset(self) -> Path:
        return self.out / "dataset"

    @property
    def aqa(self) -> Path:
        return self.out / "aqa"

    @property
    def aqa_annotations(self) -> Path:
        """The annotations the AQA steps read: the world's, or (when the export dropped clips) a copy
        whose split lists leave the dropped clips out (written by :func:`step_export`)."""
        filtered = self.out / "aqa_annotations"
        return filtered if filtered.is_dir() else self.world / "annotations"

    @property
    def eval_dir(self) -> Path:
        return self.out / "aqa" / "eval" / "test"


def _splits(ctx: DemoContext) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    from fdpose.finediving import load_annotations

    ann = load_annotations(ctx.world / "annotations")
    return list(ann.train), list(ann.test)


def _labelme_dirs(ctx: DemoContext, keys: list[tuple[str, int]]) -> list[Path]:
    return [ctx.world / "labelme" / m / str(i) for m, i in keys if (ctx.world / "labelme" / m / str(i)).is_dir()]


def _round(v: Any, digits: int = 4) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, digits)
    return v


# ----------------------------------------------------------------------------- 1 synth


def step_synth(ctx: DemoContext) -> dict[str, Any]:
    """Render the synthetic world (frames, LabelMe labels, ground truth, detections, pickles)."""
    from fdpose.synth.config import SynthConfig
    from fdpose.synth.world import generate_world

    p = ctx.plan
    cfg = SynthConfig(videos=p.clips, seed=p.seed, frames=p.frames, write_video=False, dive_numbers=p.dive_numbers,
                      train_share=p.train_share, form_faults=p.form_faults)
    generate_world(cfg, ctx.world, workers=1, overwrite=True)
    train, test = _splits(ctx)
    frames = sum(1 for _ in (ctx.world / "frames").glob("*/*/*.jpg"))
    return {"clips": p.clips, "train_clips": len(train), "test_clips": len(test), "frames": frames,
            "dive_numbers": list(p.dive_numbers), "form_faults": p.form_faults}


# ----------------------------------------------------------------------------- 2 validate


def step_validate(ctx: DemoContext) -> dict[str, Any]:
    """Validate every LabelMe file of the world against the MPII-16 protocol (errors stop the demo)."""
    from fdpose.annotations.validate import validate_paths

    report = validate_paths([ctx.world / "labelme"])
    if not report.ok:
        first = next(p for p in report.problems if p.severity.name == "ERROR")
        raise ValidationError(f"{report.errors} label errors, first: {first.line()}", ctx.world / "labelme")
    kinds = report.warning_kinds()
    # most warnings of the synth labels are occluded joints under water, outside the visible-diver box
    top = next(iter(kinds), None)
    return {"files": report.files_checked, "errors": report.errors, "warnings": report.warnings,
            "most_warnings": None if top is None else f"{kinds[top]} {top}"}


# ----------------------------------------------------------------------------- 3 fine-tune


def step_finetune(ctx: DemoContext) -> dict[str, Any]:
    """Fine-tune hrnet-small on the training clips' labels (clip-level validation split)."""
    import shutil

    from fdpose.hrnet_finetune.config import TrainSettings
    from fdpose.hrnet_finetune.train import mean_images_per_s, train

    p = ctx.plan
    train_keys, _ = _splits(ctx)
    train_keys = train_keys[:p.hrnet_clips] if p.hrnet_clips else train_keys
    if ctx.hrnet.exists():  # a half-finished earlier attempt: this step always starts clean
        shutil.rmtree(ctx.hrnet)
    device = "cpu" if ctx.device == "cpu" else "auto"
    result = train(TrainSettings(
        labelme_dirs=_labelme_dirs(ctx, train_keys), work_dir=ctx.hrnet, arch="hrnet-small", epochs=p.hrnet_epochs,
        batch_size=p.hrnet_batch, input_size=p.hrnet_input, val_share=p.hrnet_val_share, device=device, workers=0,
        seed=p.seed, val_interval=max(1, p.hrnet_epochs // 3), frame_stride=p.hrnet_frame_stride))
    pckh = (result.metrics.get("val") or {}).get("PCKh@0.5")
    pckh = pckh.get("mean") if isinstance(pckh, dict) else pckh  # per-joint breakdown stays in metrics.json
    speed = mean_images_per_s(result.history)
    return {"checkpoint": str(result.best_checkpoint), "config": str(result.config), "curve": str(result.curve),
            "best_epoch": result.best_epoch, "epochs": result.epochs, "train_frames": result.split["train"]["frames"],
            "val_clips": len(result.split["val"]["clips"]), "val_pckh": _round(pckh),
            "images_per_s": None if speed is None else round(speed, 2)}


# ----------------------------------------------------------------------------- 4 track-and-estimate


def step_track(ctx: DemoContext, finetune: dict[str, Any]) -> dict[str, Any]:
    """Track the diver (simulated detector) and estimate poses with the fine-tuned HRNet on every clip.

    Tracking accuracy is over all clips; PCKh@0.5 over the test clips only (never labelled).
    """
    from fdpose.synth.evaluate import evaluate_run
    from fdpose.pipelines.runner import RunConfig, run_batch

    train_keys, test_keys = _splits(ctx)
    device = "cpu" if ctx.device == "cpu" else "auto"
    base = dict(out=ctx.track, detector="file", detections=ctx.world / "detections", pose="hrnet",
                pose_config=Path(finetune["config"]), pose_checkpoint=Path(finetune["checkpoint"]), device=device,
                resume=True)
    clip_dir = lambda k: ctx.world / "frames" / k[0] / str(k[1])  # noqa: E731
    summaries = [run_batch([clip_dir(k) for k in test_keys], RunConfig(**base, save_overlay=True), progress=ctx.progress),
                 run_batch([clip_dir(k) for k in train_keys], RunConfig(**base), progress=ctx.progress)]
    failed = [o for s in summaries for o in s.outcomes if o.status == "failed"]
    if failed:
        raise FdposeError(f"track-and-estimate failed on {len(failed)} clips, first: {failed[0].clip_id}: "
                          f"{failed[0].reason}")
    done = [o for s in summaries for o in s.outcomes if o.status == "done"]
    # clips the runner skipped for a reason other than an earlier complete output (e.g. taken for a
    # synchronised dive): the export leaves them out under the plan's drop_failing, else stops on them
    refused = [{"clip_id": o.clip_id, "reason": o.reason} for s in summaries for o in s.outcomes
               if o.status == "skipped" and o.reason != "complete (resume)"]
    frames = sum(o.frames for o in done)
    seconds = sum(sum(o.seconds.values()) for o in done)
    joints = sum(o.total_joints for o in done)
    scores = evaluate_run(ctx.world, ctx.track)
    test_ids = {f"{m}__{i}" for m, i in test_keys}
    test_clips = [c for c in scores["clips"] if c["clip_id"] in test_ids]
    pck_joints = sum(c["pckh_joints"] for c in test_clips)
    sheets = sorted((ctx.track / "overlay").glob("*_sheet.png"))
    return {"clips": len(done) + sum(1 for s in summaries for o in s.outcomes if o.status == "skipped"),
            "frames": frames, "pipeline_frames_per_s": _round(frames / seconds, 2) if seconds else None,
            "tracking_accuracy": _round(scores["tracking_accuracy"]),
            "test_pckh": _round(sum(c["pckh_correct"] for c in test_clips) / pck_joints) if pck_joints else None,
            "test_pckh_joints": pck_joints,
            "interpolated_share": _round(sum(o.interpolated_joints for o in done) / joints, 6) if joints else None,
            "tracker_losses": sum(o.tracker_losses for o in done), "refused": refused,
            "contact_sheet": str(sheets[0]) if sheets else None}


# ----------------------------------------------------------------------------- 5 export


def _without(ctx: DemoContext, folder: Path, leave_out: set[tuple[str, int]], records: bool = False) -> Path:
    """A copy of the world's annotations in ``folder`` (new: the caller removed any older copy) whose
    split lists leave ``leave_out`` out (with ``records`` also their fine-grained and coarse records:
    the export takes every record's clip)."""
    from fdpose.finediving import load_annotations, save_annotations

    ann = load_annotations(ctx.world / "annotations")
    ann.train = [k for k in ann.train if k not in leave_out]
    ann.test = [k for k in ann.test if k not in leave_out]
    if records:
        ann.fine = {k: v for k, v in ann.fine.items() if k not in leave_out}
        ann.coarse = {k: v for k, v in ann.coarse.items() if k not in leave_out}
    folder.mkdir(parents=True)
    save_annotations(folder, ann)
    return folder


def step_export(ctx: DemoContext, track: dict[str, Any] | None = None) -> dict[str, Any]:
    """Export FineDiving-Pose (manual labels of the training clips win) and check it.

    With the plan's ``drop_failing``, clips are left out and reported instead of stopping the demo:
    those track-and-estimate refused (``track["refused"]``, e.g. taken for a synchronised dive:
    the export reads a copy of the annotations without them) and those over the export check's
    interpolated-joints limit (``export --drop-failing``). The AQA steps then read a copy of the
    annotations without any of them (:attr:`DemoContext.aqa_annotations`).
    """
    import shutil

    from fdpose.pipelines.export import export_dataset

    train_keys, test_keys = _splits(ctx)
    split_of = {**{k: "train" for k in train_keys}, **{k: "test" for k in test_keys}}
    refused: list[dict[str, Any]] = []
    if ctx.plan.drop_failing:
        for r in (track or {}).get("refused", []):
            match, idx = r["clip_id"].rsplit("__", 1)
            refused.append({"key": [match, int(idx)], "split": split_of.get((match, int(idx)), "none"),
                            "reason": f"track-and-estimate skipped it: {r['reason']}"})
    export_ann, filtered = ctx.out / "export_annotations", ctx.out / "aqa_annotations"
    for folder in (export_ann, filtered):
        if folder.exists():
            shutil.rmtree(folder)
    gone = {(d["key"][0], d["key"][1]) for d in refused}
    annotations = _without(ctx, export_ann, gone, records=True) if refused else ctx.world / "annotations"
    labels = _labelme_dirs(ctx, [k for k in train_keys if k not in gone])
    summary = export_dataset(ctx.track, labels, annotations, ctx.dataset, fmt=["fdpose", "hpmcore"], overwrite=True,
                             command=ctx.command, drop_failing=ctx.plan.drop_failing)
    if not summary.check.ok:
        raise ValidationError("dataset check failed: " + "; ".join(str(p) for p in summary.check.problems()[:3]),
                              ctx.dataset)
    left_out = refused + [dict(d) for d in summary.dropped]
    if left_out:  # the AQA steps train and test on the exported clips only
        _without(ctx, filtered, {(d["key"][0], int(d["key"][1])) for d in left_out})
        log.info("the dataset leaves out %d clip(s): %s", len(left_out),
                 ", ".join(f"{d['key'][0]}__{d['key'][1]} ({d['reason']})" for d in left_out))
    return {"clips": summary.clips, "frames": summary.frames, "manual_frames": summary.manual_frames,
            "provenance_share": {k: _round(v, 6) for k, v in summary.provenance_share.items()},
            "card": str(summary.card), "check_ok": summary.check.ok,
            "dropped": left_out, "dropped_clips": len(left_out)}


# ----------------------------------------------------------------------------- 6 train AQA


def step_train_aqa(ctx: DemoContext) -> dict[str, Any]:
    """Train the tiny HP-MCoRe on the training split with the exported poses (no final test here)."""
    import shutil

    from fdpose.aqa_model.presets import load_config
    from fdpose.aqa_model.train import TrainOptions, train

    p = ctx.plan
    if ctx.aqa.exists():
        shutil.rmtree(ctx.aqa)
    summary = train(TrainOptions(
        out_dir=ctx.aqa, annotations=ctx.aqa_annotations, frames_root=ctx.world / "frames",
        poses_root=ctx.dataset / "Pose", config=load_config(p.aqa_config), epochs=p.aqa_epochs,
        batch_size=p.aqa_batch, seed=p.seed, val_share=p.aqa_val_share, device=ctx.device, threads=p.threads,
        final_test=False, progress=ctx.progress))
    best = summary.best_val or {}
    return {"epochs": summary.epochs_completed, "best_epoch": summary.best_epoch, "parameters": summary.parameters,
            "val_srcc": _round(best.get("val_srcc")), "curve": str(ctx.aqa / "training_curve.png")}


# ----------------------------------------------------------------------------- 7 eval


def step_eval(ctx: DemoContext) -> dict[str, Any]:
    """Score the test split with the best AQA checkpoint (10 seeded same-dive exemplars from train)."""
    from fdpose.aqa_model.checkpoint import model_from_checkpoint
    from fdpose.aqa_model.distributed import pick_device
    from fdpose.aqa_model.evaluate import evaluate, write_eval_outputs
    from fdpose.aqa_model.metrics import srcc_interval
    from fdpose.finediving import load_annotations

    device = pick_device(ctx.device)
    model, state, ckpt = model_from_checkpoint(ctx.aqa, device)
    ann = load_annotations(ctx.aqa_annotations)
    result = evaluate(model, ann, list(ann.test), list(ann.train), ctx.world / "frames", ctx.dataset / "Pose",
                      device=device, num_exemplars=ctx.plan.aqa_exemplars, seed=ctx.plan.seed,
                      settings={"split": "test", "checkpoint": str(ckpt), "epoch": int(state.get("epoch", 0)),
                                "config": model.config.name})
    paths = write_eval_outputs(result, ctx.eval_dir, model.config.num_frames, f"{model.config.name} test (demo)")
    rep = result.summary()
    aiou = rep.get("aiou") or {}
    ci = rep.get("srcc_ci95") or [None, None]
    preds = result.predictions
    gain = srcc_gain_interval([q.pred_score for q in preds], [q.exemplar_mean for q in preds],
                              [q.true_score for q in preds], seed=ctx.plan.seed) if len(preds) >= 3 else (None,) * 3
    # the baseline's own interval (same resampling rule as the model's): both figures carry one
    base_ci = srcc_interval([q.exemplar_mean for q in preds], [q.true_score for q in preds],
                            seed=ctx.plan.seed) if len(preds) >= 3 else (None, None)
    return {"queries": rep["queries"], "srcc": _round(rep["srcc"]), "rl2_x100": _round(rep["rl2_x100"]),
            "srcc_gain_over_baseline": [_round(v) for v in gain],
            "srcc_ci95": [_round(ci[0]), _round(ci[1])], "l2": _round(rep["l2"]),
            "aiou_50": _round(aiou.get("0.5")), "aiou_75": _round(aiou.get("0.75")),
            "baseline_srcc": _round(rep["baseline_exemplar_mean"]["srcc"]),
            "baseline_srcc_ci95": [_round(v) for v in base_ci],
            "baseline_rl2_x100": _round(rep["baseline_exemplar_mean"]["rl2_x100"]),
            "scatter": str(paths["scatter"])}


def srcc_gain_interval(pred: Any, baseline: Any, true: Any, level: float = 0.95, resamples: int = 2000,
                       seed: int = 0) -> tuple[float, float, float]:
    """SRCC(pred, true) - SRCC(baseline, true) over (N,) test dives and its paired percentile bootstrap
    interval (the same dives resampled for both, ``scipy.stats.bootstrap``; seeded).

    Whether the model beats the exemplar-mean baseline is this difference, not two overlapping
    intervals: both rank the same dives, so their errors are correlated.
    """
    import warnings

    import numpy as np
    from scipy import stats

    def gain(p: Any, b: Any, t: Any, axis: int = -1) -> Any:
        rp, rb, rt = (stats.rankdata(x, axis=axis) for x in (p, b, t))

        def corr(x: Any, y: Any) -> Any:
            x = x - x.mean(axis=axis, keepdims=True)
            y = y - y.mean(axis=axis, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                return (x * y).sum(axis=axis) / np.sqrt((x * x).sum(axis=axis) * (y * y).sum(axis=axis))

        return corr(rp, rt) - corr(rb, rt)

    arrays = [np.asarray(a, dtype=float) for a in (pred, baseline, true)]
    point = float(gain(arrays[0], arrays[1], arrays[2]))
    with warnings.catch_warnings():  # resamples with all-tied scores give NaN, dropped below
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(tuple(arrays), gain, paired=True, vectorized=True, n_resamples=resamples,
                              confidence_level=level, method="percentile", random_state=np.random.default_rng(seed))
    dist = res.bootstrap_distribution[np.isfinite(res.bootstrap_distribution)]
    if dist.size == 0:
        return point, float("nan"), float("nan")
    lo, hi = np.quantile(dist, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, float(lo), float(hi)


StepFn = Callable[..., dict[str, Any]]
STEP_NAMES: tuple[str, ...] = ("synth", "validate", "finetune", "track", "export", "train_aqa", "eval")
