"""``train-aqa --protocol official``: whole training split, the test split scored every epoch with new
exemplars, best-of-evaluations figures labelled "selected on test", exact resume."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.aqa_model.presets import load_config
from fdpose.aqa_model.run_settings import official_test_due
from fdpose.aqa_model.train import TrainOptions, official_summary, train
from fdpose.errors import ConfigError
from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("proto") / "W"
    generate_world(SynthConfig(videos=8, seed=5, frames=30, write_video=False), root)
    return root


def _opts(world: Path, out: Path, **kw: object) -> TrainOptions:
    base = dict(out_dir=out, annotations=world / "annotations", frames_root=world / "frames",
                poses_from_gt=world / "gt", config=load_config("tiny"), epochs=3, batch_size=2, seed=1,
                protocol="official", device="cpu", threads=1, progress=False, test_exemplars=2, final_test=False)
    base.update(kw)
    return TrainOptions(**base)  # type: ignore[arg-type]


def test_official_protocol_scores_test_every_epoch(world: Path, tmp_path: Path) -> None:
    summary = train(_opts(world, tmp_path / "run", test_every=1))
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["splits"]["val"] == [] and run["settings"]["protocol"] == "official"
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    srcc = [float(r["test_srcc"]) for r in rows]
    assert len(srcc) == 3
    off = summary.official
    assert off is not None and off["evaluations"] == 3
    assert off["selected_on_test"]["srcc"]["value"] == pytest.approx(max(srcc))
    l2 = [float(r["test_l2"]) for r in rows]
    assert off["selected_on_test"]["l2"]["value"] == pytest.approx(min(l2))
    assert off["last_evaluation"]["epoch"] == 3 and off["last_evaluation"]["srcc"] == pytest.approx(srcc[-1])


def test_official_protocol_default_is_the_codes_schedule(world: Path, tmp_path: Path) -> None:
    """HP-MCoRe's tools/runner.py at 6bce799 tests when ``epoch >= 140 or epoch % 2 == 0`` (0-based): 131 readings
    in its 201 epochs; a run of 3 epochs here is scored after epochs 1 and 3."""
    assert sum(official_test_due(e, 0) for e in range(201)) == 131
    due = [e for e in range(201) if official_test_due(e, 0)]
    assert due[:3] == [0, 2, 4] and due[68:73] == [136, 138, 140, 141, 142] and due[-1] == 200
    assert [e for e in range(6) if official_test_due(e, 2)] == [1, 3, 5]  # --test-every 2
    summary = train(_opts(world, tmp_path / "run"))
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert [r["test_srcc"] != "" for r in rows] == [True, False, True]
    assert summary.official is not None and summary.official["evaluations"] == 2
    assert json.loads((tmp_path / "run" / "run.json").read_text())["settings"]["test_every"] == 0


def test_official_resume_equals_uninterrupted(world: Path, tmp_path: Path) -> None:
    full = train(_opts(world, tmp_path / "full"))
    train(_opts(world, tmp_path / "cut", stop_after=2))
    resumed = train(_opts(world, tmp_path / "cut", resume=True, config=None, epochs=None, batch_size=None,
                          seed=None, protocol=None))
    assert resumed.official == full.official
    a = (tmp_path / "full" / "metrics.csv").read_text().splitlines()
    b = (tmp_path / "cut" / "metrics.csv").read_text().splitlines()
    # every column but the last (seconds) is the same, test evaluations included
    assert [x.rsplit(",", 1)[0] for x in a] == [x.rsplit(",", 1)[0] for x in b]


def test_official_refuses_a_validation_share(world: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--val-share must be 0"):
        train(_opts(world, tmp_path / "v", val_share=0.2))


def test_best_of_is_labelled_selected_on_test_in_the_cli(world: Path, tmp_path: Path) -> None:
    from fdpose.cli.main import cli

    res = CliRunner().invoke(cli, ["-q", "train-aqa", "--config", "tiny", "--annotations", str(world / "annotations"),
                                   "--data", str(world / "frames"), "--poses-from-gt", str(world / "gt"), "-o",
                                   str(tmp_path / "c"), "--epochs", "2", "--protocol", "official", "--threads", "1",
                                   "--no-final-test", "--test-every", "1"])
    assert res.exit_code == 0, res.output
    assert "official protocol: selected on test over 2 evaluations: SRCC" in res.output
    assert "last evaluation (epoch 2)" in res.output


def test_official_summary_without_evaluations_is_none() -> None:
    assert official_summary([{"epoch": 1}]) is None


def test_code_presets_default_to_their_codes_run(tmp_path: Path) -> None:
    """hpmcore: HP-MCoRe's 201 epochs (config/FineDiving_HP.yaml max_epoch) on its test schedule; mcore: MCoRe's
    200 epochs, tested after every one (its runner); explicit options win; tiny keeps 200 and the schedule."""
    from fdpose.aqa_model.run_settings import resolve_settings

    def settings(config: str, **kw: object) -> tuple[int, int, float]:
        opts = TrainOptions(out_dir=tmp_path, annotations=tmp_path, config=load_config(config), protocol="official",
                            **kw)  # type: ignore[arg-type]
        s = resolve_settings(opts, None, 1)
        return s.epochs, s.test_every, s.lr

    assert settings("hpmcore") == (201, 0, 1e-3)
    assert sum(official_test_due(e, 0) for e in range(201)) == 131  # the readings of the default hpmcore run
    assert settings("mcore") == (200, 1, 1e-3)
    assert settings("tiny") == (200, 0, 5e-4)
    assert settings("hpmcore", epochs=20, test_every=5) == (20, 5, 1e-3)
    assert settings("mcore", test_every=3)[1] == 3
