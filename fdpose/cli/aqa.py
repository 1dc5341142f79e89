"""``fdpose train-aqa``, ``fdpose eval-aqa`` and ``fdpose score``: the HP-MCoRe / MCoRe commands.

Heavy imports (torch, the model) happen inside the commands so ``fdpose --help`` stays fast.
``python -m fdpose.cli.aqa COMMAND ...`` runs the three commands without the root group
(what ``torchrun -m`` needs before they are registered there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import click

from fdpose.cli.common import emit_json, json_option
from fdpose.cli.options import (SEED, finite, parse_box, pick_backends, pose_options_from, pose_set_option,
                                set_threads, threads_option, tracker_from_options, tracker_options)

_DIR = click.Path(file_okay=False, path_type=Path)
_EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def _is_main_process() -> bool:
    """Only torchrun rank 0 prints (all ranks run the same command line)."""
    from fdpose.runtime import dist_env

    return dist_env().is_main


_threads_option = threads_option(", shared among torchrun processes")


def _parse_key(text: str) -> tuple[str, int]:
    match, idx = text.rsplit("/", 1)
    return match, int(idx)


# ----------------------------------------------------------------------------- train-aqa


@click.command("train-aqa")
@click.option("--data", "frames_root", type=_EXISTING_DIR, help="FineDiving frame root {root}/{match}/{idx}/*.jpg.")
@click.option("--annotations", type=click.Path(exists=True, path_type=Path),
              help="Folder with the FineDiving pickles (fine-grained, coarse, train/test splits).")
@click.option("--poses", "poses_root", type=_EXISTING_DIR, help="Pose root {poses}/{match}/pred_comp_{idx}.npz.")
@click.option("--poses-from-gt", type=_EXISTING_DIR,
              help="Oracle poses: a synth world's gt/ folder; pose files are derived into RUN_DIR.")
@click.option("-o", "--out", "out_dir", type=_DIR, required=True, help="Run directory (checkpoints, logs).")
@click.option("--config", "config_spec", help="Model: hpmcore (the official code) | paper (alias full) | tiny | mcore | a JSON/YAML file  "
                   "[new runs: hpmcore]")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs  [the config's code_epochs (hpmcore 201), else 200]")
@click.option("--batch-size", type=click.IntRange(min=1), help="Pairs per step per process  [8]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), callback=finite, help="Adam learning rate (schedule and static-encoder factor from the config)  [the config's code_lr (mcore 1e-3), else 5e-4]")
@click.option("--weight-decay", type=click.FloatRange(min=0), callback=finite, help="Adam weight decay  [0]")
@click.option("--seed", type=SEED, help="Seed of init, data order, exemplars, augmentation, val split  [0]")
@click.option("--val-share", type=click.FloatRange(0, 1, max_open=True), callback=finite, help="Share of the training split held out for model selection  [0.1]")
@click.option("--no-dive-number", is_flag=True, help="Exemplars of any dive number (the second setting).")
@click.option("--dataset", type=click.Choice(["finediving", "mtlaqa", "mtlaqa-dive"]),
              help="Annotation format of --annotations: FineDiving's pickles, or MTL-AQA's (final_annotations_dict*.pkl, "
                   "train/test_split_0.pkl; exemplars of the same difficulty, mtlaqa-dive: same dive number)  [finediving]")
@click.option("--score-target", type=click.Choice(["final", "dd"]),
              help="Override the config's score_target: dd regresses score / difficulty and multiplies back (Table II)")
@click.option("--protocol", type=click.Choice(["heldout", "official"]),
              help="heldout: a validation share picks the epoch, the test split is scored once; official: the "
                   "official code's protocol (whole training split; the test split scored every --test-every "
                   "epochs with new exemplars; best-of figures labelled 'selected on test')  [heldout]")
@click.option("--test-every", type=click.IntRange(min=1),
              help="--protocol official: epochs between test evaluations  [the config's code_test_every (mcore 1), "
                   "else HP-MCoRe's code's schedule: after epochs 1, 3, ..., 139, then after every epoch]")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option("--amp", is_flag=True, help="Mixed precision (float16 autocast; CUDA only).")
@click.option("--resume", is_flag=True, help="Continue the run in RUN_DIR exactly where last.pt left it.")
@click.option("--stop-after", type=click.IntRange(min=1), help="Stop (checkpointed) after this many epochs; continue with --resume.")
@click.option("--skip-missing", is_flag=True, help="Skip clips with missing frames/poses (counted) instead of failing.")
@click.option("--num-workers", type=click.IntRange(min=0), default=0, show_default=True, help="DataLoader worker processes.")
@click.option("--no-final-test", is_flag=True, help="Do not score the test split at the end.")
@click.option("--i3d-weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Kinetics-400 RGB I3D state dict (local file) for the dynamic encoder: kinetics_i3d_pytorch's "
                   "model_rgb.pth or pytorch-i3d's rgb_imagenet.pt.")
@click.option("--static-weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="ImageNet weights (local file) for the static encoder: a torchvision ResNet state dict, or "
                   "timm's regnety_002 (.pth/.bin/.safetensors) for RegNetY-002-GSM configs (mcore, hpmcore).")
@click.option("--allow-random-init", is_flag=True,
              help="Let hpmcore/paper/full/mcore train visual encoders that start from random weights.")
@_threads_option
@json_option
def train_aqa(frames_root: Optional[Path], annotations: Optional[Path], poses_root: Optional[Path],
              poses_from_gt: Optional[Path], out_dir: Path, config_spec: Optional[str], epochs: Optional[int],
              batch_size: Optional[int], lr: Optional[float], weight_decay: Optional[float], seed: Optional[int],
              val_share: Optional[float], no_dive_number: bool, dataset: Optional[str], score_target: Optional[str],
              protocol: Optional[str], test_every: Optional[int], device: str, amp: bool, resume: bool,
              stop_after: Optional[int], skip_missing: bool, num_workers: int, no_final_test: bool,
              i3d_weights: Optional[Path], static_weights: Optional[Path], allow_random_init: bool,
              threads: Optional[int], as_json: bool) -> None:
    """Train HP-MCoRe / MCoRe on FineDiving(-Pose) (Adam + cosine, same-dive-number pairs).

    Writes RUN_DIR/{run.json, config.json, last.pt, best.pt, metrics.csv, training_curve.png,
    logs/, test/}. Multi-GPU / multi-node: launch with torchrun (DDP; gloo on CPU, NCCL on CUDA).
    """
    import dataclasses
    import sys

    from fdpose.aqa_model.presets import check_pretrained, load_config
    from fdpose.aqa_model.encoders.pretrained import verify_pretrained
    from fdpose.aqa_model.train import TrainOptions, train

    config = load_config(config_spec) if config_spec else (None if resume else load_config("hpmcore"))
    if config is not None:
        if score_target:
            config = dataclasses.replace(config, score_target=score_target)
        if i3d_weights:
            config = dataclasses.replace(config, i3d_weights=str(i3d_weights))
        if static_weights:  # whichever static encoder the config builds (ResNet or RegNetY-002-GSM)
            field = "regnet_weights" if config.static_encoder == "regnet_gsm" else "resnet_weights"
            config = dataclasses.replace(config, **{field: str(static_weights)})
        check_pretrained(config, allow_random_init)
        # weight files are checked against their encoders before any data is read; their path and
        # sha256 travel in the config (run.json settings.config.extra.pretrained_weights, checkpoints)
        records = verify_pretrained(config)
        if records:
            config = dataclasses.replace(config, extra={**config.extra, "pretrained_weights": records})
    threads = set_threads(threads)
    opts = TrainOptions(
        out_dir=out_dir, annotations=annotations, frames_root=frames_root, poses_root=poses_root,
        poses_from_gt=poses_from_gt, config=config, epochs=epochs, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, seed=seed, val_share=val_share,
        use_dive_number=False if no_dive_number else None, skip_missing=True if skip_missing else None,
        protocol=protocol, test_every=test_every, dataset=dataset, device=device, resume=resume, amp=amp, num_workers=num_workers, threads=threads, stop_after=stop_after,
        final_test=not no_final_test, progress=not (as_json and not sys.stderr.isatty()))
    summary = train(opts)
    if not _is_main_process():
        return
    if as_json:
        emit_json(summary.as_dict())
        return
    state = "finished" if summary.finished else "stopped (continue with --resume)"
    click.echo(f"{state} after epoch {summary.epochs_completed}/{summary.epochs_total} in {summary.seconds:.1f} s "
               f"({summary.parameters} parameters, world size {summary.world_size}); run in {summary.out_dir}")
    if summary.official:
        from fdpose.aqa_model.train import describe_official

        click.echo(f"official protocol: {describe_official(summary.official)}")
    if summary.best_val and summary.best_val.get("val_srcc") is not None:
        b = summary.best_val
        click.echo(f"best epoch {summary.best_epoch}: val SRCC {b['val_srcc']:.4f}, R-l2x100 {b['val_rl2_x100']:.4f} "
                   f"(range {b['val_rl2_min']:g}-{b['val_rl2_max']:g})")
    if summary.test:
        _echo_report(summary.test)
    if summary.skipped:
        click.echo(f"skipped {len(summary.skipped)} clips with missing data")


def _echo_report(report: dict[str, Any]) -> None:
    lo, hi = report["rl2_range"]
    srcc = report["srcc"]
    click.echo(f"{report['settings'].get('split', 'eval')}: {report['queries']} queries  "
               f"SRCC {'n/a' if srcc is None else f'{srcc:.4f}'}  L2 {report['l2']:.4f}  "
               f"R-l2x100 {report['rl2_x100']:.4f} (range {lo:g}-{hi:g})")
    ci = report.get("srcc_ci95") or [None, None]
    if None not in ci:
        click.echo(f"SRCC 95% bootstrap interval over the queries: {ci[0]:.3f} to {ci[1]:.3f}")
    if report.get("aiou"):
        click.echo("AIoU " + "  ".join(f"@{k} {v:.2f}%" for k, v in report["aiou"].items())
                   + f" (mode {report['aiou_mode']})")
    base = report["baseline_exemplar_mean"]
    bs = base["srcc"]
    click.echo(f"baseline exemplar mean (delta = 0): SRCC {'n/a' if bs is None else f'{bs:.4f}'}  "
               f"R-l2x100 {base['rl2_x100']:.4f}")
    if report.get("fallback_queries"):
        click.echo(f"{report['fallback_queries']} queries had no same-dive-number exemplar (used any dive number)")


# ----------------------------------------------------------------------------- eval-aqa


def _run_record(ckpt: Path) -> dict[str, Any]:
    from fdpose.io import read_json

    path = ckpt.parent / "run.json"
    if not path.is_file():
        return {}
    doc = read_json(path)
    return doc if isinstance(doc, dict) else {}


@click.command("eval-aqa")
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.option("--data", "frames_root", type=_EXISTING_DIR, help="Frame root  [the run's]")
@click.option("--annotations", type=click.Path(exists=True, path_type=Path), help="FineDiving pickles  [the run's]")
@click.option("--poses", "poses_root", type=_EXISTING_DIR, help="Pose root  [the run's]")
@click.option("--poses-from-gt", type=_EXISTING_DIR, help="Oracle poses from a synth world's gt/ folder.")
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True,
              help="Queries to score (val: the run's held-out clips). Exemplars come from the training split.")
@click.option("--exemplars", "num_exemplars", type=click.IntRange(min=1), default=10, show_default=True, help="Votes per query.")
@click.option("--no-dive-number", is_flag=True, help="Exemplars of any dive number.")
@click.option("--dataset", type=click.Choice(["finediving", "mtlaqa", "mtlaqa-dive"]),
              help="Annotation format (see train-aqa)  [the run's]")
@click.option("--seed", type=SEED, help="Exemplar seed  [the run's seed]")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--num-workers", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--skip-missing", is_flag=True, help="Skip clips with missing frames/poses (counted).")
@click.option("--out", "out_dir", type=_DIR, help="Output folder  [RUN_DIR/eval/SPLIT]")
@_threads_option
@json_option
def eval_aqa(checkpoint: Path, frames_root: Optional[Path], annotations: Optional[Path], poses_root: Optional[Path],
             poses_from_gt: Optional[Path], split: str, num_exemplars: int, no_dive_number: bool, dataset: Optional[str],
             seed: Optional[int],
             batch_size: int, device: str, num_workers: int, skip_missing: bool, out_dir: Optional[Path],
             threads: Optional[int], as_json: bool) -> None:
    """Score a split with a trained model: SRCC, L2, R-l2 x100 (range stated), AIoU@0.5/0.75.

    CHECKPOINT is a .pt file or a run directory (its best.pt). Writes predictions.csv,
    per_dive.csv, report.json and scatter.png. Exemplar encodings are computed once per video.
    """
    import sys

    from fdpose.aqa_model.checkpoint import model_from_checkpoint
    from fdpose.aqa_model.distributed import pick_device
    from fdpose.aqa_model.evaluate import evaluate, write_eval_outputs
    from fdpose.synth.oracle import write_oracle_poses
    from fdpose.errors import ConfigError
    from fdpose.aqa_model.data import load_aqa_annotations

    set_threads(threads)
    dev = pick_device(device)
    model, state, ckpt = model_from_checkpoint(checkpoint, dev)
    cfg = model.config
    run = _run_record(ckpt)
    stored = run.get("settings", {}) if isinstance(run.get("settings"), dict) else {}
    annotations = annotations or (Path(stored["annotations"]) if stored.get("annotations") else None)
    if annotations is None:
        raise ConfigError("--annotations is needed (no run.json next to the checkpoint names them)")
    frames_root = frames_root or (Path(stored["frames_root"]) if stored.get("frames_root") else None)
    seed = seed if seed is not None else int(stored.get("seed", 0))
    out = out_dir or ckpt.parent / "eval" / (split + ("-no-dive-number" if no_dive_number else ""))
    ann = load_aqa_annotations(annotations, dataset or str(stored.get("dataset", "finediving")))
    if split == "test":
        queries, pool = list(ann.test), list(ann.train)
    elif split == "train":
        queries, pool = list(ann.train), list(ann.train)
    else:
        splits = run.get("splits") or {}
        if not splits.get("val"):
            raise ConfigError("--split val needs the run's run.json with a validation split", ckpt.parent)
        queries, pool = [_parse_key(k) for k in splits["val"]], [_parse_key(k) for k in splits["train"]]
    if cfg.needs_pose and poses_root is None:
        run_oracle = ckpt.parent / f"oracle_poses_{cfg.num_frames}"
        if poses_from_gt is not None:
            root = out / f"oracle_poses_{cfg.num_frames}"
            write_oracle_poses(poses_from_gt, root, cfg.num_frames, set(queries) | set(pool), skip_missing)
            poses_root = root
        elif stored.get("poses_from_gt") and run_oracle.is_dir():
            poses_root = run_oracle
        elif stored.get("poses_root"):
            poses_root = Path(stored["poses_root"])
        else:
            raise ConfigError("this model uses poses: pass --poses DIR or --poses-from-gt GT_DIR")
    result = evaluate(model, ann, queries, pool, frames_root, poses_root, device=dev, num_exemplars=num_exemplars,
                      use_dive_number=not no_dive_number, seed=seed, batch_size=batch_size, num_workers=num_workers,
                      skip_missing=skip_missing, progress=not (as_json and not sys.stderr.isatty()),
                      settings={"split": split, "checkpoint": str(ckpt), "epoch": int(state.get("epoch", 0)),
                                "config": cfg.name})
    paths = write_eval_outputs(result, out, cfg.num_frames, f"{cfg.name} {split} ({ckpt.name})")
    report = {**result.summary(), "outputs": {k: str(v) for k, v in paths.items()}}
    if as_json:
        emit_json(report)
        return
    _echo_report(report)
    click.echo(f"{'dive':>8} {'n':>3} {'true':>8} {'pred':>8} {'L2':>9} {'SRCC':>7}")
    for row in result.per_dive:
        rho = "" if row["srcc"] is None else f"{row['srcc']:.3f}"
        click.echo(f"{row['dive_number']:>8} {row['count']:>3} {row['true_mean']:8.2f} {row['pred_mean']:8.2f} "
                   f"{row['l2']:9.3f} {rho:>7}")
    click.echo(f"wrote {', '.join(p.name for p in paths.values())} to {out}")


# ----------------------------------------------------------------------------- score


@click.command("score")
@click.argument("clip", type=click.Path(exists=True, path_type=Path))
@click.option("--checkpoint", type=click.Path(exists=True, path_type=Path), required=True,
              help="A .pt file or a run directory (best.pt).")
@click.option("--dive-number", help="Dive number of the clip, e.g. 407C (exemplars share it).")
@click.option("--no-dive-number", is_flag=True, help="Exemplars of any dive number.")
@click.option("--exemplars", "exemplar_root", type=_EXISTING_DIR,
              help="Frame root of the exemplar dataset {root}/{match}/{idx}/*.jpg (video configs).")
@click.option("--annotations", type=click.Path(exists=True, path_type=Path), required=True,
              help="FineDiving pickles of the exemplar dataset (its training split is the pool).")
@click.option("--poses", "poses_root", type=_EXISTING_DIR, help="Pose root of the exemplar dataset.")
@click.option("--poses-from-gt", type=_EXISTING_DIR, help="Exemplar oracle poses from a synth world's gt/.")
@click.option("--pose", "pose_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Pose of the clip: pred_comp_*.npz, a pipeline clip JSON or a synth gt JSON.")
@click.option("--num-exemplars", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Exemplar seed.")
@click.option("--dataset", type=click.Choice(["finediving", "mtlaqa", "mtlaqa-dive"]), default="finediving",
              show_default=True, help="Annotation format of --annotations (see train-aqa; mtlaqa groups are "
                                      "difficulties: --dive-number DD3.2).")
@click.option("--difficulty", type=click.FloatRange(min=0, min_open=True), callback=finite,
              help="Difficulty of the clip (DD-mode models: the vote is multiplied by it).")
@click.option("--device", default="auto", show_default=True)
@click.option("--detector", type=click.Choice(["ssd", "file", "mediapipe", "mmdet"]), default=None,
              help="Without --pose: person detector of the track-and-estimate run on CLIP [default: file with "
                   "--detections, else ssd].")
@click.option("--detections", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="--detector file: folder of per-clip detections ({match}/{idx}.txt or {clip_id}.txt).")
@click.option("--det-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="--detector mmdet.")
@click.option("--det-checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="--detector mmdet.")
@click.option("--pose-backend", type=click.Choice(["hrnet", "mediapipe"]), default=None,
              help="Without --pose: pose backend of the track-and-estimate run [default: hrnet with "
                   "--pose-checkpoint/--pose-config, else mediapipe].")
@click.option("--pose-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="--pose-backend hrnet.")
@click.option("--pose-checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--pose-backend hrnet: the fine-tuned HRNet (fdpose finetune-hrnet).")
@pose_set_option
@click.option("--init-box", help="x1,y1,x2,y2 of the diver in the first frame.")
@tracker_options
@click.option("--pose-out", type=_DIR, help="Keep the track-and-estimate output here  [a temporary folder]")
@_threads_option
@json_option
def score(clip: Path, checkpoint: Path, dive_number: Optional[str], no_dive_number: bool,
          exemplar_root: Optional[Path], annotations: Path, poses_root: Optional[Path], poses_from_gt: Optional[Path],
          pose_file: Optional[Path], num_exemplars: int, seed: int, dataset: str, difficulty: Optional[float],
          device: str, detector: Optional[str],
          detections: Optional[Path], det_config: Optional[Path], det_checkpoint: Optional[Path],
          pose_backend: Optional[str],
          pose_config: Optional[Path], pose_checkpoint: Optional[Path], pose_set: tuple[str, ...],
          init_box: Optional[str], tracker_preset: str, tracker_file: Optional[Path], tracker_set: tuple[str, ...],
          pose_out: Optional[Path], threads: Optional[int], as_json: bool) -> None:
    """Score one new dive CLIP (a video file or a folder of frames) against exemplars.

    Models with the skeletal encoder need the diver's pose: --pose FILE, or else CLIP goes
    through track-and-estimate first (--detector / --pose-backend choose its backends).
    Prints the score, each stage's contribution (S = mean exemplar score + sum of stage
    contributions) and the predicted stage boundaries.
    """
    import tempfile

    from fdpose.aqa_model.score import ScoreRequest, score_clip
    from fdpose.cli.score_pose import pose_estimator, read_clip_pose
    from fdpose.errors import ConfigError
    from fdpose.pipelines.runner import RunConfig

    set_threads(threads)
    if pose_file is not None and (tracker_preset != "default" or tracker_file is not None or tracker_set or pose_set):
        raise ConfigError("--tracker, --tracker-config, --tracker-set and --pose-set choose how CLIP's pose is "
                          "estimated here: they do not apply with --pose FILE")
    with tempfile.TemporaryDirectory(prefix="fdpose_score_pose_") as tmp:
        pipeline = None
        if pose_file is None:
            detector, pose_backend = pick_backends(detector, detections, pose_backend, pose_checkpoint, pose_config)
            pipeline = RunConfig(out=pose_out or Path(tmp), detector=detector, detections=detections,
                                 det_config=det_config, det_checkpoint=det_checkpoint, pose=pose_backend,
                                 pose_config=pose_config, pose_checkpoint=pose_checkpoint,
                                 init_box=parse_box(init_box), device="cuda" if device.startswith("cuda") else "cpu",
                                 tracker=tracker_from_options(tracker_preset, tracker_file, tracker_set),
                                 pose_options=pose_options_from(pose_backend, pose_set))
        result = score_clip(ScoreRequest(
            clip=clip, checkpoint=checkpoint, annotations=annotations, dive_number=dive_number,
            use_dive_number=not no_dive_number, exemplar_root=exemplar_root, poses_root=poses_root,
            poses_from_gt=poses_from_gt, pose_file=pose_file, num_exemplars=num_exemplars, seed=seed, device=device,
            dataset=dataset, difficulty=difficulty,
            estimate_pose=None if pipeline is None else pose_estimator(pipeline), read_clip_pose=read_clip_pose))
        if pose_out is None and result.get("pose_estimated"):
            result["pose"] = None  # the temporary folder is gone after this command
    if as_json:
        emit_json(result)
        return
    click.echo(f"{clip}: score {result['score']:.2f}  (dive {result['dive_number'] or 'any'}, "
               f"{len(result['exemplars'])} exemplars, mean exemplar score {result['exemplar_mean']:.2f})")
    if result.get("pose_models"):
        click.echo("  pose from track-and-estimate: " + ", ".join(
            f"{role} {m.get('name')}" + (f" ({m['checkpoint']})" if m.get("checkpoint") else "")
            for role, m in result["pose_models"].items()))
    for st in result["stages"]:
        click.echo(f"  {st['name']:<9} frames {st['first_frame']:>4}-{st['last_frame']:<4} "
                   f"contribution {st['contribution']:+.3f} (weight {st['weight']:.3f})")


if __name__ == "__main__":
    # ``python -m fdpose.cli.aqa train-aqa ...`` (also under torchrun): the root group, so errors print as
    # one line. Imported only when run as a script: fdpose.cli.main imports this module.
    import sys

    from fdpose.cli.main import main

    main(sys.argv[1:], prog_name="python -m fdpose.cli.aqa")
