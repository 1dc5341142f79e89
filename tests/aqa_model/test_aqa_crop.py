"""Diver-following crops, reduced JPEG decoding, segmentation on all streams, pose residual fusion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from aqa_helpers import micro_config

from fdpose.aqa_model.data.finediving import (IMAGENET_MEAN, IMAGENET_STD, decode_factor, diver_windows,
                                              load_clip_video, load_video, resize_nearest)
from fdpose.aqa_model.fusion import PoseGuidedFusion
from fdpose.aqa_model.model import HPMCoRe
from fdpose.errors import InputError


def _pose(boxes: list[tuple[float, float, float, float] | None]) -> np.ndarray:
    """(T, 16, 3): the 16 joints spread over each frame's box (confidence 1), None = no joint seen."""
    pose = np.zeros((len(boxes), 16, 3), np.float32)
    for t, box in enumerate(boxes):
        if box is None:
            pose[t, :, :2] = 999.0  # coordinates kept, confidence 0 (off-image)
            continue
        x0, y0, x1, y1 = box
        pose[t, :, 0] = np.linspace(x0, x1, 16)
        pose[t, :, 1] = np.linspace(y0, y1, 16)[::-1]
        pose[t, :, 2] = 1.0
    return pose


def test_diver_windows_follow_the_joints_with_one_side_per_clip() -> None:
    boxes = [(10, 20, 30, 60), None, (50, 20, 70, 40), (50, 20, 70, 40)]
    win = diver_windows(_pose(boxes), scale=1.5)
    assert win is not None and win.shape == (4, 3)
    assert win[0, :2].tolist() == [20.0, 40.0] and win[2, :2].tolist() == [60.0, 30.0]
    assert win[1, :2].tolist() == [40.0, 35.0]  # no joint seen: interpolated between its neighbours
    # longer box edges 40, 20, 20 -> 90th percentile 36 -> side 54 for every frame
    assert np.allclose(win[:, 2], 1.5 * np.percentile([40, 20, 20], 90))
    assert diver_windows(_pose([None, None]), scale=1.5) is None
    tiny = diver_windows(_pose([(5, 5, 6, 6)]), scale=1.5, min_side=16)
    assert tiny is not None and tiny[0, 2] == 16.0


def test_decode_factor_keeps_enough_pixels() -> None:
    assert decode_factor(256, 32) == 8 and decode_factor(255, 32) == 4
    assert decode_factor(100, 32) == 2 and decode_factor(40, 32) == 1 and decode_factor(10, 32) == 1


def _frames(tmp_path: Path, count: int, square_at: tuple[int, int]) -> list[Path]:
    """Dark 256x455 JPEGs with a bright 20x20 square centred at ``square_at`` (x, y)."""
    files = []
    x, y = square_at
    for i in range(count):
        img = np.full((256, 455, 3), 20, np.uint8)
        img[y - 10:y + 10, x - 10:x + 10] = 250
        path = tmp_path / f"{i:05d}.jpg"
        cv2.imwrite(str(path), img)
        files.append(path)
    return files


def _gray(video: np.ndarray) -> np.ndarray:
    """(T, 3, S, S) normalised -> (T, S, S) 0..1 brightness."""
    return (video.transpose(0, 2, 3, 1) * IMAGENET_STD + IMAGENET_MEAN).mean(axis=-1)


def test_diver_crop_centres_the_diver_and_the_frame_crop_loses_it(tmp_path: Path) -> None:
    files = _frames(tmp_path, 4, square_at=(400, 60))  # near the right edge: outside a centre crop
    positions = np.arange(4)
    cfg = dataclasses.replace(micro_config(), frame_size=16, video_crop="diver", diver_crop_scale=2.0)
    pose = _pose([(390, 50, 410, 70)] * 4)
    video, width = load_clip_video(files, positions, cfg, pose)
    assert video.shape == (4, 3, 16, 16) and width == 455
    g = _gray(video)
    assert g[:, 6:10, 6:10].min() > 0.8 and g[:, :2, :2].max() < 0.2  # square fills the middle (side 40)
    whole, _ = load_video(files, positions, 16)
    assert _gray(whole).max() < 0.2  # the short-side resize + centre crop never sees it
    with pytest.raises(InputError, match="video_crop 'diver'"):
        load_clip_video(files, positions, cfg, None, where=tmp_path / "pose.npz")
    # a window past the image edge is border-replicated, not an error
    edge, _ = load_clip_video(files, positions, cfg, _pose([(440, 0, 455, 10)] * 4))
    assert edge.shape == (4, 3, 16, 16) and np.isfinite(edge).all()


def test_diver_crop_jitter_is_seeded(tmp_path: Path) -> None:
    files = _frames(tmp_path, 3, square_at=(200, 120))
    cfg = dataclasses.replace(micro_config(), frame_size=16, video_crop="diver")
    pose = _pose([(190, 110, 210, 130)] * 3)
    a, _ = load_clip_video(files, np.arange(3), cfg, pose, np.random.default_rng(5))
    b, _ = load_clip_video(files, np.arange(3), cfg, pose, np.random.default_rng(5))
    c, _ = load_clip_video(files, np.arange(3), cfg, pose, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_segmentation_on_all_streams_and_pose_values_in_the_fused_branch_train() -> None:
    cfg = micro_config(segmentation_input="all", fused_pose_values=True)
    model = HPMCoRe(cfg)
    assert model.motion_encoder is not None and model.pose_encoder is not None
    reducer_in = model.reducers["motion"][0][0].in_features
    assert reducer_in == model.motion_encoder.out_dim + model.pose_encoder.out_dim
    video = torch.randn(2, cfg.num_frames, 3, cfg.frame_size, cfg.frame_size)
    pose = torch.rand(2, cfg.num_frames, 16, 3) * 50
    enc = model.encode(video, pose, torch.tensor([[4, 10], [5, 11]]))
    assert enc.seg_logits is not None and enc.seg_logits.shape == (2, cfg.num_frames, 2)
    total, _ = model.losses(enc, enc.select([1, 0]), torch.tensor([50.0, 60.0]), torch.tensor([60.0, 50.0]))
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.pose_encoder.parameters())


def test_pose_values_reach_the_fused_features_when_the_visual_tokens_are_identical() -> None:
    """Eq. 11 alone: attention over identical visual values returns them whatever the pose;
    with ``fused_pose_values`` two videos with the same frames but different poses differ."""
    torch.manual_seed(0)
    visual = torch.randn(1, 1, 8).repeat(2, 5, 1)  # two videos, identical constant visual tokens
    pose = torch.randn(2, 5, 6)
    paper = PoseGuidedFusion(8, 6, heads=2)
    out = paper(visual, pose)
    assert torch.allclose(out[0], out[1], atol=1e-5)
    cfg = micro_config(fused_pose_values=True)
    model = HPMCoRe(cfg).eval()
    video = torch.randn(1, cfg.num_frames, 3, cfg.frame_size, cfg.frame_size).repeat(2, 1, 1, 1, 1)
    poses = torch.rand(2, cfg.num_frames, 16, 3) * 50
    cut = torch.tensor([[4, 10], [4, 10]])
    with torch.no_grad():
        fused = model.encode(video, poses, cut).stages["motion"]
    assert (fused[0] - fused[1]).abs().max() > 1e-3


def test_nearest_resize_picks_the_pixels_pil_picks() -> None:
    """The codes resize with torchvideotransforms' Resize, whose default is PIL's NEAREST."""
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for h, w in [(256, 455), (720, 1280), (1080, 1920), (480, 854), (113, 201)]:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # noise: any other pixel shows
        for out_h, out_w in [(200, 112), (112, 112), (300, 500)]:
            ref = np.asarray(image.fromarray(img).resize((out_w, out_h), image.NEAREST))
            assert np.array_equal(resize_nearest(img, out_h, out_w), ref), (h, w, out_h, out_w)


def test_code_presets_resize_frames_as_the_codes_do(tmp_path: Path) -> None:
    """hpmcore / mcore: 200 x 112 by PIL's nearest pixels, centre crop 112 (torchvideotransforms' CenterCrop:
    top = round((200 - 112) / 2) = 44), /255, ImageNet mean / std: the codes' test-time input, to float32 rounding."""
    from fdpose.aqa_model.presets import preset

    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(1)
    path = tmp_path / "00000.png"  # lossless: both readers see the same pixels
    cv2.imwrite(str(path), rng.integers(0, 256, (256, 455, 3), dtype=np.uint8))
    pil = np.asarray(image.open(path).convert("RGB").resize((112, 200), image.NEAREST), np.float32)[44:156, 0:112]
    expected = ((pil / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    for name in ("hpmcore", "mcore"):
        cfg = preset(name)
        assert (cfg.frame_resize, cfg.frame_resize_filter) == ((200, 112), "nearest")
        video = load_clip_video([path], np.array([0]), cfg, None)[0]
        np.testing.assert_allclose(video[0], expected, atol=1e-6)
    area = load_clip_video([path], np.array([0]), dataclasses.replace(preset("hpmcore"), frame_resize_filter="area"),
                           None)[0]
    assert np.abs(area[0] - expected).mean() > 0.3  # averaged pixels: not the codes' input



def test_real_broadcast_frames_match_the_codes_input(shared_data: Path) -> None:
    """On real FineDiving frames (JPEG, 455x256) the hpmcore input equals PIL's decode -> nearest resize to
    112 x 200 -> centre crop -> ImageNet normalisation, the codes' test-time transform."""
    from fdpose.aqa_model.presets import preset

    image = pytest.importorskip("PIL.Image")
    files = sorted((shared_data / "real" / "finediving_10m_clipA").glob("*.jpg"))
    assert len(files) == 34
    positions = np.linspace(0, 33, 8).astype(int)
    video = load_clip_video(files, positions, preset("hpmcore"), None)[0]
    for i, pos in enumerate(positions):
        pil = np.asarray(image.open(files[pos]).convert("RGB").resize((112, 200), image.NEAREST), np.float32)
        expected = ((pil[44:156] / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
        np.testing.assert_allclose(video[i], expected, atol=1e-6)
