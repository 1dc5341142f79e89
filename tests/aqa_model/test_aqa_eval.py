"""eval-aqa: cached exemplar encodings equal the naive path; reports, tables, seeded exemplars."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from aqa_helpers import micro_config
from aqa_run_helpers import one_thread, TEST, TRAIN, aqa_group, make_world, world_args
from click.testing import CliRunner

from fdpose.aqa_model.checkpoint import save_checkpoint
from fdpose.aqa_model.data import FineDivingAQADataset
from fdpose.aqa_model.evaluate import choose_exemplars, evaluate, vote_naive
from fdpose.aqa_model.model import HPMCoRe
from fdpose.finediving import load_annotations


_ = one_thread  # re-exported fixture
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("aqa_eval_world"))


def _model() -> HPMCoRe:
    torch.manual_seed(3)
    model = HPMCoRe(micro_config()).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode is really exercised
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = _model()
    path = tmp_path_factory.mktemp("aqa_ckpt") / "model.pt"
    save_checkpoint(path, {"config": model.config.to_dict(), "model": model.state_dict(), "epoch": 3})
    return path


def test_cached_encodings_give_the_naive_votes(world: Path) -> None:
    ann = load_annotations(world / "annotations")
    model = _model()
    device = torch.device("cpu")
    result = evaluate(model, ann, ann.test, ann.train, world / "frames", world / "poses", device=device,
                      num_exemplars=4, batch_size=3)
    # each video encoded once (5 queries + the exemplars used) instead of 2 x 5 x 4 encodings
    assert result.settings["encoded_videos"] <= len(TEST) + len(TRAIN)
    chosen = choose_exemplars(ann, ann.train, ann.test, 4)
    ds = FineDivingAQADataset(ann, sorted(set(ann.train) | set(ann.test)), model.config, world / "frames",
                              world / "poses")
    naive = vote_naive(model, ds, chosen, device)
    cached = np.array([p.pred_score for p in result.predictions])
    np.testing.assert_allclose(cached, naive, rtol=0, atol=1e-4)
    for p in result.predictions:  # votes decompose into exemplar mean + stage contributions
        assert p.pred_score == pytest.approx(p.exemplar_mean + sum(p.stage_contributions), abs=1e-4)
        assert len(p.votes) == 4 and len(p.stage_contributions) == 3


def test_eval_cli_reports_metrics_tables_and_files(world: Path, checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev"
    args = ["eval-aqa", str(checkpoint), *world_args(world), "--exemplars", "10", "--device", "cpu",
            "--threads", "1", "--json"]
    res = CliRunner().invoke(aqa_group(), [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    true = [score for _, score in TEST.values()]
    assert report["queries"] == 5 and report["rl2_range"] == [min(true), max(true)]
    assert -1.0 <= report["srcc"] <= 1.0 and report["l2"] > 0 and report["rl2_x100"] > 0
    lo, hi = report["srcc_ci95"]  # bootstrap over 5 queries: wide, but ordered and within [-1, 1]
    assert -1.0 <= lo <= hi <= 1.0
    assert set(report["aiou"]) == {"0.5", "0.75"} and report["aiou_mode"] == "span"
    assert report["fallback_queries"] == 1  # the 5253b clip has no training clip of its dive number
    dives = {row["dive_number"]: row for row in report["per_dive_number"]}
    assert set(dives) == {"107b", "405c", "5253b"} and dives["107b"]["count"] == 2 and dives["5253b"]["fallback"] == 1
    assert report["settings"]["epoch"] == 3 and report["settings"]["num_exemplars"] == 10
    with (out / "predictions.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and {(r["match"], int(r["idx"])) for r in rows} == set(TEST)
    for r in rows:
        ex = r["exemplars"].split(";")
        assert len(ex) == 10
        if r["dive_number"] != "5253b":  # same dive number as the query, from the training split
            assert all(TRAIN[(m, int(i))][0] == r["dive_number"] for m, i in (e.split("/") for e in ex))
    assert (out / "scatter.png").read_bytes()[:4] == b"\x89PNG" and (out / "per_dive.csv").is_file()
    # seeded exemplars: a second run writes the same predictions; without dive number they mix
    res2 = CliRunner().invoke(aqa_group(), [*args, "--out", str(tmp_path / "ev2")])
    assert (tmp_path / "ev2" / "predictions.csv").read_text() == (out / "predictions.csv").read_text()
    res3 = CliRunner().invoke(aqa_group(), [*args, "--out", str(tmp_path / "ev3"), "--no-dive-number"])
    assert res2.exit_code == 0 and res3.exit_code == 0, res3.output
    with (tmp_path / "ev3" / "predictions.csv").open(newline="") as fh:
        mixed = list(csv.DictReader(fh))
    assert all(r["fallback"] == "0" for r in mixed)
    assert any(len({TRAIN[(m, int(i))][0] for m, i in (e.split("/") for e in r["exemplars"].split(";"))}) == 2
               for r in mixed)


def test_eval_errors_are_one_line(world: Path, checkpoint: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(aqa_group(), ["eval-aqa", str(checkpoint), "--data", str(world / "frames"),
                                           "--annotations", str(world / "annotations"), "--device", "cpu"])
    assert res.exit_code == 2 and "pass --poses DIR or --poses-from-gt" in res.output
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    res = CliRunner().invoke(aqa_group(), ["eval-aqa", str(bad), *world_args(world)])
    assert res.exit_code == 2 and str(bad) in res.output and "not a readable checkpoint" in res.output
    assert res.output.count("\n") == 1
