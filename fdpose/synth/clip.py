"""Render one clip: sample the dive, move the camera, draw every frame, write its files.

Joint visibility in the ground truth (same codes as the LabelMe protocol):
2 visible; 1 occluded (in the image but hidden by the occluder, the splash or the water:
joints below the water line); 0 off-image (coordinates still given). The diver box is the
tight box (+1 px) of the diver's silhouette drawn above the water at the frame time, clipped
to the image; it is null when nothing of the diver is drawn (under water or out of view).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import cv2
import numpy as np

from fdpose.annotations.labelme import write_labelme
from fdpose.annotations.protocol import ManualLabel, label_to_doc
from fdpose.finediving import CoarseRecord, FineGrainedRecord, labels_from_transits
from fdpose.records import Boxes
from fdpose.skeleton import JOINT_NAMES
from fdpose.synth.config import GT_SCHEMA_VERSION, IMAGE_HEIGHT, IMAGE_WIDTH, ClipPlan, Layout, SynthConfig
from fdpose.synth import broadcast as bc
from fdpose.synth.detections import PROFILES, DetectorModel, FrameDetections, detect_clip, detect_frame, mot_lines
from fdpose.synth.dives import dive_table
from fdpose.synth.motion import Apparatus, DiveMotion, StageFrames
from fdpose.synth.render import Layer, Occluder, PersonStyle, Splash, clip_layer_rows, composite, render_layer
from fdpose.synth.scene import HAIR, SKIN_TONES, SUITS, Canvas, build_canvas, draw_springboard, person_layer, sample_venue
from fdpose.synth.scoring import dive_score, judge_scores, penalties, sample_execution
from fdpose.synth.video import ClipVideoWriter
from fdpose.io import atomic_write_text, write_json

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
BLUR_THRESHOLD_PX = 10.0


@dataclass
class ClipResult:
    """What the world writer needs from a rendered clip."""

    plan: ClipPlan
    fine: FineGrainedRecord
    coarse: CoarseRecord
    summary: dict[str, Any] = field(default_factory=dict)


def _clip_box(box: Optional[Box], W: int, H: int) -> Optional[Box]:
    if box is None:
        return None
    x1, y1 = max(0.0, box[0]), max(0.0, box[1])
    x2, y2 = min(W - 1.0, box[2]), min(H - 1.0, box[3])
    if x2 - x1 < 1.0 or y2 - y1 < 1.0:
        return None
    return (round(x1, 3), round(y1, 3), round(x2, 3), round(y2, 3))


def _sample_stage_frames(rng: np.random.Generator, mean_frames: int) -> StageFrames:
    take_off = max(6, int(round(mean_frames * 0.30 * rng.uniform(0.55, 1.45))))
    flight = max(14, int(round(mean_frames * 0.35 * rng.uniform(0.85, 1.15))))
    entry = max(10, int(round(mean_frames * 0.35 * rng.uniform(0.7, 1.3))))
    return StageFrames(take_off, flight, entry, max(take_off + 0.5, mean_frames * 0.42))


def _camera_path(rng: np.random.Generator, centres_m: np.ndarray, s: float) -> np.ndarray:
    """(N, 2) integer top-left view corners in world pixels (px = s*x, py = -s*y).

    The camera follows the diver only partly (per-clip gains, sometimes a pause), with a
    per-clip framing and a little shake, and never sinks below the water (the surface stays in
    the lower 65%).
    """
    W, H = IMAGE_WIDTH, IMAGE_HEIGHT
    target = np.stack([s * centres_m[:, 0], -s * np.maximum(centres_m[:, 1], 0.8)], axis=1)
    target -= np.array([W * rng.uniform(0.25, 0.75), H * rng.uniform(0.25, 0.6)])
    gain = np.array([rng.uniform(0.08, 0.5), rng.uniform(0.1, 0.6)])
    # Sometimes the operator loses the diver for a moment: the camera stops following.
    frozen = np.zeros(len(target), dtype=bool)
    if rng.random() < 0.35:
        start = int(rng.integers(len(target) // 4, max(len(target) // 4 + 1, 3 * len(target) // 4)))
        frozen[start : start + int(rng.integers(6, 16))] = True
    cam = np.empty_like(target)
    cam[0] = target[0] + rng.normal(0.0, 15.0, 2)
    for i in range(1, len(target)):
        cam[i] = cam[i - 1] if frozen[i] else cam[i - 1] + gain * (target[i] - cam[i - 1])
    cam += rng.normal(0.0, 0.6, cam.shape)
    cam[:, 1] = np.minimum(cam[:, 1], -0.35 * H)
    return np.round(cam).astype(np.int64)


def render_clip(plan: ClipPlan, cfg: SynthConfig, layout: Layout) -> ClipResult:
    """Render and write one clip (frames, video, LabelMe, gt, detections); deterministic in the plan."""
    W, H = IMAGE_WIDTH, IMAGE_HEIGHT
    venue_rng = np.random.default_rng(np.random.SeedSequence(plan.venue_seed))
    rng = np.random.default_rng(np.random.SeedSequence(plan.clip_seed))
    # The broadcast features draw from their own stream: switching them on changes nothing else.
    brng = np.random.default_rng(np.random.SeedSequence((*plan.clip_seed, 9)))
    app = Apparatus.for_event(plan.event)
    venue = sample_venue(venue_rng, app)
    # Some clips are framed tightly (zoomed in), so the diver leaves the view at times.
    s = venue.px_per_m * (float(rng.uniform(1.3, 1.6)) if rng.random() < 0.3 else 1.0)

    table = dive_table(app.kind)
    if cfg.dive_numbers:
        table = [(spec, w) for spec, w in table if spec.number.lower() in cfg.dive_numbers]
    weights = np.array([w for _, w in table], dtype=np.float64)
    dive = table[int(rng.choice(len(table), p=weights / weights.sum()))][0]
    ex = sample_execution(rng, dive.difficulty, cfg.form_faults)
    pens = penalties(ex)
    judges = judge_scores(rng, pens)
    score = dive_score(judges, dive.difficulty)
    frames = _sample_stage_frames(rng, cfg.frames)
    motion = DiveMotion(dive, ex, app, frames, float(rng.choice([-1.0, 1.0])), float(rng.uniform(1.6, 1.85)),
                        float(rng.uniform(-25, 25)), line_up=cfg.form_faults)
    n = frames.total
    style = PersonStyle(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], SUITS[int(rng.integers(len(SUITS)))],
                        (0, 0, 0), HAIR[int(rng.integers(len(HAIR)))], sleeves=False)
    style = PersonStyle(style.skin, style.top, style.skin, style.hair, sleeves=False)

    states = [motion.state(float(f)) for f in range(n)]
    centres = np.array([(st.joints[:, :2].min(0) + st.joints[:, :2].max(0)) / 2 for st in states])
    cam = _camera_path(rng, centres, s)
    margin = 4
    contact = motion.state(frames.t1 + 0.5).joints
    entry_x = float(contact[np.argmin(contact[:, 1]), 0])
    if cfg.broadcast:
        def diver_centre(t: float) -> np.ndarray:
            j = motion.state(t).joints[:, :2]
            c = (j.min(0) + j.max(0)) / 2
            return np.array([s * c[0], -s * c[1]])

        views = bc.plan_views(cfg, brng, frames, cam, lambda r: _camera_path(r, centres, s), diver_centre)
        walkers = bc.sample_walkers(cfg, brng, entry_x)
        # The old canvas, grown only where a zoomed / cut / replay view needs more: features that
        # leave the views alone keep the canvas, hence the main random stream, of the plain world.
        vlo, vhi = bc.views_extent(views)
        lo = np.minimum(cam.min(axis=0) - margin, vlo)
        hi = np.maximum(cam.max(axis=0) + np.array([W, H]) + margin, vhi + 1)
        size = (int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    else:
        views, walkers = bc.live_views(cam), []
        lo = cam.min(axis=0) - margin
        size = (int(cam[:, 0].max() - lo[0] + W + margin), int(cam[:, 1].max() - lo[1] + H + margin))
    origin = -lo  # canvas pixel of world (0, 0), integers
    n_out = len(views)
    venue.px_per_m = s
    canvas = build_canvas(venue, app, size, origin.astype(np.float64), rng)
    offsets = cam + origin  # canvas pixel of image (0, 0)

    static_boxes = _draw_static_people(canvas, venue)
    splash = Splash.sample(rng, entry_x, ex.splash_size)
    occluder = _sample_occluder(rng, cfg, frames, states, canvas, offsets)
    det_model = DetectorModel(cfg.detector_miss_rate, cfg.detector_jitter, cfg.false_positive_rate,
                              cfg.person_miss_rate, cfg.detector_miss_difficulty)
    # Upright people are easy detections; nearer (bigger) ones score higher.
    base_scores = {p.pid: float(np.clip(0.25 + 0.65 * p.depth_scale + rng.uniform(-0.12, 0.06), 0.2, 0.97))
                   for p in venue.people}
    base_scores.update({w.pid: w.base_score for w in walkers})
    spf = motion.seconds_per_frame

    transits = [frames.t0, frames.t1]
    stage_defs = dive.stage_labels(cfg.twist_stages)
    if len(stage_defs) == 4:
        transits = [frames.t0, _twist_boundary(motion, frames), frames.t1]
    labels = labels_from_transits(transits, [sid for sid, _ in stage_defs], n_out)
    texts = {"logo": "SYN TV", "replay": "REPLAY"}

    video = ClipVideoWriter(layout.video(plan.match, plan.idx), (W, H)) if cfg.write_video else None
    gt_frames: list[dict[str, Any]] = []
    det_inputs: list[tuple[list[tuple[str, str, Box, float]], float, bool, list[tuple[str, Box]]]] = []
    stats = {"labelme_files": 0, "diver_detected": 0, "spectator_above_diver": 0, "blurred": 0, "occluded_frames": 0}
    try:
        for f, view in enumerate(views):
            t = view.t
            ox, oy, cw, ch, m = bc.crop_and_affine(view, canvas.origin)
            img = canvas.image[oy : oy + ch, ox : ox + cw].copy()
            org = canvas.origin - np.array([ox, oy], dtype=np.float64)  # crop pixel of world (0, 0)
            surface_row = int(round(org[1]))
            persons: list[tuple[str, str, Box, float]] = []
            for p in venue.people:
                if p.moving:
                    fx, fy = org[0] + s * p.x, org[1] - s * p.y
                    if not (-60 < fx < cw + 60 and -20 < fy < ch + 120):
                        continue
                    lay = person_layer(p, t, s, org)
                    composite(img, lay)
                    box = _clip_box(bc.map_box(m, lay.tight_box(1.0)), W, H)
                else:
                    b = static_boxes.get(p.pid)
                    box = _clip_box(None if b is None else bc.map_box(m, (b[0] - ox, b[1] - oy, b[2] - ox, b[3] - oy)), W, H)
                if box is not None:
                    persons.append((p.pid, p.role, box, base_scores[p.pid]))
            near = [w for w in walkers if w.role == "foreground"]
            for w in (w for w in walkers if w.role != "foreground"):
                _draw_walker(img, w, t * spf, s, org, m, persons, base_scores, None)
            st = motion.state(t) if view.segment == "replay" else states[f]
            draw_springboard(img, app, st.board_deflection, org, s)
            xy = org + s * np.stack([st.joints[:, 0], -st.joints[:, 1]], axis=1)
            depth = st.joints[:, 2]
            speed = view.zoom * _joint_speed(motion, t, s, view.step)
            centre = render_layer([xy], [depth], s, style)
            drawn: Layer = centre
            if speed > BLUR_THRESHOLD_PX:
                k = int(min(5, 2 + speed // 8))
                subs = [motion.state(t + dt * view.step).joints for dt in np.linspace(-0.2, 0.2, k)]
                drawn = render_layer([org + s * np.stack([j[:, 0], -j[:, 1]], axis=1) for j in subs],
                                     [j[:, 2] for j in subs], s, style)
                stats["blurred"] += 1
            composite(img, drawn, clip_below_row=surface_row)
            diver_box = _clip_box(bc.map_box(m, clip_layer_rows(centre, surface_row).tight_box(1.0)), W, H)
            front = np.zeros((ch, cw), np.float32)
            if t > frames.t1:
                front = np.maximum(front, splash.draw(img, (t - frames.t1 - 0.5) * spf, org, s))
            splash_front = front
            for w in near:
                front = np.maximum(front, _draw_walker(img, w, t * spf, s, org, m, persons, base_scores, (ch, cw)))
            if m is not None:
                img, front, splash_front = bc.warp(m, img), bc.warp(m, front), bc.warp(m, splash_front)
                surface_row = int(round(m[1, 1] * org[1] + m[1, 2]))
                xy = bc.map_points(m, xy)
            if occluder is not None and view.segment != "replay":
                front = np.maximum(front, occluder.draw(img, f))
            shown: list[tuple[str, Box]] = []
            if cfg.graphics:
                shown = bc.graphics_boxes(view, f, frames, n)
                texts["lower_third"] = (f"{dive.number.upper()}  DD {dive.difficulty:.1f}" if f <= frames.t0
                                        else f"SCORE {score:.2f}")
                front = np.maximum(front, bc.draw_graphics(img, shown, texts))
            joints = _joint_table(xy, surface_row, front)
            if any(v == 1 for _, _, v in joints):
                stats["occluded_frames"] += 1
            if diver_box is not None:
                vis = np.array([v for _, _, v in joints])
                difficulty = (0.5 * min(1.0, speed / 25.0) + 0.3 * st.grouping + 0.6 * float(np.mean(vis == 1))
                              + 0.6 * float(np.mean(vis == 0)))
                persons.insert(0, ("diver", "diver", diver_box, 0.95))
            else:
                difficulty = 1.0
            regions = list(shown)
            splash_box = bc.mask_box(splash_front) if cfg.broadcast and t > frames.t1 else None
            if splash_box is not None:
                regions.append(("splash", splash_box))
            det_inputs.append((persons, min(1.0, difficulty), diver_box is not None, regions))
            gt_frame: dict[str, Any] = {
                "frame_index": f,
                "image": f"frames/{plan.match}/{plan.idx}/{f:05d}.jpg",
                "stage": int(np.searchsorted(np.asarray(transits), f)),
                "stage_label": int(labels[f]),
                "camera_offset": [ox, oy],
                "motion_blur_px": round(float(speed), 3),
                "diver": {"box": list(diver_box) if diver_box else None, "joints": [list(j) for j in joints]},
                "persons": [{"id": pid, "role": role, "box": list(box)} for pid, role, box, _ in persons],
            }
            if cfg.broadcast:
                x1, y1, _, _ = view.window()
                gt_frame["camera_offset"] = [round(x1 + float(canvas.origin[0]), 3), round(y1 + float(canvas.origin[1]), 3)]
                gt_frame.update({"segment": view.segment, "dive_time": round(t, 3), "zoom": round(view.zoom, 4),
                                 "graphics": [{"name": k, "box": list(b)} for k, b in shown],
                                 "splash_box": None if splash_box is None else list(splash_box)})
            gt_frames.append(gt_frame)
            ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])
            path = layout.frame(plan.match, plan.idx, f)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(jpg.tobytes())
            if video is not None:
                video.write(img)
            if diver_box is not None:
                _write_labelme(layout, plan, f, joints, diver_box)
                stats["labelme_files"] += 1
    except BaseException:
        if video is not None:
            video.abort()
        raise
    if video is not None:
        video.close()
    det_lines = _detect_all(cfg, rng, brng, det_model, det_inputs, gt_frames, stats, frames)

    fine = FineGrainedRecord(dive.number, score, dive.difficulty, np.asarray(transits, np.int64), labels,
                             {sid: name for sid, name in stage_defs})
    start = int(rng.integers(1000, 200000))
    coarse = CoarseRecord(dive.number, start, start + n_out - 1, score, dive.difficulty, judges)
    gt: dict[str, Any] = {
        "schema_version": GT_SCHEMA_VERSION,
        "match": plan.match,
        "idx": plan.idx,
        "image_width": W,
        "image_height": H,
        "num_frames": n_out,
        "joint_names": list(JOINT_NAMES),
        "visibility_codes": {"0": "off-image (coordinates kept)", "1": "occluded (occluder, splash or water)", "2": "visible"},
        "dive": {"action_type": dive.number, "group": dive.group, "somersaults": dive.somersaults, "twists": dive.twists,
                 "position": dive.position, "difficulty": dive.difficulty, "event": plan.event,
                 "apparatus": app.kind, "apparatus_height_m": app.height},
        "stages": {"steps_transit_frames": transits, "frames_labels": labels.tolist(),
                   "sub_action_types": {str(k): v for k, v in stage_defs}},
        "execution": ex.to_dict(),
        "score": {"penalties": pens, "judge_scores": judges, "difficulty": dive.difficulty, "dive_score": score,
                  "rule": "sum of the middle three of 7 judge scores x difficulty"},
        "camera": {"px_per_m": round(s, 4), "seconds_per_frame": round(spf, 5),
                   "occluder": None if occluder is None else {"frame_mid": occluder.frame_mid, "speed_px": round(occluder.speed, 3)}},
        "frames": gt_frames,
    }
    if cfg.broadcast:
        gt["visibility_codes"]["1"] = "occluded (occluder, splash, water, a person in the foreground or on-screen graphics)"
        segments = [v.segment for v in views]
        gt["broadcast"] = {
            "live_frames": n,
            "cut_frame": segments.index("cut") if "cut" in segments else None,
            "replay_frames": segments.count("replay"),
            "people": [{"id": w.pid, "role": w.role, "speed_m_s": round(w.v, 3), "depth_scale": round(w.depth_scale, 3)}
                       for w in walkers],
            "roles": {"diver": "the diver", "spectator": "in the stands", "judge": "seated on the far deck",
                      "official": "walking on the deck", "coach": "walking on the deck",
                      "foreground": "near the camera at the entry"},
            "detection_sources": "frames[].detections[].source: a person id, or clutter / splash / graphics "
                                 + ("/ diver_duplicate (a second, looser box on the diver) " if cfg.detector_profile else "")
                                 + "for false positives (role false_positive)",
        }
    write_json(layout.gt(plan.match, plan.idx), gt, indent=1)
    atomic_write_text(layout.detections(plan.match, plan.idx), "\n".join(det_lines) + ("\n" if det_lines else ""))
    summary = {"num_frames": n_out, **stats}
    return ClipResult(plan, fine, coarse, summary)


def _draw_walker(img: np.ndarray, w: bc.Walker, seconds: float, s: float, org: np.ndarray, m: Optional[np.ndarray],
                 persons: list[tuple[str, str, Box, float]], scores: dict[str, float],
                 mask_shape: Optional[tuple[int, int]]) -> np.ndarray:
    """Composite a walking / foreground person into the crop, add its image box to ``persons``;
    returns its coverage in the crop when ``mask_shape`` is given (else an empty array)."""
    ch, cw = img.shape[:2]
    fx, fy = org[0] + s * w.feet_x(seconds), org[1] - s * w.y
    reach = 2.2 * s * w.depth_scale
    if not (-reach < fx < cw + reach and -20 < fy < ch + reach):
        return np.zeros(mask_shape or (0, 0), np.float32)
    lay = w.layer(seconds, s, org)
    composite(img, lay)
    box = _clip_box(bc.map_box(m, lay.tight_box(1.0)), IMAGE_WIDTH, IMAGE_HEIGHT)
    if box is not None:
        persons.append((w.pid, w.role, box, scores[w.pid]))
    return bc.layer_mask(lay, mask_shape) if mask_shape else np.zeros((0, 0), np.float32)


def _detect_all(cfg: SynthConfig, rng: np.random.Generator, brng: np.random.Generator, model: DetectorModel,
                inputs: list[tuple[list[tuple[str, str, Box, float]], float, bool, list[tuple[str, Box]]]],
                gt_frames: list[dict[str, Any]], stats: dict[str, int], frames: StageFrames) -> list[str]:
    """Run the simulated detector over every frame (after rendering, so that the diver's miss
    base can be calibrated over the clip); returns the MOT lines, adds ``detections`` to the
    ground-truth frames of a broadcast world."""
    base: Optional[float] = None
    profiled: Optional[list[FrameDetections]] = None
    if cfg.detector_profile:
        # Phase by dive time (replay frames too): take-off, flight, entry.
        phases = [0 if fr["dive_time"] <= frames.t0 else 1 if fr["dive_time"] <= frames.t1 else 2 for fr in gt_frames]
        profiled = detect_clip(brng, PROFILES[cfg.detector_profile], model,
                               [(persons, diff, ph) for (persons, diff, _, _), ph in zip(inputs, phases)],
                               (IMAGE_WIDTH, IMAGE_HEIGHT), cfg.detector_miss_rate if cfg.detector_miss_overall else None)
    elif cfg.detector_miss_overall:
        d = np.array([diff for _, diff, drawn, _ in inputs if drawn], dtype=np.float64)
        base = bc.calibrated_miss_base(d, cfg.detector_miss_rate, cfg.detector_miss_difficulty)
    lines: list[str] = []
    for f, (persons, diff, _, regions) in enumerate(inputs):
        dets = (profiled[f] if profiled is not None
                else detect_frame(rng, model, persons, diff, (IMAGE_WIDTH, IMAGE_HEIGHT), base))
        if cfg.broadcast:
            # Poisson(rate) false boxes per frame on the splash, and on the graphics shown (each
            # box on one of the panels, drawn at random).
            fakes: list[tuple[str, Box, float]] = []
            panels = [r for name, r in regions if name != "splash"]
            for region in (r for name, r in regions if name == "splash"):
                k = int(brng.poisson(cfg.splash_false_positive_rate))
                fakes += [("splash", b, sc) for b, sc in bc.false_boxes(brng, k, region, person_like=True)]
            if panels:
                for _ in range(int(brng.poisson(cfg.graphics_false_positive_rate))):
                    region = panels[int(brng.integers(len(panels)))]
                    fakes += [("graphics", b, sc) for b, sc in bc.false_boxes(brng, 1, region, person_like=False)]
            clipped = [(_clip_box(box, IMAGE_WIDTH, IMAGE_HEIGHT), sc, source) for source, box, sc in fakes]
            dets = dets.plus((c, sc, "false_positive", source) for c, sc, source in clipped if c is not None)
            gt_frames[f]["detections"] = dets.gt_json()
        lines += mot_lines(f, dets)
        _count_detector_stats(dets, stats)
    return lines


def _draw_static_people(canvas: Canvas, venue: Any) -> dict[str, Box]:
    """Composite the non-moving people into the canvas; their canvas boxes by id."""
    Hc, Wc = canvas.image.shape[:2]
    boxes: dict[str, Box] = {}
    for p in venue.people:
        if p.moving:
            continue
        fx = canvas.origin[0] + canvas.px_per_m * p.x
        fy = canvas.origin[1] - canvas.px_per_m * p.y
        if not (-60 < fx < Wc + 60 and -20 < fy < Hc + 120):
            continue
        lay = person_layer(p, 0.0, canvas.px_per_m, canvas.origin)
        composite(canvas.image, lay)
        box = lay.tight_box(1.0)
        if box is not None:
            boxes[p.pid] = box
    return boxes


def _joint_speed(motion: DiveMotion, t: float, s: float, step: float = 1.0) -> float:
    """Largest joint displacement (canvas pixels) over one output frame around dive time ``t``
    (``step``: dive time per output frame, 0.5 in a slow-motion replay)."""
    a = motion.state(t - 0.5 * step).joints[:, :2]
    b = motion.state(t + 0.5 * step).joints[:, :2]
    return float(s * np.max(np.hypot(*(b - a).T)))


def _joint_table(xy: np.ndarray, surface_row: int, front: np.ndarray) -> list[tuple[float, float, int]]:
    """[(x, y, visibility)] * 16 with coordinates rounded to 1/1000 px."""
    H, W = front.shape
    out = []
    for x, y in np.round(xy, 3):
        inside = 0.0 <= x <= W - 1 and 0.0 <= y <= H - 1
        if not inside:
            out.append((float(x), float(y), 0))
            continue
        r, c = int(round(y)), int(round(x))
        hidden = r > surface_row or front[r, c] > 0.5
        out.append((float(x), float(y), 1 if hidden else 2))
    return out


def _write_labelme(layout: Layout, plan: ClipPlan, f: int, joints: list[tuple[float, float, int]], box: Box) -> None:
    xy = np.array([[x, y] if v > 0 else [np.nan, np.nan] for x, y, v in joints], dtype=np.float64)
    vis = np.array([v for _, _, v in joints], dtype=np.int8)
    label = ManualLabel(xy, vis, Boxes.from_rows(np.array(box)), Layout.labelme_image_path(plan.match, plan.idx, f),
                        IMAGE_HEIGHT, IMAGE_WIDTH)
    write_labelme(label_to_doc(label), layout.labelme(plan.match, plan.idx, f))


def _count_detector_stats(dets: FrameDetections, stats: dict[str, int]) -> None:
    diver = dets.scores_of(["diver"])
    people = dets.scores_of(["spectator", "judge", "official", "coach", "foreground"])
    if diver:
        stats["diver_detected"] += 1
        if people and max(people) > diver[0]:
            stats["spectator_above_diver"] += 1


def _twist_boundary(motion: DiveMotion, frames: StageFrames) -> int:
    """Last frame of the first flight phase when twists get their own stage."""
    a, b = motion.twist_window or (0.5, 0.5)
    u = b if motion.dive.twist_first else a
    f = frames.t0 + int(round(u * frames.flight))
    return int(np.clip(f, frames.t0 + 1, frames.t1 - 1))


def _sample_occluder(rng: np.random.Generator, cfg: SynthConfig, frames: StageFrames, states: list[Any],
                     canvas: Canvas, offsets: np.ndarray) -> Optional[Occluder]:
    if rng.random() >= cfg.occluder_probability:
        return None
    f = int(rng.integers(frames.t0 + 1, frames.t1 + 1))
    j = states[f].joints
    x_img = canvas.origin[0] + canvas.px_per_m * float(j[:, 0].mean()) - offsets[f][0]
    speed = float(rng.choice([-1.0, 1.0]) * rng.uniform(6.0, 20.0))
    grey = int(rng.integers(20, 70))
    return Occluder(f, float(x_img), speed, float(rng.uniform(18.0, 40.0)), float(rng.uniform(0.0, IMAGE_HEIGHT * 0.5)),
                    (grey, grey, grey + 10))
