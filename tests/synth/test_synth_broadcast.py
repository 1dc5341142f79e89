"""fdpose/synth/broadcast.py: the broadcast features appear where configured, and with all of
them off the worlds are byte-identical to the ones the generator made before they existed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli
from fdpose.synth import broadcast as bc
from fdpose.synth.config import BROADCAST_PRESET, IMAGE_HEIGHT, IMAGE_WIDTH, SynthConfig
from fdpose.synth.detections import parse_mot_line
from fdpose.synth.world import generate_world
from world_digests import entry_digests  # type: ignore[import-not-found]

#: sha256 (first 16 hex digits) per top-level entry (file count, digest over sorted relative paths
#: + bytes; world.json with fdpose_version blanked) of two small worlds, recorded with the
#: generator at commit 5a5a03e, before the broadcast features were added. JPEG bytes depend on
#: the pinned OpenCV build.
RECORDED = {
    "a": (dict(videos=3, seed=7, frames=50, write_video=False), {
        "frames": (144, "b2b1f02a4d06412f"), "labelme": (86, "59c7f3989b1d8685"), "gt": (3, "586c0d72da410c05"),
        "detections": (3, "f3c46682ed9f7d99"), "annotations": (4, "2782c7dba59421e6"), "world.json": (1, "e4ebd8b4c52d367c")}),
    "b": (dict(videos=2, seed=3, frames=30, twist_stages=True, write_video=False), {
        "frames": (72, "7df0a6dedc665586"), "labelme": (47, "fae384550f7ada8a"), "gt": (2, "efbb3c17f75c9e20"),
        "detections": (2, "5488c351491242eb"), "annotations": (4, "53bdf301050d7dfa"), "world.json": (1, "2f9d3370be262bdc")}),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_features_off_reproduce_the_recorded_worlds(tmp_path: Path, name: str) -> None:
    kwargs, expected = RECORDED[name]
    cfg = SynthConfig(**kwargs)
    assert not cfg.broadcast and "zoom" not in cfg.to_dict()
    generate_world(cfg, tmp_path / name)
    assert entry_digests(tmp_path / name) == expected


def test_world_whose_camera_never_sees_the_water_renders(tmp_path: Path) -> None:
    # Regression: a canvas that ends above the water line crashed build_canvas.
    world = generate_world(SynthConfig(videos=3, seed=7, frames=40, write_video=False), tmp_path / "w")
    assert world["totals"]["clips"] == 3


def _gts(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "gt").rglob("*.json"))]


@pytest.fixture(scope="module")
def broadcast_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthConfig]:
    """4 clips with every feature on and cut / replay / foreground in every clip."""
    cfg = SynthConfig(videos=4, seed=5, frames=40, write_video=False, **{
        **BROADCAST_PRESET, "cut_probability": 1.0, "replay_probability": 1.0, "foreground_probability": 1.0,
        "walkers": 3.0, "splash_false_positive_rate": 1.0, "graphics_false_positive_rate": 0.5})
    root = tmp_path_factory.mktemp("bc") / "w"
    generate_world(cfg, root)
    return root, cfg


def test_roles_segments_and_replay(broadcast_world) -> None:
    root, cfg = broadcast_world
    world = json.loads((root / "world.json").read_text())
    assert world["config"]["zoom"] == cfg.zoom and world["config"]["graphics"] is True
    seen: set[str] = set()
    for gt in _gts(root):
        b, frames = gt["broadcast"], gt["frames"]
        n, t0, t1 = b["live_frames"], gt["stages"]["steps_transit_frames"][0], gt["stages"]["steps_transit_frames"][-1]
        assert gt["num_frames"] == n + b["replay_frames"] == len(frames) and b["replay_frames"] > 10
        # A cut during the flight, then the second camera until the live clip ends.
        assert t0 < b["cut_frame"] < t1
        assert [fr["segment"] for fr in frames] == ["live"] * b["cut_frame"] + ["cut"] * (n - b["cut_frame"]) + \
            ["replay"] * b["replay_frames"]
        replay = frames[n:]
        times = np.array([fr["dive_time"] for fr in replay])
        np.testing.assert_allclose(np.diff(times), bc.REPLAY_STEP)
        assert times[0] < t1 < times[-1]  # the replay shows the flight and the entry again
        assert sum(fr["diver"]["box"] is not None for fr in replay) > 5
        assert {fr["stage_label"] for fr in replay} == {gt["stages"]["frames_labels"][-1]}
        roles = {p["role"] for fr in frames for p in fr["persons"]}
        assert roles <= {"diver", "spectator", "judge", "official", "coach", "foreground"}
        assert "foreground" in roles
        seen |= roles
    assert {"official", "coach"} <= seen


def test_zoom_scales_static_people(tmp_path: Path) -> None:
    cfg = SynthConfig(videos=3, seed=2, frames=40, write_video=False, zoom=0.6, occluder_probability=0.0)
    generate_world(cfg, tmp_path / "w")

    def heights(fr: dict) -> dict[str, float]:
        """Box heights of the judges / spectators fully inside the image."""
        return {p["id"]: p["box"][3] - p["box"][1] for p in fr["persons"] if p["role"] in ("judge", "spectator")
                and p["box"][0] > 1 and p["box"][1] > 1 and p["box"][2] < IMAGE_WIDTH - 2 and p["box"][3] < IMAGE_HEIGHT - 2}

    ratios = []
    for gt in _gts(tmp_path / "w"):
        frames = gt["frames"]
        zooms = np.array([fr["zoom"] for fr in frames])
        assert {fr["segment"] for fr in frames} == {"live"} and zooms[0] == 1.0 and zooms.max() / zooms.min() > 1.15
        for i in range(len(frames)):
            for j in range(i + 1, len(frames)):
                if zooms[j] / zooms[i] < 1.1 and zooms[i] / zooms[j] < 1.1:
                    continue
                a, b = heights(frames[i]), heights(frames[j])
                # The same person's box height, relative to the zoom ratio.
                ratios += [(b[pid] / a[pid]) / (zooms[j] / zooms[i]) for pid in set(a) & set(b) if a[pid] > 15]
    assert len(ratios) >= 10
    assert float(np.median(ratios)) == pytest.approx(1.0, abs=0.06)


def test_walkers_move_and_foreground_people_are_large_near_the_entry(broadcast_world) -> None:
    root, _ = broadcast_world
    moved = fg_frames = 0
    for gt in _gts(root):
        live = [fr for fr in gt["frames"] if fr["segment"] != "replay"]
        # Walkers move relative to the static judges / spectators of the same live frames.
        for pid in {p["id"] for fr in live for p in fr["persons"] if p["role"] in ("official", "coach")}:
            rel = []
            for fr in live:
                boxes = {p["id"]: p["box"] for p in fr["persons"]}
                anchor = next((p["id"] for p in fr["persons"] if p["role"] == "judge"), None)
                if pid in boxes and anchor is not None and anchor in boxes:
                    # Image distance to a seated judge, in world pixels (undo the zoom).
                    rel.append(((boxes[pid][0] + boxes[pid][2]) - (boxes[anchor][0] + boxes[anchor][2])) / 2 / fr["zoom"])
            if len(rel) >= 8 and abs(rel[-1] - rel[0]) > 10:
                moved += 1
        t1 = gt["stages"]["steps_transit_frames"][-1]
        for fr in gt["frames"][t1 + 1 : gt["broadcast"]["live_frames"]]:
            fg = [p["box"] for p in fr["persons"] if p["role"] == "foreground"]
            diver = [p["box"][3] - p["box"][1] for p in fr["persons"] if p["role"] == "diver"]
            if fg:
                fg_frames += 1
                big = max(b[3] - b[1] for b in fg)
                assert big > 40 and all(big > 1.5 * h for h in diver)
    assert moved >= 2 and fg_frames >= 10
    # Partly in view: some foreground boxes are cut by the image's lower border.
    cut = [p for gt in _gts(root) for fr in gt["frames"] for p in fr["persons"]
           if p["role"] == "foreground" and p["box"][3] >= IMAGE_HEIGHT - 1.5]
    assert len(cut) >= 5


def _overlap(a: list[float], b: tuple[float, ...] | list[float]) -> float:
    """Share of box ``a`` inside box ``b``."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / max(1e-9, (a[2] - a[0]) * (a[3] - a[1]))


def test_false_detections_sit_on_the_splash_and_the_graphics(broadcast_world) -> None:
    root, _ = broadcast_world
    counts = {"splash": 0, "graphics": 0, "clutter": 0, "diver_duplicate": 0}
    for gt in _gts(root):
        lines = (root / "detections" / gt["match"] / f"{gt['idx']}.txt").read_text().splitlines()
        per_frame = np.bincount([parse_mot_line(x)[0] for x in lines], minlength=gt["num_frames"])
        t1 = gt["stages"]["steps_transit_frames"][-1]
        for fr in gt["frames"]:
            dets = fr["detections"]
            assert len(dets) == per_frame[fr["frame_index"]]  # the GT lists every MOT line of the frame
            for d in dets:
                if d["role"] != "false_positive":
                    continue
                counts[d["source"]] += 1
                if d["source"] == "graphics":
                    assert max(_overlap(d["box"], g["box"]) for g in fr["graphics"]) > 0.7
                elif d["source"] == "splash":
                    assert fr["dive_time"] > t1 and _overlap(d["box"], fr["splash_box"]) > 0.95
                elif d["source"] == "diver_duplicate":  # the ssd-dev profile's second box on the diver
                    assert fr["diver"]["box"] is not None and _overlap(fr["diver"]["box"], d["box"]) > 0.2
    assert counts["splash"] >= 10 and counts["graphics"] >= 10
    # The graphics sit at fixed screen positions.
    assert {tuple(g["box"]) for gt in _gts(root) for fr in gt["frames"] for g in fr["graphics"]} == \
        {bc.LOGO_BOX, bc.LOWER_THIRD_BOX, bc.REPLAY_BOX}


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_detector_misses_the_diver_at_the_configured_overall_rate(tmp_path: Path, rate: float) -> None:
    cfg = SynthConfig(videos=8, seed=12, frames=50, write_video=False, detector_miss_rate=rate, detector_miss_overall=True)
    generate_world(cfg, tmp_path / "w")
    drawn = missed = 0
    for gt in _gts(tmp_path / "w"):
        for fr in gt["frames"]:
            if fr["diver"]["box"] is None:
                continue
            drawn += 1
            missed += not any(d["role"] == "diver" for d in fr["detections"])
    assert drawn > 250
    # Binomial sd at ~280 frames: 0.018 (rate 0.1), 0.027 (rate 0.3). Measured on this world:
    # 0.113 and 0.294; seeds 11 and 13 gave 0.119 / 0.314 and 0.066 / 0.246.
    assert missed / drawn == pytest.approx(rate, abs=0.06)


def test_calibrated_miss_base_solves_the_mean() -> None:
    d = np.random.default_rng(0).uniform(0.0, 1.0, 200)
    for target in (0.05, 0.2, 0.6):
        a = bc.calibrated_miss_base(d, target, 0.35)
        assert float(np.mean(np.clip(a + 0.35 * d, 0.0, 0.95))) == pytest.approx(target, abs=1e-6)


def test_broadcast_world_is_deterministic_and_cli_flag(tmp_path: Path) -> None:
    args = ["synth", "--videos", "1", "--frames", "30", "--seed", "4", "--no-video", "--broadcast", "--json"]
    for name in ("x", "y"):
        res = CliRunner().invoke(cli, [args[0], str(tmp_path / name), *args[1:]])
        assert res.exit_code == 0, res.output
    assert entry_digests(tmp_path / "x") == entry_digests(tmp_path / "y")
    config = json.loads((tmp_path / "x" / "world.json").read_text())["config"]
    for key, value in BROADCAST_PRESET.items():
        assert config[key] == value, key
    # An explicit --detector-miss-rate wins over the preset's.
    res = CliRunner().invoke(cli, [args[0], str(tmp_path / "z"), *args[1:], "--detector-miss-rate", "0.05"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "z" / "world.json").read_text())["config"]["detector_miss_rate"] == 0.05


def test_bad_broadcast_values_are_config_errors() -> None:
    from fdpose.errors import ConfigError

    with pytest.raises(ConfigError, match="zoom must be within 0..1"):
        SynthConfig(zoom=1.5)
    with pytest.raises(ConfigError, match="replay_probability must be within 0..1"):
        replace(SynthConfig(), replay_probability=-0.1)
