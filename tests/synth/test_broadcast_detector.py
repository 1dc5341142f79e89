"""The simulated detector's ``ssd-dev`` profile: its rates are the ones our labels of the real
detector's boxes give (benchmarks/data/ssd_dev_false_positives.json, no footage needed), and
a world made with it reproduces them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli
from fdpose.errors import ConfigError
from fdpose.records import Boxes
from fdpose.synth.config import BROADCAST_PRESET, SynthConfig
from fdpose.synth.detections import SSD_DEV, DetectorModel, detect_clip
from fdpose.synth.world import generate_world
from world_digests import entry_digests  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "benchmarks" / "data" / "ssd_dev_false_positives.json"
PEOPLE = ("spectator", "official", "foreground")


def _frames() -> list[tuple[dict, dict]]:
    doc = json.loads(LABELS.read_text())
    return [(c, fr) for c in doc["clips"].values() for fr in c["frames"]]


def test_profile_rates_come_from_the_labelled_real_boxes() -> None:
    frames = _frames()
    assert len(frames) == 55
    missed = {"take_off": [0, 0], "flight": [0, 0], "entry": [0, 0]}
    people, dup, found, scores = [], 0, 0, []
    for clip, fr in frames:
        phase = next(p for p, (a, b) in clip["phases"].items() if a <= fr["frame"] <= b)
        if fr["diver_visible"]:
            missed[phase][0] += fr["diver_box"] is None
            missed[phase][1] += 1
        if fr["diver_box"]:
            found += 1
            scores.append(fr["diver_box"]["score"])
        people += [fp for fp in fr["false_positives"] if fp["kind"] in PEOPLE]
        dup += sum(fp["kind"] == "diver_duplicate" for fp in fr["false_positives"])
        assert all(fp["kind"] in PEOPLE + ("diver_duplicate",) for fp in fr["false_positives"])  # no splash/graphics
    assert missed == {"take_off": [3, 6], "flight": [8, 44], "entry": [1, 1]}
    take_off, flight, entry = SSD_DEV.diver_miss_by_phase
    assert (take_off, flight) == (3 / 6, 8 / 44)
    # one entry frame is too few for a rate: the entry takes the overall rate
    assert entry == pytest.approx(sum(m for m, _ in missed.values()) / sum(n for _, n in missed.values()))
    assert SSD_DEV.people_per_frame == pytest.approx(len(people) / len(frames), abs=5e-4)
    assert SSD_DEV.duplicate_rate == pytest.approx(dup / found)
    assert SSD_DEV.diver_score.mean == pytest.approx(float(np.mean(scores)), abs=5e-4)
    assert SSD_DEV.people_score.mean == pytest.approx(float(np.mean([p["score"] for p in people])), abs=5e-4)
    assert SSD_DEV.people_score.lo >= 0.3 and SSD_DEV.diver_score.lo >= 0.3  # the real threshold
    assert SSD_DEV.people_min_height <= min(p["box"][3] - p["box"][1] for p in people)
    assert BROADCAST_PRESET["detector_profile"] == "ssd-dev"
    assert BROADCAST_PRESET["splash_false_positive_rate"] == BROADCAST_PRESET["graphics_false_positive_rate"] == 0.0


def _clip_inputs(rng: np.random.Generator, n: int = 400) -> list:
    """n frames: the diver (phase by thirds) and 8 people, two of them walking 3 px a frame."""
    out = []
    for f in range(n):
        persons = [("diver", "diver", (200.0, 60.0, 240.0, 160.0), 0.95)]
        for k in range(8):
            x = 20.0 + 50 * k + (3.0 * f % 300 if k < 2 else 0.0)
            persons.append((f"p{k}", "official" if k < 2 else "spectator", (x, 150.0, x + 20, 200.0), 0.6))
        persons.append(("tiny", "spectator", (400.0, 10.0, 410.0, 30.0), 0.6))  # shorter than any real people box
        out.append((persons, float(rng.uniform(0, 1)), 3 * f // n))
    return out


def test_detect_clip_follows_the_profile() -> None:
    inputs = _clip_inputs(np.random.default_rng(0))
    dets = detect_clip(np.random.default_rng(1), SSD_DEV, DetectorModel(false_positive_rate=0.0), inputs, (455, 256))
    again = detect_clip(np.random.default_rng(1), SSD_DEV, DetectorModel(false_positive_rate=0.0), inputs, (455, 256))
    assert dets == again
    n = len(inputs)
    people = [{src for _, _, role, src in fr.items() if role in ("official", "spectator")} for fr in dets]
    assert "tiny" not in set().union(*people)
    per_frame = sum(map(len, people)) / n
    continuing = sum(len(a & b) for a, b in zip(people, people[1:])) / sum(map(len, people[1:]))
    # measured on this input: 0.79 boxes a frame, 0.45 continuing (targets 0.836, 0.457)
    assert per_frame == pytest.approx(SSD_DEV.people_per_frame, abs=0.1)
    assert continuing == pytest.approx(SSD_DEV.people_stay, abs=0.1)
    for phase in range(3):
        frames = [f for f in range(n) if inputs[f][2] == phase]
        miss = np.mean(["diver" not in dets[f].role for f in frames])
        # measured: 0.575, 0.135, 0.226 (targets 0.5, 0.182, 0.235; binomial sd ~0.04 at 133 frames)
        assert miss == pytest.approx(SSD_DEV.diver_miss_by_phase[phase], abs=0.09)
    scores = [float(s) for fr in dets for s in fr.boxes.score]
    assert min(scores) >= 0.3 and max(scores) <= SSD_DEV.diver_score.hi
    assert all(isinstance(fr.boxes, Boxes) and (np.diff(fr.boxes.score) <= 0).all() for fr in dets)  # best first
    # a walking official's box walks with him on consecutive frames
    moved = [b[0][0] - a[0][0] for f in range(n - 1) for a in dets[f].items() for b in dets[f + 1].items()
             if a[3] == b[3] == "p0" and 0 < inputs[f][0][1][2][0] < inputs[f + 1][0][1][2][0]]
    assert len(moved) >= 5 and np.median(moved) == pytest.approx(3.0, abs=1.5)


def test_overall_rate_replaces_the_phases() -> None:
    inputs = _clip_inputs(np.random.default_rng(0))
    dets = detect_clip(np.random.default_rng(2), SSD_DEV, DetectorModel(false_positive_rate=0.0), inputs, (455, 256),
                       diver_miss_overall=0.05)
    miss = np.mean(["diver" not in fr.role for fr in dets])
    assert miss == pytest.approx(0.05, abs=0.03)  # measured: 0.0475


def test_broadcast_world_has_the_profiles_rates(tmp_path: Path) -> None:
    generate_world(SynthConfig(videos=6, seed=3, frames=60, write_video=False, **BROADCAST_PRESET), tmp_path / "w")
    frames = people = cont = dup = found = 0
    sources: set[str] = set()
    for p in sorted((tmp_path / "w" / "gt").rglob("*.json")):
        prev: set[str] = set()
        for fr in json.loads(p.read_text())["frames"]:
            frames += 1
            ids = {d["source"] for d in fr["detections"] if d["role"] not in ("diver", "false_positive")}
            people, cont, prev = people + len(ids), cont + len(ids & prev), ids
            sources |= {d["source"] for d in fr["detections"] if d["role"] == "false_positive"}
            dup += sum(d["source"] == "diver_duplicate" for d in fr["detections"])
            found += any(d["role"] == "diver" for d in fr["detections"])
            assert all(d["score"] >= 0.3 for d in fr["detections"])
    # measured on this world: 550 frames, 0.825 people boxes a frame, 0.425 continuing, 0.124 duplicates
    assert frames == 550
    assert people / frames == pytest.approx(SSD_DEV.people_per_frame, abs=0.12)
    assert cont / people == pytest.approx(SSD_DEV.people_stay, abs=0.12)
    assert dup / found == pytest.approx(SSD_DEV.duplicate_rate, abs=0.08)
    assert sources == {"diver_duplicate"}  # no clutter, splash or graphics boxes: none measured


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown profile 'yolo'"):
        SynthConfig(detector_profile="yolo")
    assert SynthConfig(detector_profile="ssd-dev").broadcast


#: A broadcast world with the features and the detector fields that existed before the profile
#: (the old preset's values, cut / replay more often): sha256 (first 16 hex digits) per top-level
#: entry, recorded with the generator at commit c5da468 (before the profile) and equal after it.
OLD_BROADCAST = dict(videos=2, seed=11, frames=40, write_video=False, zoom=0.4, cut_probability=0.5,
                     replay_probability=0.5, walkers=2.0, foreground_probability=0.6, graphics=True,
                     detector_miss_rate=0.2, detector_miss_overall=True, splash_false_positive_rate=0.3,
                     graphics_false_positive_rate=0.15)
OLD_DIGESTS = {"frames": (172, "699c4338e3e47b61"), "labelme": (131, "21d05077f69a4831"), "gt": (2, "7a8f9e9e27e540e5"),
               "detections": (2, "2cfa41578f29ae3c"), "annotations": (4, "4cf4fe976addb793"),
               "world.json": (1, "d7160cefb621c762")}


def test_broadcast_worlds_without_a_profile_are_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "w"
    generate_world(SynthConfig(**OLD_BROADCAST), root)  # type: ignore[arg-type]
    assert entry_digests(root, OLD_DIGESTS) == OLD_DIGESTS
    assert "detector_profile" not in json.loads((root / "world.json").read_text())["config"]


def test_cli_miss_rate_with_broadcast_replaces_the_phases(tmp_path: Path) -> None:
    args = ["synth", str(tmp_path / "w"), "--videos", "1", "--frames", "30", "--seed", "4", "--no-video", "--broadcast",
            "--detector-miss-rate", "0.0"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    config = json.loads((tmp_path / "w" / "world.json").read_text())["config"]
    assert config["detector_profile"] == "ssd-dev" and config["detector_miss_overall"] is True
    assert config["detector_miss_rate"] == 0.0
    gt = json.loads(next((tmp_path / "w" / "gt").rglob("*.json")).read_text())
    drawn = [fr for fr in gt["frames"] if fr["diver"]["box"] is not None]
    # rate 0: the base is solved low enough that even the hardest frame never misses him
    found = sum(any(d["role"] == "diver" for d in fr["detections"]) for fr in drawn)
    assert found == len(drawn)
