"""Why the quick demo's AQA figure says little: the tiny model on a larger demo world, by pose source.

    python benchmarks/demo_aqa.py OUT                       # 96 clips, half test dives, epochs 16 and 40
    python benchmarks/demo_aqa.py OUT --epochs 40 --config-json '{"use_sve": true}'   # + the static visual branch
    python benchmarks/demo_aqa.py OUT --poses estimated --seeds 0,1,2   # the demo's poses, three training seeds
    python benchmarks/demo_aqa.py OUT --form-faults --hrnet-clips 48 --epochs 80 --poses estimated  # the quick plan's world
    python benchmarks/demo_aqa.py OUT --score-shares                   # how the synthetic score is made
    python benchmarks/demo_aqa.py DEMO_OUT --swap-test-poses DEMO_OUT/aqa   # a demo's model on exact test poses
    python benchmarks/demo_aqa.py DEMO_OUT --cue-probe                 # do the test poses show the form faults?

Runs the demo's first steps (synth, fine-tune HRNet, track-and-estimate; :mod:`fdpose.demo.steps`) on
the quick plan with ``--clips`` clips and ``--train-share``, exports FineDiving-Pose with
``--max-interpolated`` (the export check's per-clip limit; the clips over the default 30% are
listed), then trains the demo's AQA model on three pose sets and scores the test dives:

* ``estimated``: the exported dataset, as the demo trains and tests (training clips: their manual
  labels; test clips: the pipeline's estimates);
* ``oracle``: the synth ground truth for every clip, including the joints no camera sees (under
  water, behind the occluder, off the image: their coordinates are kept);
* ``oracle-visible``: the same ground truth with every joint that is not visible removed (held
  from the nearest frame with confidence 0, as the AQA loader fills missing joints).

Per run: test SRCC with its 95% bootstrap interval, the exemplar-mean baseline's SRCC and interval,
the paired gain interval (:func:`fdpose.demo.steps.srcc_gain_interval`), AIoU@0.5 and the training
time. The steps reuse OUT when they are already there (delete it to rebuild). One torch thread.
Results: ``docs/demo_aqa.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("demo_aqa")
NUM_ROWS = 96  # rows of a FineDiving-Pose file (fdpose.sampling.NUM_SAMPLED_FRAMES)


def build(out: Path, clips: int, train_share: float, hrnet_clips: int, max_interpolated: float,
          form_faults: bool = False) -> dict[str, Any]:
    """Synth + fine-tune + track + export into ``out`` (each skipped when its output exists)."""
    from fdpose.demo import steps
    from fdpose.demo.plan import QUICK
    from fdpose.pipelines.export import export_dataset
    from fdpose.pipelines.export.check import DEFAULT_MAX_INTERPOLATED, check_dataset

    plan = dataclasses.replace(QUICK, clips=clips, train_share=train_share, hrnet_clips=hrnet_clips, threads=1,
                               form_faults=form_faults)
    ctx = steps.DemoContext(out, plan, device="cpu")
    info: dict[str, Any] = {"clips": clips, "train_share": train_share, "hrnet_clips": hrnet_clips,
                            "form_faults": form_faults}
    t0 = time.perf_counter()
    if not (ctx.world / "world.json").is_file():
        info["synth"] = steps.step_synth(ctx)
    ft_file = out / "finetune.json"
    if not ft_file.is_file():
        ft_file.write_text(json.dumps(steps.step_finetune(ctx)))
    ft = json.loads(ft_file.read_text())
    tr_file = out / "track.json"
    if not tr_file.is_file():
        tr_file.write_text(json.dumps(steps.step_track(ctx, ft)))
    tr = json.loads(tr_file.read_text())
    info.update(hrnet_val_pckh=ft["val_pckh"], test_pckh=tr["test_pckh"], pipeline_seconds=round(time.perf_counter() - t0))
    if not (ctx.dataset / "manifest.json").is_file():
        train_keys, _ = steps._splits(ctx)
        export_dataset(ctx.track, steps._labelme_dirs(ctx, train_keys), ctx.world / "annotations", ctx.dataset,
                       fmt=["fdpose", "hpmcore"], overwrite=True, max_interpolated=max_interpolated)
    report = check_dataset(ctx.dataset, max_interpolated)
    over = sorted(((c.clip_id, round(c.interpolated_share, 3)) for c in report.clips
                   if c.interpolated_share > DEFAULT_MAX_INTERPOLATED), key=lambda x: -x[1])
    info.update(check_ok=report.ok, max_interpolated=max_interpolated, clips_over_default_limit=over)
    return info


def oracle_poses(world: Path, out: Path, visible_only: bool) -> Path:
    """96-row pose files from the synth ground truth (``Pose/{match}/pred_comp_{idx}.npz``)."""
    from fdpose.synth.oracle import gt_keypoints
    from fdpose.io import read_json
    from fdpose.sampling import NUM_SAMPLED_FRAMES, aligned_indices, fill_nonfinite, pred_comp_path, write_pred_comp

    for clip in json.loads((world / "world.json").read_text())["clips"]:
        src = world / "gt" / clip["match"] / f"{clip['idx']}.json"
        doc = read_json(src)
        kp, numbers = gt_keypoints(doc, src)  # (T, 16, 3)
        if visible_only:
            vis = np.array([[j[2] for j in f["diver"]["joints"]] for f in doc["frames"]])  # (T, 16)
            kp[vis < 2, :2] = np.nan
        rows = fill_nonfinite(kp[aligned_indices(len(numbers), numbers, NUM_SAMPLED_FRAMES)])
        write_pred_comp(pred_comp_path(out, clip["match"], clip["idx"]), rows.astype(np.float32), n=NUM_SAMPLED_FRAMES)
    return out


def mixed_poses(train_keys: list[tuple[str, int]], test_keys: list[tuple[str, int]], train_src: Path, test_src: Path,
                dst: Path) -> Path:
    """A pose folder whose training clips' files come from ``train_src`` and test clips' from ``test_src``
    (copied; ``dst`` is replaced): one trained model scored on two kinds of test poses, same exemplars."""
    import shutil

    from fdpose.sampling import pred_comp_path

    shutil.rmtree(dst, ignore_errors=True)
    for keys, src in ((train_keys, train_src), (test_keys, test_src)):
        for match, idx in keys:
            target = pred_comp_path(dst, match, idx)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pred_comp_path(src, match, idx), target)
    return dst


def swap_test_poses(out: Path, model_dir: Path, seed: int = 0) -> list[dict[str, Any]]:
    """Score the AQA model in ``model_dir`` (trained on ``out``'s dataset, a demo folder or this script's
    OUT) on the test dives twice: with the exported (estimated) test poses and with exact visible ones
    (``oracle-visible``); exemplars are the same training clips with their exported poses. How much of
    the gap to the oracle is the test poses' error, how much what the model learned."""
    import torch

    from fdpose.aqa_model.checkpoint import model_from_checkpoint
    from fdpose.aqa_model.evaluate import evaluate
    from fdpose.demo.steps import srcc_gain_interval
    from fdpose.finediving import load_annotations

    world, dataset = out / "world", out / "dataset" / "Pose"
    # a demo run that dropped clips keeps the filtered split lists beside the world
    ann_dir = out / "aqa_annotations" if (out / "aqa_annotations").is_dir() else world / "annotations"
    ann = load_annotations(ann_dir)
    visible = oracle_poses(world, out / "oracle_visible" / "Pose", True)
    mixed = mixed_poses(list(ann.train), list(ann.test), dataset, visible, out / "swap" / "Pose")
    model, _, _ = model_from_checkpoint(model_dir, torch.device("cpu"))
    rows = []
    for name, poses in (("estimated", dataset), ("oracle-visible", mixed)):
        res = evaluate(model, ann, list(ann.test), list(ann.train), world / "frames", poses,
                       device=torch.device("cpu"), num_exemplars=10, seed=seed)
        rep, preds = res.summary(), res.predictions
        gain = srcc_gain_interval([p.pred_score for p in preds], [p.exemplar_mean for p in preds],
                                  [p.true_score for p in preds], seed=seed)
        rows.append({"test_poses": name, "dives": rep["queries"], "srcc": round(float(rep["srcc"]), 3),
                     "srcc_ci95": [round(float(v), 3) for v in rep["srcc_ci95"]],
                     "gain": [round(float(v), 3) for v in gain]})
    return rows


def leg_angles(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 16, >=2) joints -> per row the angle between the two legs (hip midpoint to each ankle) and the
    mean knee bend (180 - the hip-knee-ankle angle of both legs), in degrees; (n,) each. The image-plane
    views of what the synthetic judges deduct for (leg separation, knee bend)."""
    def angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-9)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))

    from fdpose.skeleton import JOINT_INDEX as J

    xy = pose[..., :2]
    r_ankle, r_knee, r_hip = xy[:, J["r_ankle"]], xy[:, J["r_knee"]], xy[:, J["r_hip"]]
    l_ankle, l_knee, l_hip = xy[:, J["l_ankle"]], xy[:, J["l_knee"]], xy[:, J["l_hip"]]
    mid = (r_hip + l_hip) / 2
    separation = angle(r_ankle - mid, l_ankle - mid)
    bend_r = 180 - angle(r_hip - r_knee, r_ankle - r_knee)
    bend_l = 180 - angle(l_hip - l_knee, l_ankle - l_knee)
    return separation, (bend_r + bend_l) / 2


def cue_probe(out: Path) -> dict[str, Any]:
    """Do the test clips' poses show the form faults the judges score? Per test clip, the median over the
    sampled flight rows (before water contact) where all six leg joints are visible in the ground truth and
    present in the pose file (confidence > 0) of :func:`leg_angles`, from the exact joints and from the
    exported (estimated) ones; SRCC over clips of each against the clip's drawn ``leg_separation_deg`` /
    ``knee_bend_deg``, and the median absolute difference estimated - exact per row (degrees)."""
    from scipy import stats

    from fdpose.finediving import load_annotations
    from fdpose.io import read_json
    from fdpose.sampling import aligned_indices, pred_comp_path, read_pred_comp
    from fdpose.skeleton import JOINT_INDEX
    from fdpose.synth.oracle import gt_keypoints

    world = out / "world"
    ann_dir = out / "aqa_annotations" if (out / "aqa_annotations").is_dir() else world / "annotations"
    rows: dict[str, list[float]] = {k: [] for k in ("sep_true", "sep_exact", "sep_est", "bend_true", "bend_exact",
                                                    "bend_est")}
    row_err_sep: list[np.ndarray] = []
    row_err_bend: list[np.ndarray] = []
    for match, idx in load_annotations(ann_dir).test:
        src = world / "gt" / match / f"{idx}.json"
        doc = read_json(src)
        kp, numbers = gt_keypoints(doc, src)  # (T, 16, 3)
        pos = aligned_indices(len(numbers), numbers, NUM_ROWS)
        exact = kp[pos]  # (96, 16, 3)
        vis = np.array([[j[2] for j in f["diver"]["joints"]] for f in doc["frames"]])[pos]  # (96, 16) codes
        est = read_pred_comp(pred_comp_path(out / "dataset" / "Pose", match, idx), n=NUM_ROWS)
        flight = pos < int(doc["stages"]["steps_transit_frames"][1])
        legs = [JOINT_INDEX[n] for n in ("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle")]
        use = flight & (vis[:, legs] == 2).all(1) & (est[:, legs, 2] > 0).all(1)
        if use.sum() < 3:
            continue
        s_x, b_x = leg_angles(exact[use])
        s_e, b_e = leg_angles(est[use])
        row_err_sep.append(np.abs(s_e - s_x))
        row_err_bend.append(np.abs(b_e - b_x))
        for name, v in (("sep_exact", s_x), ("sep_est", s_e), ("bend_exact", b_x), ("bend_est", b_e)):
            rows[name].append(float(np.median(v)))
        rows["sep_true"].append(doc["execution"]["leg_separation_deg"])
        rows["bend_true"].append(doc["execution"]["knee_bend_deg"])
    r = lambda a, b: round(float(stats.spearmanr(rows[a], rows[b])[0]), 3)  # noqa: E731
    return {"clips": len(rows["sep_true"]),
            "srcc_leg_separation": {"exact": r("sep_exact", "sep_true"), "estimated": r("sep_est", "sep_true")},
            "srcc_knee_bend": {"exact": r("bend_exact", "bend_true"), "estimated": r("bend_est", "bend_true")},
            "median_abs_row_error_deg": {"leg_separation": round(float(np.median(np.concatenate(row_err_sep))), 1),
                                         "knee_bend": round(float(np.median(np.concatenate(row_err_bend))), 1)},
            "drawn_median_deg": {"leg_separation": round(float(np.median(rows["sep_true"])), 1),
                                 "knee_bend": round(float(np.median(rows["bend_true"])), 1)}}


def entry_angle_probe(world: Path) -> list[dict[str, Any]]:
    """How visible the rotation error is: per frame around water contact (t1 - 2 .. t1 + 1, contact at
    t1 + 0.5, t1 = the second transition), SRCC over clips between the body angle from vertical
    (pelvis -> upper neck, exact ground-truth coordinates) and |rotation_error_deg|, and the share of
    clips whose pelvis and neck are visible in that frame."""
    from scipy import stats

    rows: dict[int, list[tuple[float, float, bool]]] = {}
    for clip in json.loads((world / "world.json").read_text())["clips"]:
        doc = json.loads((world / "gt" / clip["match"] / f"{clip['idx']}.json").read_text())
        joints = np.array([f["diver"]["joints"] for f in doc["frames"]], float)  # (T, 16, 3)
        t1 = int(doc["stages"]["steps_transit_frames"][1])
        for dt in (-2, -1, 0, 1):
            if 0 <= t1 + dt < len(joints):
                v = joints[t1 + dt, 8, :2] - joints[t1 + dt, 6, :2]
                angle = abs(float(np.degrees(np.arctan2(v[0], v[1]))))
                rows.setdefault(dt, []).append((angle, abs(doc["execution"]["rotation_error_deg"]),
                                                bool(joints[t1 + dt, [6, 8], 2].min() == 2)))
    out = []
    for dt, r in sorted(rows.items()):
        a = np.array(r, float)
        out.append({"frame": f"t1{dt:+d}", "srcc_angle_vs_abs_rotation_error": round(float(stats.spearmanr(a[:, 0], a[:, 1])[0]), 2),
                    "pelvis_and_neck_visible": round(float(a[:, 2].mean()), 2)})
    return out


def score_shares(form_faults: bool, dives: int = 4000, seed: int = 0) -> dict[str, Any]:
    """How the synthetic judges' score is made: over ``dives`` draws of one difficulty-3.0 dive, each
    penalty's mean and Pearson correlation with the dive score, and the R^2 of the score on the
    in-flight faults a pose can show over many frames (take-off height, kick-out, legs, knees)."""
    from fdpose.synth.scoring import dive_score, judge_scores, penalties, sample_execution

    rng = np.random.default_rng(seed)
    pens, scores = [], []
    for _ in range(dives):
        p = penalties(sample_execution(rng, 3.0, form_faults))
        pens.append(p)
        scores.append(dive_score(judge_scores(rng, p), 3.0))
    names = list(pens[0])
    m = np.array([[p[k] for k in names] for p in pens])
    s = np.array(scores)
    flight = m[:, [names.index(k) for k in ("takeoff_height", "kickout_delay", "leg_separation", "knee_bend")]].sum(1)
    return {"form_faults": form_faults, "score_mean": round(float(s.mean()), 1), "score_std": round(float(s.std()), 1),
            "penalties": {k: {"mean": round(float(m[:, i].mean()), 2),
                              "corr_with_score": round(float(np.corrcoef(m[:, i], s)[0, 1]), 2)}
                          for i, k in enumerate(names)},
            "r2_in_flight_faults": round(float(np.corrcoef(flight, s)[0, 1] ** 2), 2)}


def train_and_score(out: Path, poses: Path, tag: str, epochs: int, overrides: dict[str, Any], seed: int = 0
                    ) -> dict[str, Any]:
    """Train the demo's AQA model on ``poses`` (training seed ``seed``) and score the test split like the
    demo's eval step (exemplars drawn with seed 0 whatever the training seed)."""
    import shutil

    import torch

    from fdpose.aqa_model.checkpoint import model_from_checkpoint
    from fdpose.aqa_model.presets import load_config
    from fdpose.aqa_model.evaluate import evaluate
    from fdpose.aqa_model.metrics import srcc_interval
    from fdpose.aqa_model.train import TrainOptions, train
    from fdpose.demo.plan import QUICK
    from fdpose.demo.steps import srcc_gain_interval
    from fdpose.finediving import load_annotations

    world, run = out / "world", out / "runs" / f"{tag}_e{epochs}_s{seed}"
    shutil.rmtree(run, ignore_errors=True)
    cfg = dataclasses.replace(load_config(QUICK.aqa_config), **overrides)
    t0 = time.perf_counter()
    train(TrainOptions(out_dir=run, annotations=world / "annotations", frames_root=world / "frames", poses_root=poses,
                       config=cfg, epochs=epochs, batch_size=QUICK.aqa_batch, seed=seed, val_share=0.0, device="cpu",
                       threads=1, final_test=False, progress=False))
    seconds = time.perf_counter() - t0
    model, _, _ = model_from_checkpoint(run, torch.device("cpu"))
    ann = load_annotations(world / "annotations")
    res = evaluate(model, ann, list(ann.test), list(ann.train), world / "frames", poses, device=torch.device("cpu"),
                   num_exemplars=QUICK.aqa_exemplars, seed=0)
    rep, preds = res.summary(), res.predictions
    true = [p.true_score for p in preds]
    base = [p.exemplar_mean for p in preds]
    gain = srcc_gain_interval([p.pred_score for p in preds], base, true, seed=0)
    r = lambda v: None if v is None else round(float(v), 3)  # noqa: E731
    return {"poses": tag, "epochs": epochs, "seed": seed, "dives": rep["queries"], "srcc": r(rep["srcc"]),
            "srcc_ci95": [r(v) for v in rep["srcc_ci95"]], "baseline_srcc": r(rep["baseline_exemplar_mean"]["srcc"]),
            "baseline_ci95": [r(v) for v in srcc_interval(base, true)], "gain": [r(v) for v in gain],
            "aiou_50": r((rep.get("aiou") or {}).get("0.5")), "train_seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--clips", type=int, default=96)
    ap.add_argument("--train-share", type=float, default=0.5)
    ap.add_argument("--hrnet-clips", type=int, default=18)
    ap.add_argument("--max-interpolated", type=float, default=0.35)
    ap.add_argument("--epochs", default="16,40", help="comma-separated AQA epoch counts")
    ap.add_argument("--poses", default="estimated,oracle,oracle-visible")
    ap.add_argument("--seeds", default="0", help="comma-separated AQA training seeds")
    ap.add_argument("--form-faults", action=argparse.BooleanOptionalAction, default=False,
                    help="synth form_faults world (the quick plan's since issue 13 C)")
    ap.add_argument("--score-shares", action="store_true",
                    help="only print how the score is made (default and form_faults recipes) and exit")
    ap.add_argument("--swap-test-poses", type=Path, default=None, metavar="MODEL_DIR",
                    help="only score the AQA model in MODEL_DIR on OUT's test dives with estimated and with exact "
                         "visible test poses (OUT: a demo folder or this script's) and exit")
    ap.add_argument("--cue-probe", action="store_true",
                    help="only report whether OUT's test poses show the leg separation and knee bend (exact vs "
                         "estimated) and exit")
    ap.add_argument("--seed", type=int, default=0, help="exemplar and bootstrap seed of --swap-test-poses (the demo's seed)")
    ap.add_argument("--config-json", default="{}", help="fields over the demo's AQA preset, e.g. '{\"use_sve\": true}'")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.score_shares:
        for form in (False, True):
            print(json.dumps(score_shares(form)), flush=True)
        return 0
    import torch

    torch.set_num_threads(1)
    if args.cue_probe:
        print(json.dumps(cue_probe(args.out)), flush=True)
        return 0
    if args.swap_test_poses is not None:
        for row in swap_test_poses(args.out, args.swap_test_poses, args.seed):
            print(json.dumps(row), flush=True)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    info = build(args.out, args.clips, args.train_share, args.hrnet_clips, args.max_interpolated, args.form_faults)
    print(json.dumps(info), flush=True)
    print(json.dumps({"entry_angle_probe": entry_angle_probe(args.out / "world")}), flush=True)
    sources = {"estimated": lambda: args.out / "dataset" / "Pose",
               "oracle": lambda: oracle_poses(args.out / "world", args.out / "oracle" / "Pose", False),
               "oracle-visible": lambda: oracle_poses(args.out / "world", args.out / "oracle_visible" / "Pose", True)}
    overrides = json.loads(args.config_json)
    tag_extra = "_" + "_".join(f"{k}-{v}" for k, v in overrides.items()) if overrides else ""
    for name in args.poses.split(","):
        poses = sources[name]()
        for epochs in (int(e) for e in args.epochs.split(",")):
            for seed in (int(x) for x in args.seeds.split(",")):
                print(json.dumps(train_and_score(args.out, poses, name + tag_extra, epochs, overrides, seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
