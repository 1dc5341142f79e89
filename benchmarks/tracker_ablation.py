"""Diver-tracker ablation: Eq. 25 alone, each refinement off in turn, everything on.

    OMP_NUM_THREADS=1 python benchmarks/tracker_ablation.py [--videos 12] [--seeds 0,1]
        [--detector ssd|mediapipe] [--worlds DIR] [--json] [--write-doc docs/tracker.md]

Synth: for each seed a plain world and a ``--broadcast`` world (``fdpose synth -n VIDEOS --seed S
--no-video [--broadcast]``), the simulated detector's files as candidates; a frame is right as in
:func:`fdpose.synth.evaluate.tracking_correct` (the chosen box has IoU >= 0.5 with the true
diver box where the detector found the diver, no box elsewhere). Broadcast worlds end with a
replay of the dive: that rule expects the diver there, while the tracker's entry end refuses
it; the ``replay boxed`` column gives the share of replay frames that got a box.

Real: the dev clips in ``../shared/data/real`` with a real detector. GT: clip A's human MPII
joints (the diver's box = the joints' box enlarged by 15% of its size on every side), the
armstand clip's boxes in ``benchmarks/data/mtlaqa_10m_armstand_diver.json`` (set by eye, null
where the diver is not visible). A frame is right when the chosen box has IoU >= 0.5 with the
GT box, or when no box is chosen where there is none or the diver is under water (the issue's
rule: detector and tracker together); ``tracker-only`` applies the synth rule (a frame where no
candidate overlaps the GT box expects no box).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from fdpose.metrics.boxes import iou
from fdpose.synth.evaluate import tracking_correct
from fdpose.pipelines.tracking import TrackDecision, TrackerConfig
from fdpose.pipelines.tracking.camera import CameraMotion, motion_from_frames
from fdpose.pipelines.tracking.config import REFINEMENTS
from fdpose.pipelines.tracking.redetect import track_with_redetect

REPO = Path(__file__).resolve().parents[1]
ARMSTAND_GT = REPO / "benchmarks" / "data" / "mtlaqa_10m_armstand_diver.json"


def variants() -> dict[str, TrackerConfig]:
    """The configurations compared: core alone, the defaults minus one refinement each (plus
    each refinement that is off by default switched on), all on."""
    base = TrackerConfig()
    out = {"Eq. 25 alone (paper)": TrackerConfig.paper()}
    for name in REFINEMENTS:
        if getattr(base, name).enabled:
            out[f"all on, {name} off"] = base.without(name)
        else:
            out[f"defaults + {name}"] = base.with_(**{name: {"enabled": True}})
    out["defaults + fill in image coordinates"] = base.with_(fill={"enabled": True, "fill_space": "image"})
    out["defaults + fill in scene coordinates"] = base.with_(fill={"enabled": True, "fill_space": "scene"})
    out["defaults + thin-box refinement (redetect)"] = base.with_(refine_thin=True)
    out["defaults + thin-box refinement at aspect 5"] = base.with_(refine_thin=True, refine_aspect=5.0)
    out["all on, kept-box check of lone thin boxes off (verify.thin_aspect 0)"] = base.with_(thin_aspect=0.0)
    out["all on, camera by the box vote"] = base.with_(source="boxes")
    out["all on (default)"] = base
    return out


class CachedDetector:
    """A detector whose ``detect_one`` answers repeated images from memory (the variants share
    most re-detection searches); counts the real runs and their seconds."""

    def __init__(self, detector: Any) -> None:
        self.detector, self.cache, self.runs, self.seconds = detector, {}, 0, 0.0

    def detect_one(self, image: np.ndarray) -> np.ndarray:
        key = (image.shape, hash(image.tobytes()))
        if key not in self.cache:
            t0 = time.perf_counter()
            self.cache[key] = self.detector.detect_one(image)
            self.seconds += time.perf_counter() - t0
            self.runs += 1
        return self.cache[key]


# ---- synth ----------------------------------------------------------------------------------

def make_world(root: Path, seed: int, videos: int, broadcast: bool) -> None:
    from fdpose.synth.config import BROADCAST_PRESET, SynthConfig
    from fdpose.synth.world import generate_world

    if (root / "world.json").is_file():
        return
    extra = dict(BROADCAST_PRESET) if broadcast else {}
    generate_world(SynthConfig(videos=videos, seed=seed, write_video=False, **extra), root)


def synth_clips(root: Path) -> list[tuple[dict[str, Any], list[np.ndarray], Callable[[], CameraMotion]]]:
    """(gt, candidates, pixel camera maker) per clip of a world."""
    import cv2

    from fdpose.pipelines.detectors.file import FileDetector

    det = FileDetector(root / "detections")
    out = []
    for gp in sorted((root / "gt").rglob("*.json")):
        gt = json.loads(gp.read_text())
        cands = det.for_clip(f"{gt['match']}__{gt['idx']}").all_frames(gt["num_frames"])
        files = sorted((root / "frames" / gt["match"] / str(gt["idx"])).glob("*.jpg"))

        def camera(files: list[Path] = files, cands: list[np.ndarray] = cands) -> CameraMotion:
            return motion_from_frames((cv2.imread(str(f)) for f in files), cands, TrackerConfig().camera)

        def frames(idx: list[int], files: list[Path] = files) -> list[np.ndarray]:
            return [cv2.imread(str(files[i])) for i in idx]
        out.append((gt, cands, camera, frames))
    return out


def score_synth(clips: list, cfg: TrackerConfig, cams: dict[int, CameraMotion], detector: Any = None
                ) -> dict[str, float]:
    """Frames right over a world's clips; ``detector`` (None: no re-detection) re-detects on the
    renders, and the frames where it found the diver then expect him (the rule's candidates are
    the grown ones)."""
    right = frames = replay = replay_boxed = live_right = filled = filled_right = 0
    for i, (gt, cands, make_cam, get_frames) in enumerate(clips):
        cam = None
        if cfg.camera.enabled and cfg.camera.source == "pixels":
            if i not in cams:
                cams[i] = make_cam()
            cam = cams[i]
        size = (gt["image_width"], gt["image_height"])
        res, grown, _ = track_with_redetect(cands, cfg, get_frames if detector is not None else None, detector,
                                            image_size=size, camera=cam)
        ok = tracking_correct(gt, grown, res.boxes)  # (a diver re-detected where the file missed him counts)
        for t in _filled(res.decisions):  # (a filled box is right only on the diver, IoU >= 0.5)
            box = (gt["frames"][t].get("diver") or {}).get("box")
            ok[t] = box is not None and float(iou(np.asarray(box, dtype=np.float64), res.boxes[t][None, :4])[0]) >= 0.5
            filled, filled_right = filled + 1, filled_right + int(ok[t])
        right += int(ok.sum())
        frames += len(ok)
        for t, fr in enumerate(gt["frames"]):
            if fr.get("segment") == "replay":
                replay += 1
                replay_boxed += int(np.isfinite(res.boxes[t, 0]))
            else:
                live_right += int(ok[t])
    return {"accuracy": right / frames, "frames": frames, "live": live_right / (frames - replay),
            "replay_boxed": replay_boxed / replay if replay else float("nan"),
            "entry_rule": (live_right + replay - replay_boxed) / frames, "filled": filled,
            "filled_right": filled_right}


def _filled(decisions: list[Any]) -> list[int]:
    """Frames whose box the short-gap fill interpolated (:mod:`fdpose.pipelines.tracking.fill`)."""
    return [t for t, d in enumerate(decisions) if d == TrackDecision.FILLED]


# ---- real -----------------------------------------------------------------------------------

def real_clips(shared: Path) -> list[tuple[str, Path, list[Optional[np.ndarray]], list[bool]]]:
    """(name, frame folder, GT box per frame or None, under-water flag per frame)."""
    out = []
    a = shared / "real" / "finediving_10m_clipA"
    if (a / "labels_mpii.json").is_file():
        labels = json.loads((a / "labels_mpii.json").read_text())
        boxes: list[Optional[np.ndarray]] = []
        for rec in sorted(labels, key=lambda r: r["image"]):
            j = np.asarray(rec["joints"], dtype=np.float64)
            lo, hi = j.min(axis=0), j.max(axis=0)
            m = 0.15 * (hi - lo)
            boxes.append(np.concatenate([lo - m, hi + m]))
        out.append(("finediving_10m_clipA", a, boxes, [False] * len(boxes)))
    b = shared / "real" / "mtlaqa_10m_armstand"
    if b.is_dir() and ARMSTAND_GT.is_file():
        doc = json.loads(ARMSTAND_GT.read_text())
        gt = [None if f["box"] is None else np.asarray(f["box"], dtype=np.float64) for f in doc["frames"]]
        out.append(("mtlaqa_10m_armstand", b, gt, [bool(f["under_water"]) for f in doc["frames"]]))
    return out


def make_detector(name: str) -> Any:
    """The detector ``track-and-estimate --detector NAME`` would build (the runner's factory), or
    ``ssd@THRESHOLD[@lb]``: the SSD with another score threshold (and letterboxing)."""
    if name.startswith("ssd@"):
        from fdpose.pipelines.detectors.ssd import SSDConfig, SSDDetector

        parts = name.split("@")
        return SSDDetector(SSDConfig(score_threshold=float(parts[1]), letterbox="lb" in parts[2:]))
    from fdpose.pipelines.runner import RunConfig
    from fdpose.pipelines.runner import make_detector as factory

    return factory(RunConfig(out=Path(tempfile.gettempdir()), detector=name))("real")

#: Detector settings of the ``--ssd-settings`` sweep (the tracker's result depends on them).
SSD_SETTINGS = ("ssd@0.3", "ssd@0.2", "ssd@0.3@lb", "ssd@0.2@lb")


def real_right(gt: list[Optional[np.ndarray]], under: list[bool], cands: list[np.ndarray], boxes: np.ndarray,
               filled: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(T,) bool per rule: the issue's rule and the tracker-only rule (see the module docstring);
    ``filled`` frames (interpolated boxes) are right by IoU alone under both."""
    issue = np.zeros(len(gt), dtype=bool)
    only = np.zeros(len(gt), dtype=bool)
    for t, g in enumerate(gt):
        chosen = bool(np.isfinite(boxes[t, 0]))
        hit = chosen and g is not None and float(iou(g, boxes[t][None, :4])[0]) >= 0.5
        issue[t] = hit or (not chosen and (g is None or under[t]))
        found = g is not None and len(cands[t]) > 0 and float(iou(g, cands[t][:, :4]).max()) >= 0.5
        only[t] = hit if found or t in filled else (not chosen or (under[t] and hit))
    return issue, only


def run_real(shared: Path, detector: str) -> dict[str, Any]:
    import cv2

    det = CachedDetector(make_detector(detector))
    out: dict[str, Any] = {"detector": detector, "clips": {}}
    for name, folder, gt, under in real_clips(shared):
        files = sorted(folder.glob("*.jpg"))
        images = [cv2.imread(str(f)) for f in files]
        t0 = time.perf_counter()
        cands = [np.asarray(c, dtype=np.float64).reshape(-1, 5)  # ((K, 5) rows, also from a Boxes record)
                 for c in det.detector.detect(images, list(range(len(images))))]
        secs = time.perf_counter() - t0
        cam = motion_from_frames(images, cands, TrackerConfig().camera)
        h, w = images[0].shape[:2]
        found = sum(g is not None and len(c) > 0 and float(iou(g, c[:, :4]).max()) >= 0.5 for g, c in zip(gt, cands))
        rows = {}
        det.runs, det.seconds = 0, 0.0

        def get(idx: list[int], images: list[np.ndarray] = images) -> list[np.ndarray]:
            return [images[i] for i in idx]
        t1 = time.perf_counter()
        track_with_redetect(cands, TrackerConfig(), get, det,
                            image_size=(w, h), camera=cam)
        redetect_secs = time.perf_counter() - t1  # (the defaults' whole tracking with re-detection)
        redetect_runs = det.runs
        for label, cfg in variants().items():
            res, _, _ = track_with_redetect(cands, cfg, get, det,
                                            image_size=(w, h), camera=cam)
            fl = _filled(res.decisions)  # (found: the whole-frame detector's)
            issue, only = real_right(gt, under, cands, res.boxes, fl)
            rows[label] = {"right": int(issue.sum()), "tracker_only": int(only.sum()), "filled": len(fl),
                           "filled_right": int(sum(issue[t] for t in fl))}
        out["clips"][name] = {"frames": len(gt), "diver_visible": sum(g is not None for g in gt),
                              "diver_detected": int(found), "boxes_per_frame": round(sum(map(len, cands)) / len(gt), 2),
                              "detector_ms_per_frame": round(1000 * secs / len(gt), 1),
                              "redetect_runs": redetect_runs,
                              "redetect_ms_per_frame": round(1000 * redetect_secs / len(gt), 1), "variants": rows}
    return out


# ---- report ---------------------------------------------------------------------------------

def render(synth: dict[str, Any], real: Optional[dict[str, Any]], cmd: str) -> str:
    lines = ["# Diver tracker: ablation", "",
             "Generated by `benchmarks/tracker_ablation.py` (do not edit by hand; the tuning diary below it",
             "is the tracker's history). Command:", "", f"    {cmd}", ""]
    names = list(next(iter(synth.values())).keys())
    worlds = list(synth.keys())
    lines += ["## Synth worlds (simulated detector)", "",
              "Frames right as in `fdpose.synth.evaluate.tracking_correct`; `broadcast live`: the same",
              "over the broadcast worlds' frames outside the replay; `replay boxed`: share of the replay",
              "frames given a box; `broadcast, entry rule`: replay frames right when they get no box (the",
              "track ends at the entry, issue 11), the others as in the first columns; `filled (right)`:",
              "frames given an interpolated box by the short-gap fill over all worlds (those with IoU >= 0.5",
              "with the true diver box; every column counts a filled box right only then).", "",
              "| variant | " + " | ".join(worlds)
              + " | mean plain | mean broadcast | broadcast live | replay boxed | broadcast, entry rule"
              + " | filled (right) |",
              "|---|" + "---|" * (len(worlds) + 6)]
    for n in names:
        accs = [synth[w][n]["accuracy"] for w in worlds]
        plain = [synth[w][n]["accuracy"] for w in worlds if w.startswith("plain")]
        bc = [synth[w][n] for w in worlds if w.startswith("broadcast")]
        rep = np.nanmean([r["replay_boxed"] for r in bc]) if bc else float("nan")
        lines.append(f"| {n} | " + " | ".join(f"{a:.3f}" for a in accs)
                     + f" | {np.mean(plain):.3f} | {np.mean([r['accuracy'] for r in bc]):.3f}"
                     + f" | {np.mean([r['live'] for r in bc]):.3f} | {rep:.2f}"
                     + f" | {np.mean([r['entry_rule'] for r in bc]):.3f}"
                     + f" | {sum(synth[w][n]['filled'] for w in worlds)}"
                     + f" ({sum(synth[w][n]['filled_right'] for w in worlds)}) |")
    if real and real.get("settings"):
        sets = list(real["settings"])
        lines += ["", "## Real dev clips, SSD settings", "",
                  "Frames right on both dev clips (55) per SSD setting (score threshold, `lb`: letterboxed "
                  "input), issue rule / tracker-only rule:", "",
                  "| variant | " + " | ".join(f"`{k}`" for k in sets) + " | sum |", "|---|" + "---|" * (len(sets) + 1)]
        for n in names:
            cells = [real["settings"][k][n] for k in sets]
            lines.append(f"| {n} | " + " | ".join(f"{a} / {b}" for a, b in cells)
                         + f" | {sum(a for a, _ in cells)} / {sum(b for _, b in cells)} |")
        lines.append("")
        lines.append("Diver detected (IoU >= 0.5) in the 51 frames where he is visible: "
                     + ", ".join(f"`{k}` {real['settings_found'][k]}" for k in sets) + ".")
    if real:
        lines += ["", f"## Real dev clips (detector `{real['detector']}`)", ""]
        for clip, r in real["clips"].items():
            lines.append(f"- `{clip}`: {r['frames']} frames, diver visible in {r['diver_visible']}, detected "
                         f"(IoU >= 0.5) in {r['diver_detected']}, {r['boxes_per_frame']} boxes/frame, detector "
                         f"{r['detector_ms_per_frame']} ms/frame; defaults' tracking with re-detection "
                         f"{r['redetect_ms_per_frame']} ms/frame ({r['redetect_runs']} local detector runs)")
        clips = list(real["clips"])
        lines += ["", "Frames right (issue rule / tracker-only rule; an interpolated box counts right by IoU alone); "
                  "filled (right): frames given an interpolated box by the short-gap fill:", "",
                  "| variant | " + " | ".join(clips) + " | all | filled (right) |", "|---|" + "---|" * (len(clips) + 2)]
        total = sum(real["clips"][c]["frames"] for c in clips)
        for n in names:
            cells, s1, s2, f1, f2 = [], 0, 0, 0, 0
            for c in clips:
                v = real["clips"][c]["variants"][n]
                f = real["clips"][c]["frames"]
                cells.append(f"{v['right']}/{f} / {v['tracker_only']}/{f}")
                s1, s2 = s1 + v["right"], s2 + v["tracker_only"]
                f1, f2 = f1 + v["filled"], f2 + v["filled_right"]
            lines.append(f"| {n} | " + " | ".join(cells) + f" | {s1 / total:.3f} / {s2 / total:.3f} | {f1} ({f2}) |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--detector", default="ssd",
                    help="real-clip detector (ssd | mediapipe); 'none' skips the real clips")
    ap.add_argument("--worlds", type=Path, default=None, help="keep the generated worlds here (reused when present)")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--ssd-settings", action="store_true",
                    help="also sweep the SSD's score threshold and letterboxing on the real clips")
    ap.add_argument("--synth-redetect", action="store_true",
                    help="re-detect on the synth renders with the real ssd (else the redetect section is idle there)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write-doc", type=Path, default=None, help="write the markdown tables to this file")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    synth: dict[str, Any] = {}
    synth_det = CachedDetector(make_detector("ssd")) if args.synth_redetect else None
    with tempfile.TemporaryDirectory() as tmp:
        base = args.worlds or Path(tmp)
        for seed in seeds:
            for broadcast in (False, True):
                label = f"{'broadcast' if broadcast else 'plain'} s{seed}"
                root = base / label.replace(" ", "_")
                make_world(root, seed, args.videos, broadcast)
                clips = synth_clips(root)
                cams: dict[int, CameraMotion] = {}
                synth[label] = {n: score_synth(clips, cfg, cams, synth_det) for n, cfg in variants().items()}
                print(f"{label}: done", file=sys.stderr, flush=True)
    real = None
    if args.detector != "none" and (args.shared / "real").is_dir():
        real = run_real(args.shared, args.detector)
        if args.ssd_settings:
            real["settings"], real["settings_found"] = {}, {}
            for name in SSD_SETTINGS:
                r = run_real(args.shared, name)
                real["settings"][name] = {n: (sum(c["variants"][n]["right"] for c in r["clips"].values()),
                                              sum(c["variants"][n]["tracker_only"] for c in r["clips"].values()))
                                          for n in variants()}
                real["settings_found"][name] = sum(c["diver_detected"] for c in r["clips"].values())
    cmd = ("OMP_NUM_THREADS=1 python benchmarks/tracker_ablation.py --videos "
           f"{args.videos} --seeds {args.seeds} --detector {args.detector}"
           + (" --ssd-settings" if args.ssd_settings else "")
           + (" --synth-redetect" if args.synth_redetect else "")
           + (f" --write-doc {args.write_doc}" if args.write_doc else ""))
    if args.json:
        json.dump({"synth": synth, "real": real}, sys.stdout, indent=1, default=float)
        print()
    else:
        print(render(synth, real, cmd))
    if args.write_doc:
        doc = render(synth, real, cmd)
        old = args.write_doc.read_text() if args.write_doc.is_file() else ""
        keep = old[old.index("<!-- diary -->"):] if "<!-- diary -->" in old else ""
        args.write_doc.write_text(doc + ("\n" + keep if keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
