"""The ``form_faults`` option: off reproduces the recorded worlds; on, the in-flight faults are wider
and follow the diver's quality, the diver lines up for the entry, and nothing else moves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.synth.config import SynthConfig
from fdpose.synth.dives import parse_dive
from fdpose.synth.motion import Apparatus, DiveMotion, StageFrames
from fdpose.synth.scoring import Execution, penalties, recipe, sample_execution
from fdpose.synth.world import generate_world
from test_synth_broadcast import RECORDED  # type: ignore[import-not-found]
from world_digests import entry_digests  # type: ignore[import-not-found]


def test_off_by_default_and_off_reproduces_the_recorded_world(tmp_path: Path) -> None:
    kwargs, expected = RECORDED["a"]
    assert SynthConfig().form_faults is False
    cfg = SynthConfig(**kwargs, form_faults=False)
    assert "form_faults" not in cfg.to_dict() and "form_faults" not in recipe()
    generate_world(cfg, tmp_path / "a")
    assert entry_digests(tmp_path / "a") == expected


def test_on_changes_only_the_form_faults_and_what_follows(tmp_path: Path) -> None:
    kwargs, _ = RECORDED["a"]
    generate_world(SynthConfig(**kwargs, form_faults=True), tmp_path / "on")
    on = json.loads((tmp_path / "on" / "world.json").read_text())
    assert on["config"]["form_faults"] is True and "form_faults" in on["scoring"]
    generate_world(SynthConfig(**kwargs), tmp_path / "off")
    off = json.loads((tmp_path / "off" / "world.json").read_text())
    assert len(on["clips"]) == len(off["clips"]) == 3
    for a, b in zip(on["clips"], off["clips"]):
        # the same random stream: same dive, stages and entry; only legs, knees and the scores move
        assert (a["action_type"], a["num_frames"], a["steps_transit_frames"]) == \
               (b["action_type"], b["num_frames"], b["steps_transit_frames"])
    gt_on = json.loads(next((tmp_path / "on" / "gt").rglob("*.json")).read_text())
    gt_off = json.loads(next((tmp_path / "off" / "gt").rglob("*.json")).read_text())
    ex_on, ex_off = gt_on["execution"], gt_off["execution"]
    for k in ("quality", "takeoff_height_m", "rotation_error_deg", "kickout_delay", "splash_size"):
        assert ex_on[k] == ex_off[k]
    assert (ex_on["leg_separation_deg"], ex_on["knee_bend_deg"]) != (ex_off["leg_separation_deg"],
                                                                       ex_off["knee_bend_deg"])


def test_form_faults_are_wider_and_follow_quality() -> None:
    def draw(form: bool) -> np.ndarray:
        rng = np.random.default_rng(11)
        exs = [sample_execution(rng, 3.0, form) for _ in range(3000)]
        return np.array([(e.quality, e.leg_separation_deg, e.knee_bend_deg,
                          sum(penalties(e).values())) for e in exs])

    off, on = draw(False), draw(True)
    # mean fault (degrees): about twice the default world's
    assert on[:, 1].mean() > 1.7 * off[:, 1].mean() and on[:, 2].mean() > 1.5 * off[:, 2].mean()
    assert 7.0 < on[:, 1].mean() < 14.0 and 8.0 < on[:, 2].mean() < 15.0
    # worse divers (low quality) show larger faults, more so than in the default world
    for col in (1, 2):
        r_on = np.corrcoef(on[:, 0], on[:, col])[0, 1]
        r_off = np.corrcoef(off[:, 0], off[:, col])[0, 1]
        assert r_on < r_off < 0 and r_on < -0.3
    # the in-flight faults carry a larger share of the penalty sum
    share = lambda a: np.corrcoef(a[:, 1] * 0.045 + a[:, 2] * 0.035, a[:, 3])[0, 1]  # noqa: E731
    assert share(on) > share(off) + 0.1


def _signed_angle(joints: np.ndarray) -> float:
    """Angle (deg, signed) of the pelvis->head axis from straight down (head-first entry = 0)."""
    v = joints[9, :2] - joints[6, :2]
    return float(np.degrees(np.arctan2(v[0], -v[1])))


@pytest.mark.parametrize("number", ["107b", "205b", "405b"])
def test_line_up_shows_the_entry_angle_before_contact(number: str) -> None:
    ex = Execution(0, 1.0, 20.0, 0, 0, 0, 0.1, False)

    def motion(line_up: bool) -> DiveMotion:
        return DiveMotion(parse_dive(number, 3.0), ex, Apparatus.for_event("Men3m"), StageFrames(18, 21, 21, 25.0),
                          1.0, 1.75, 0.0, line_up=line_up)

    lined, plain = motion(True), motion(False)
    t1 = lined.frames.t1
    entry = [_signed_angle(m.state(t1 + 0.5).joints) for m in (lined, plain)]
    assert entry[0] == pytest.approx(entry[1], abs=1e-6) and abs(abs(entry[0]) - 20.0) < 4.0
    # the two flight frames before contact: the lined-up diver is within a few degrees of the entry
    # line, the plain one still rotates ~20 degrees per frame toward it
    for dt in (1.0, 2.0):
        assert abs(_signed_angle(lined.state(t1 - dt).joints) - entry[0]) < 8.0
        assert abs(_signed_angle(plain.state(t1 - dt).joints) - entry[0]) > 10.0
