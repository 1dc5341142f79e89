"""Overlays: drawing styles, an mp4 that decodes back at 455x256, a PNG contact sheet, atomic writes."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from fdpose.errors import ValidationError
from fdpose.pipelines.overlay import (OverlayStyle, contact_sheet_indices, draw_record, parse_record,
                                      tile_sheet, render_overlay)
from fdpose.skeleton import JOINT_INDEX as J
from fdpose.skeleton import NUM_JOINTS, joint_color

W, H = 455, 256


def _record(t: int, interpolated: tuple[int, ...] = (), missing: tuple[int, ...] = ()) -> dict:
    """A standing figure drifting right; joints laid out top (head) to bottom (ankles)."""
    x0 = 100 + 3 * t
    layout = {"head_top": (0, 20), "upper_neck": (0, 45), "thorax": (0, 60), "pelvis": (0, 130),
              "r_shoulder": (-25, 62), "l_shoulder": (25, 62), "r_elbow": (-35, 95), "l_elbow": (35, 95),
              "r_wrist": (-40, 125), "l_wrist": (40, 125), "r_hip": (-15, 130), "l_hip": (15, 130),
              "r_knee": (-17, 180), "l_knee": (17, 180), "r_ankle": (-18, 228), "l_ankle": (18, 228)}
    kps: list[list] = [[0.0, 0.0, 0.0]] * NUM_JOINTS
    src = ["estimated"] * NUM_JOINTS
    for name, (dx, dy) in layout.items():
        j = J[name]
        kps[j] = [float(x0 + dx), float(dy), 0.9]
        if j in interpolated:
            src[j] = "interpolated"
        if j in missing:
            kps[j], src[j] = [None, None, 0.0], "missing"
    return {"frame_index": t, "bbox": [x0 - 45.0, 10.0, x0 + 45.0, 235.0, 0.87], "keypoints": kps,
            "joint_source": src, "track": "matched"}


def _frames(n: int) -> list[np.ndarray]:
    """Smooth gradients (a sky-like background) that change a little per frame."""
    yy, xx = np.mgrid[0:H, 0:W]
    return [np.stack([110 + 60 * yy / H, 80 + 40 * xx / W, np.full((H, W), 50.0 + 2 * t)], axis=-1).astype(np.uint8)
            for t in range(n)]


def test_styles_filled_hollow_and_missing() -> None:
    img = np.zeros((H, W, 3), np.uint8)
    rw, lw, lk = J["r_wrist"], J["l_wrist"], J["l_knee"]
    style = OverlayStyle(joint_radius=4, show_text=False)
    out = draw_record(img, _record(0, interpolated=(rw,), missing=(lk,)), style)
    assert img.max() == 0  # input untouched
    lw_xy = (140, 125)
    rw_xy = (60, 125)
    assert tuple(out[lw_xy[1], lw_xy[0]]) == joint_color(lw)  # estimated: filled disc
    assert out[rw_xy[1], rw_xy[0]].max() < 60  # interpolated: hollow centre...
    ring = out[rw_xy[1], rw_xy[0] + 2:rw_xy[0] + 7].astype(int)  # ...with an (anti-aliased) ring
    best, color = ring[np.argmax(ring.sum(axis=1))], np.array(joint_color(rw))
    assert best.sum() > 0.7 * color.sum() and np.abs(best / best.sum() - color / color.sum()).max() < 0.05
    knee_xy = (117, 180)
    assert out[knee_xy[1], knee_xy[0]].max() == 0  # missing joint not drawn
    # bones to the missing knee are absent: nothing between l_hip (115, 130) and the knee
    assert out[155, 116].max() == 0
    # the box is drawn
    assert tuple(out[100, 55]) == OverlayStyle().box_color


def test_dashed_bone_has_gaps() -> None:
    img = np.zeros((H, W, 3), np.uint8)
    style = OverlayStyle(show_text=False, bone_thickness=1)
    solid = draw_record(img, _record(0), style)
    dashed = draw_record(img, _record(0, interpolated=(J["pelvis"],)), style)
    # spine thorax (100, 60) -> pelvis (100, 130): solid is continuous, dashed is not
    column_solid = solid[70:120, 100].max(axis=1) > 0
    column_dashed = dashed[70:120, 100].max(axis=1) > 0
    assert column_solid.all() and 0.3 < column_dashed.mean() < 0.8


def test_video_and_sheet_round_trip(tmp_path: Path) -> None:
    n = 20
    records = [_record(t, interpolated=(J["r_wrist"],) if t % 4 == 0 else (), missing=(J["l_ankle"],) if t == 5 else ())
               for t in range(n)]
    records[7]["bbox"] = None
    video, sheet = tmp_path / "out" / "clip.mp4", tmp_path / "out" / "clip_sheet.png"
    res = render_overlay(iter(_frames(n)), records, video, sheet, fps=25.0, sheet_frames=6, tile_width=200)
    assert res.frames == n and (res.width, res.height) == (W, H) and res.codec == "mpeg4"
    assert res.sheet_indices == (0, 4, 8, 11, 15, 19)
    with av.open(str(video)) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
        rate = container.streams.video[0].average_rate
    assert len(decoded) == n and decoded[0].shape == (H, W, 3) and float(rate) == pytest.approx(25.0)
    # the decoded video shows the drawn frames (lossy 4:2:0 codec: the thin coloured lines lose some
    # chroma; measured PSNR 27.7-28.6 dB, background within ~1.5 grey levels)
    for t in (0, 5, 19):
        drawn = draw_record(_frames(n)[t], records[t], frame_label=f"#{t}").astype(float)
        err = decoded[t].astype(float) - drawn
        assert 10 * np.log10(255 ** 2 / np.mean(err ** 2)) > 25, t
        assert np.abs(err[200:250, 300:450]).mean() < 3, t
    png = cv2.imread(str(sheet))
    assert png is not None and png.shape == (2 + 2 * (round(H * 200 / W) + 2), 2 + 3 * (200 + 2), 3)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.mp4", "clip_sheet.png"]


def test_even_size_uses_h264(tmp_path: Path) -> None:
    frames = [np.full((64, 96, 3), 30 * t, np.uint8) for t in range(3)]
    res = render_overlay(frames, [{"bbox": None, "keypoints": None}] * 3, tmp_path / "e.mp4")
    assert res.codec == "libx264" and res.sheet_path is None
    with av.open(str(tmp_path / "e.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in c.decode(video=0)) == 3


def test_mismatch_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="3 frames but 4 records"):
        render_overlay(_frames(3), [_record(t) for t in range(4)], tmp_path / "v.mp4", tmp_path / "s.png")
    with pytest.raises(ValidationError, match="more frames than the 2 records"):
        render_overlay(_frames(3), [_record(t) for t in range(2)], tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValidationError, match=r"frames\[1\].keypoints: expected 16 entries, got 3"):
        render_overlay(_frames(2), [_record(0), {"bbox": None, "keypoints": [[0, 0, 0]] * 3}], tmp_path / "v.mp4")
    with pytest.raises(ValidationError, match="frame 1: size 100x50 differs"):
        render_overlay([_frames(1)[0], np.zeros((50, 100, 3), np.uint8)], [_record(0), _record(1)], tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []


def test_helpers() -> None:
    assert contact_sheet_indices(100, 4).tolist() == [0, 33, 66, 99]
    assert contact_sheet_indices(3, 10).tolist() == [0, 1, 2]
    assert contact_sheet_indices(0, 5).size == 0
    rec = parse_record({"bbox": None, "keypoints": [[None, None, 0.0]] * 16, "joint_source": ["estimated"] * 16})
    assert (rec.source == "missing").all() and rec.box is None  # null coordinates count as missing
    sheet = tile_sheet([np.zeros((10, 20, 3), np.uint8)] * 5, columns=2, tile_width=40, gap=1)
    assert sheet.shape == (1 + 3 * (20 + 1), 1 + 2 * (40 + 1), 3)


def test_write_overlay_of_a_processed_clip(tmp_path: Path) -> None:
    from fdpose.pipelines.clip_json import ClipPoses
    from fdpose.pipelines.detectors.base import BackendInfo
    from fdpose.pipelines.frames import FrameTreeClip

    folder = tmp_path / "tree" / "MatchA" / "7"
    folder.mkdir(parents=True)
    n = 6
    for t, img in enumerate(_frames(n)):
        cv2.imwrite(str(folder / f"{t:05d}.jpg"), img)
    recs = [_record(t, interpolated=(J["l_wrist"],) if t == 2 else ()) for t in range(n)]
    kps = np.array([[[np.nan if v is None else v for v in p] for p in r["keypoints"]] for r in recs], dtype=float)
    boxes = np.array([r["bbox"] for r in recs], dtype=float)
    boxes[4] = np.nan  # a lost frame
    clip = ClipPoses(clip_id="MatchA__7", source={"kind": "frame_tree", "path": str(folder)}, fps=None, width=W,
                     height=H, detector=BackendInfo("file"), pose=BackendInfo("mediapipe"), boxes=boxes,
                     keypoints=kps, joint_source=np.array([r["joint_source"] for r in recs], dtype=object),
                     track=["matched"] * 4 + ["lost", "matched"], sampled_indices=np.arange(n),
                     file_names=[f"{t:05d}.jpg" for t in range(n)])
    from fdpose.pipelines.overlay import write_overlay

    res = write_overlay(FrameTreeClip(folder), clip, tmp_path / "overlay", sheet_frames=3)
    assert res.video_path == tmp_path / "overlay" / "MatchA__7.mp4" and res.frames == n
    assert res.sheet_path == tmp_path / "overlay" / "MatchA__7_sheet.png" and res.sheet_indices == (0, 2, 5)
    with av.open(str(res.video_path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == n and c.streams.video[0].width == W
    assert cv2.imread(str(res.sheet_path)).shape[2] == 3
