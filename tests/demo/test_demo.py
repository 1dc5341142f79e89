"""fdpose demo: the whole mission on a very small plan, its summary, report, resume and refusals."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli
from fdpose.demo.plan import QUICK, plan_for
from fdpose.demo.run import STATE_NAME, prepare_out, run_demo
from fdpose.demo.steps import STEP_NAMES, DemoContext
from fdpose.errors import ConfigError
from fdpose.io import read_json

# Smaller than --quick (which CI runs through `make run`): the same seven steps, a minute of CPU.
MICRO = dataclasses.replace(QUICK, name="micro", clips=8, frames=40, hrnet_epochs=2, hrnet_frame_stride=4,
                            aqa_epochs=2, aqa_exemplars=3, threads=1, train_share=0.75, hrnet_clips=5)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "run"
    prepare_out(out, resume=False, overwrite=False)
    events: list[tuple[str, str]] = []
    result = run_demo(DemoContext(out=out, plan=MICRO, device="cpu"), on_step=lambda n, e: events.append((n, e)))
    return out, result, events


@pytest.mark.slow
def test_every_step_runs_and_the_figures_are_measured(demo_run) -> None:
    out, result, events = demo_run
    assert [n for n, e in events if e == "done"] == list(STEP_NAMES)
    s = result.steps
    assert s["synth"]["clips"] == 8 and s["synth"]["train_clips"] + s["synth"]["test_clips"] == 8
    assert s["validate"]["errors"] == 0 and s["validate"]["files"] > 0
    assert s["track"]["clips"] == 8 and s["track"]["frames"] == s["synth"]["frames"]
    # The simulated detector plus the tracker on this 8-clip, 40-frame world: measured 0.895
    # (one clip loses the diver for 11 of its frames); the floor guards against regressions.
    assert s["track"]["tracking_accuracy"] >= 0.85
    assert 0.0 <= s["track"]["test_pckh"] <= 1.0 and s["track"]["test_pckh_joints"] > 0
    assert s["export"]["check_ok"] is True and s["export"]["clips"] == 8
    shares = s["export"]["provenance_share"]
    # Two epochs on ~40 frames leave HRNet's confidences mostly under the 0.3 floor, so the
    # micro export is manual + missing; the estimated path is covered by tests/pipelines/test_export_*.
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-4) and shares["manual"] > 0
    track_joints = sum(sum(read_json(p)["summary"]["joints"].values()) for p in (out / "track").glob("*.json"))
    assert track_joints == 16 * s["track"]["frames"]
    assert s["eval"]["queries"] == s["synth"]["test_clips"]
    assert s["eval"]["rl2_x100"] > 0 and s["train_aqa"]["epochs"] == 2
    gain, lo, hi = s["eval"]["srcc_gain_over_baseline"]
    assert (gain is None) == (s["eval"]["queries"] < 3)  # no interval from fewer than 3 dives
    assert gain is None or lo <= gain <= hi
    b_lo, b_hi = s["eval"]["baseline_srcc_ci95"]  # the baseline's figure carries its own interval
    assert (b_lo is None) == (gain is None) and (b_lo is None or -1.0 <= b_lo <= b_hi <= 1.0)
    assert s["finetune"]["val_clips"] + len(read_json(out / "hrnet" / "metrics.json")["split"]["train"]["clips"]) == 5
    summary = read_json(out / "summary.json")
    assert summary["headline"]["tracking_accuracy"] == s["track"]["tracking_accuracy"]
    assert summary["total_seconds"] == pytest.approx(sum(summary["seconds"].values()), abs=0.1)


@pytest.mark.slow
def test_report_links_the_images_it_promises(demo_run) -> None:
    out, result, _ = demo_run
    text = (out / "report.md").read_text()
    for needle in ("tracking accuracy", "PCKh@0.5 (test clips)", "SRCC (test)", "SRCC exemplar-mean baseline",
                   "SRCC gain over baseline", "AIoU@0.5",
                   "| total |"):
        assert needle in text
    images = [line.split("](", 1)[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(images) == 4  # contact sheet, two training curves, scatter plot
    for rel in images:
        assert (out / rel).is_file() and (out / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_resume_keeps_finished_steps_and_a_changed_plan_is_refused(demo_run) -> None:
    out, result, _ = demo_run
    events: list[tuple[str, str]] = []
    again = run_demo(DemoContext(out=out, plan=MICRO, device="cpu"), resume=True,
                     on_step=lambda n, e: events.append((n, e)))
    assert events == [(n, "skipped") for n in STEP_NAMES]
    assert again.steps == json.loads(json.dumps(result.steps))
    with pytest.raises(ConfigError, match="different plan"):
        run_demo(DemoContext(out=out, plan=dataclasses.replace(MICRO, seed=1), device="cpu"), resume=True)


def test_output_folder_rules(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        prepare_out(busy, resume=False, overwrite=False)
    with pytest.raises(ConfigError, match="only replaces a folder made by fdpose demo"):
        prepare_out(busy, resume=False, overwrite=True)
    assert (busy / "notes.txt").read_text() == "mine"
    old = tmp_path / "old"
    old.mkdir()
    (old / STATE_NAME).write_text("{}")
    prepare_out(old, resume=False, overwrite=True)
    assert old.is_dir() and not any(old.iterdir())


def test_cli_refuses_a_busy_folder_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("keep")
    res = CliRunner().invoke(cli, ["demo", "-o", str(tmp_path), "--quick"])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert res.output.startswith(f"error: {tmp_path}: output folder is not empty")


def test_plans() -> None:
    quick, full = plan_for(True), plan_for(False, seed=3, threads=1)
    # quick (issue 13 C): shorter clips and HRNet step, but enough test dives for an AQA figure (>= 30),
    # a world whose score the poses carry, and failing clips dropped (reported) instead of a stop
    assert quick.name == "quick" and quick.frames < full.frames and quick.hrnet_epochs <= full.hrnet_epochs
    assert quick.clips * (1 - quick.train_share) >= 30 and quick.form_faults and quick.drop_failing
    assert not full.form_faults and not full.drop_failing  # the default run's figures stay as documented
    assert full.seed == 3 and full.threads == 1 and full.name == "default"
    with pytest.raises(ConfigError, match="--threads"):
        plan_for(True, threads=0)


def test_srcc_gain_interval() -> None:
    import numpy as np

    from fdpose.demo.steps import srcc_gain_interval

    rng = np.random.default_rng(0)
    true = rng.normal(size=40)
    good = true + 0.1 * rng.normal(size=40)
    noise = rng.normal(size=40)
    gain, lo, hi = srcc_gain_interval(good, noise, true)
    assert lo <= gain <= hi and lo > 0.3  # a near-perfect ranking clearly beats a random one
    gain, lo, hi = srcc_gain_interval(noise, good, true)
    assert hi < -0.3
    assert srcc_gain_interval(good, good, true) == (0.0, 0.0, 0.0)
    assert srcc_gain_interval(good, noise, true, seed=1) != srcc_gain_interval(good, noise, true, seed=2)
    assert srcc_gain_interval(good, noise, true, seed=1) == srcc_gain_interval(good, noise, true, seed=1)


def test_resume_keeps_the_stored_thread_count(tmp_path: Path) -> None:
    """The figures depend on the torch thread count: a resumed demo keeps the count it started with."""
    from fdpose.demo.run import _load_state, stored_threads
    from fdpose.io import write_json

    assert stored_threads(tmp_path) is None
    plan = plan_for(True, threads=3)
    write_json(tmp_path / "demo_state.json", {"plan": plan.to_dict(), "steps": {}, "seconds": {}})
    assert stored_threads(tmp_path) == 3
    assert _load_state(tmp_path, plan_for(True, threads=stored_threads(tmp_path)))["plan"]["threads"] == 3
    with pytest.raises(ConfigError, match="different plan"):
        _load_state(tmp_path, plan_for(True, threads=1))


def test_report_says_whether_the_interval_excludes_zero_and_the_model_beats_the_baseline(tmp_path: Path) -> None:
    from fdpose.demo.report import baseline_verdict, metric_rows, zero_verdict
    from fdpose.demo.result import DemoResult

    assert zero_verdict(0.12, 0.70) == "excludes zero" and zero_verdict(-0.5, 0.4) == "includes zero"
    assert zero_verdict(-0.6, -0.1) == "excludes zero, below it" and zero_verdict(None, None) == "no interval"
    assert baseline_verdict(0.05, 0.4) == "the model beats the baseline"
    assert baseline_verdict(-0.4, -0.02) == "the model is worse than the baseline"
    assert baseline_verdict(-0.1, 0.3) == "not distinguishable from the baseline on these dives"
    assert baseline_verdict(None, None) == "too few dives to tell"
    result = DemoResult(tmp_path, QUICK, steps={"eval": {
        "queries": 32, "srcc": 0.41, "srcc_ci95": [0.08, 0.66], "baseline_srcc": 0.12,
        "baseline_srcc_ci95": [-0.25, 0.47], "srcc_gain_over_baseline": [0.29, 0.02, 0.55]}})
    rows = {name: (value, what) for name, value, what in metric_rows(result)}
    assert rows["SRCC (test)"] == ("0.410", "32 test dives, 95% bootstrap interval 0.080 to 0.660 (excludes zero)")
    assert rows["SRCC exemplar-mean baseline"][0] == "0.120" and "-0.250 to 0.470" in rows["SRCC exemplar-mean baseline"][1]
    assert rows["SRCC gain over baseline"][1].endswith("0.020 to 0.550: the model beats the baseline")


def test_resume_with_nothing_to_resume_is_refused_like_train_aqa(tmp_path: Path) -> None:
    """``--resume`` where no demo started: one line, exit 2, nothing run (train-aqa and finetune-hrnet refuse too)."""
    from fdpose.errors import InputError

    with pytest.raises(InputError, match="nothing to resume: no demo_state.json"):
        prepare_out(tmp_path / "new", resume=True, overwrite=False)
    assert not (tmp_path / "new").exists()
    res = CliRunner().invoke(cli, ["demo", "-o", str(tmp_path / "new"), "--quick", "--resume"])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "nothing to resume" in res.output, res.output


def test_a_demo_killed_in_its_first_step_is_still_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state file is written as the demo starts: a run stopped during the synth step can be resumed or
    overwritten (before, the folder held no demo_state.json and --overwrite refused it)."""
    from fdpose.demo import steps

    def stopped(ctx: DemoContext) -> dict:
        (ctx.world / "frames").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(steps, "step_synth", stopped)
    out = tmp_path / "D"
    prepare_out(out, resume=False, overwrite=False)
    with pytest.raises(KeyboardInterrupt):
        run_demo(DemoContext(out=out, plan=MICRO, device="cpu"))
    assert read_json(out / STATE_NAME)["steps"] == {}
    prepare_out(out, resume=True, overwrite=False)  # accepted
    prepare_out(out, resume=False, overwrite=True)  # accepted: a folder made by fdpose demo
    assert not any(out.iterdir())
