"""MTL-AQA (Table II): the annotation loader, equal-part stages, difficulty exemplars, the DD mode
(score / difficulty regressed, multiplied back), one-line errors, the restricted unpickler."""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from aqa_helpers import micro_config
from aqa_run_helpers import aqa_group, config_file, one_thread
from click.testing import CliRunner

from fdpose.aqa_model.data import ExemplarPicker, MTLAQADataset, clip_dataset, load_aqa_annotations, load_mtlaqa
from fdpose.aqa_model.data.finediving import sampled_positions
from fdpose.aqa_model.data.mtlaqa import uniform_transits
from fdpose.aqa_model.evaluate import EncodedClip, encode_clips, vote_cached
from fdpose.aqa_model.model import HPMCoRe, VideoEncoding
from fdpose.aqa_model.regression import final_from_target, regression_target
from fdpose.aqa_model.segmentation import map_transitions_to_samples
from fdpose.aqa_model.train import PairObjective
from fdpose.errors import InputError
from fdpose.sampling import write_pred_comp

_ = one_thread
pytestmark = pytest.mark.usefixtures("one_thread")

FRAMES = 20
ANN = "final_annotations_dict_with_dive_number.pkl"
#: (video, clip) -> (difficulty, sum of the three counted judge scores, dive number)
TRAIN = {(1, 1): (2.0, 21.0, "105B"), (1, 2): (2.0, 24.0, "105B"), (1, 3): (2.0, 19.5, "105B"),
         (2, 1): (2.0, 25.5, "105B"), (2, 2): (3.0, 22.5, "407C"), (2, 3): (3.0, 27.0, "407C"),
         (3, 1): (3.0, 18.0, "407C"), (3, 2): (3.0, 24.0, "407C")}
TEST = {(4, 1): (2.0, 23.0, "105B"), (4, 2): (3.0, 20.0, "407C"), (4, 3): (2.0, 26.0, "105B"),
        (5, 1): (3.4, 25.5, "5253B")}


def _record(difficulty: float, judges: float, dive: str, start: int) -> dict[str, Any]:
    """One entry laid out as the public file's (fields and python / numpy types)."""
    third = judges / 3.0
    return {"primary_view": 0, "start_frame": start, "end_frame": start + FRAMES - 1, "position": 2,
            "difficulty": difficulty, "armstand": 0, "rotation_type": 2, "ss_no": 7, "tw_no": 0,
            "final_score": judges * difficulty,
            "judge_scores": np.array([third, third, third, third - 0.5, third + 0.5, third, third]),
            "dive_number": dive}


def make_mtl_world(root: Path, records: dict[Any, Any] | None = None) -> Path:
    """Annotation dict + splits (MTL-AQA names), frames and 16-row pose files under ``root``."""
    info = root / "info"
    info.mkdir(parents=True)
    rng = np.random.default_rng(0)
    anns = {k: _record(*v, start=100 * k[1]) for k, v in {**TRAIN, **TEST}.items()}
    if records is not None:
        anns = records
    (info / ANN).write_bytes(pickle.dumps(anns, protocol=4))
    (info / "train_split_0.pkl").write_bytes(pickle.dumps(sorted(TRAIN), protocol=3))
    (info / "test_split_0.pkl").write_bytes(pickle.dumps(sorted(TEST), protocol=3))
    for (video, clip), (_, judges, _) in {**TRAIN, **TEST}.items():
        folder = root / "frames" / f"{video:02d}" / str(clip)
        folder.mkdir(parents=True)
        for f in range(FRAMES):
            img = rng.integers(0, 40, (24, 32, 3)).astype(np.uint8)
            img[8:8 + int(judges // 3), 4 + f:7 + f] = 255
            cv2.imwrite(str(folder / f"{f:05d}.jpg"), img)
        pose = np.zeros((16, 16, 3), np.float32)
        pose[..., 0] = np.arange(16, dtype=np.float32)[None, :] + np.linspace(0, 10, 16)[:, None]
        pose[..., 1] = judges / 3.0
        pose[..., 2] = 1.0
        write_pred_comp(root / "poses" / f"{video:02d}" / f"pred_comp_{clip}.npz", pose, n=16)
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mtl_world(tmp_path_factory.mktemp("mtl_world"))


def _key(k: tuple[int, int]) -> tuple[str, int]:
    return (f"{k[0]:02d}", k[1])


# ----------------------------------------------------------------------------- loader


def test_loader_reads_the_public_layout(world: Path) -> None:
    ann = load_mtlaqa(world / "info")
    assert ann.train == [_key(k) for k in sorted(TRAIN)] and ann.test == [_key(k) for k in sorted(TEST)]
    rec = ann.fine[("02", 3)]
    assert rec.dive_score == pytest.approx(81.0) and rec.difficulty == 3.0 and rec.action_type == "DD3"
    assert rec.num_frames == FRAMES and len(rec.steps_transit_frames) == 0
    by_dive = load_mtlaqa(world / "info" / ANN, group="dive_number")  # the pickle itself: splits beside it
    assert by_dive.fine[("05", 1)].action_type == "5253B" and len(by_dive.train) == 8
    assert load_aqa_annotations(world / "info", "mtlaqa-dive").fine[("01", 1)].action_type == "105B"
    with pytest.raises(InputError, match="--dataset must be one of"):
        load_aqa_annotations(world / "info", "mtl")


def test_dataset_items_scores_and_equal_stages(world: Path) -> None:
    ann = load_mtlaqa(world / "info")
    cfg = micro_config()
    ds = clip_dataset(ann, ann.train, cfg, world / "frames", world / "poses")
    assert isinstance(ds, MTLAQADataset) and not ds.stage_labels and len(ds) == 8
    item = ds[ds.keys.index(("02", 2))]
    assert float(item["score"]) == pytest.approx(67.5) and float(item["difficulty"]) == 3.0
    assert item["video"].shape == (16, 3, 16, 16) and item["pose"].shape == (16, 16, 3)
    # 20 frames in three equal parts: stages end at frames 6 and 12; first samples after them
    assert uniform_transits(FRAMES, 3).tolist() == [6, 12]
    positions = sampled_positions(ds.files[("02", 2)], 16)
    expected = map_transitions_to_samples([6, 12], positions)
    assert item["transitions"].tolist() == expected.tolist() == [6, 11]
    two = clip_dataset(ann, ann.train, micro_config(num_stages=2), world / "frames", world / "poses")
    assert two[0]["transitions"].tolist() == map_transitions_to_samples([9], positions).tolist() == [8]


def test_exemplars_share_the_difficulty(world: Path) -> None:
    ann = load_mtlaqa(world / "info")
    picker = ExemplarPicker(ann, ann.train, use_dive_number=True, seed=0)
    for q in ann.train:
        for epoch in range(3):
            ex = picker.train_exemplar(q, epoch)
            assert ex != q and ann.fine[ex].difficulty == ann.fine[q].difficulty
    for q in ann.test[:3]:
        assert {ann.fine[x].difficulty for x in picker.test_exemplars(q, 10)} == {ann.fine[q].difficulty}
    anyone = ExemplarPicker(ann, ann.train, use_dive_number=False, seed=0)
    assert {ann.fine[x].difficulty for x in anyone.test_exemplars(("04", 1), 10)} == {2.0, 3.0}


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("change", "message"), [
    ({"final_score": None}, "field 'final_score' is NoneType, expected a number"),
    ({"difficulty": float("nan")}, "field 'difficulty' is nan"),
    ({"difficulty": 0.0}, "field 'difficulty' is 0.0, must be > 0"),
    ({"end_frame": 5}, "frames 200..5 are not an increasing integer range"),
    ("drop", "missing field(s) final_score"),
])
def test_bad_record_is_one_line_naming_file_and_key(tmp_path: Path, change: Any, message: str) -> None:
    records = {k: _record(*v, start=100 * k[1]) for k, v in {**TRAIN, **TEST}.items()}
    if change == "drop":
        del records[(1, 2)]["final_score"]
    else:
        records[(1, 2)].update(change)
    root = make_mtl_world(tmp_path / "w", records)
    with pytest.raises(InputError) as err:
        load_mtlaqa(root / "info")
    text = str(err.value)
    assert text == f"{root / 'info' / ANN}: clip (1, 2): {message}" and "\n" not in text


def test_split_key_without_annotation_and_missing_dive_number(tmp_path: Path) -> None:
    records = {k: _record(*v, start=100 * k[1]) for k, v in {**TRAIN, **TEST}.items()}
    del records[(4, 3)]
    root = make_mtl_world(tmp_path / "w", records)
    with pytest.raises(InputError, match=r"test_split_0.pkl: clip \(4, 3\): key not in the annotation file"):
        load_mtlaqa(root / "info")
    for r in records.values():
        del r["dive_number"]
    (root / "info" / ANN).write_bytes(pickle.dumps({(1, 1): records[(1, 1)]}))
    with pytest.raises(InputError, match=r"clip \(1, 1\): field 'dive_number' is missing"):
        load_mtlaqa(root / "info" / ANN, group="dive_number")
    (root / "info" / ANN).write_bytes(pickle.dumps({("01", 1): records[(1, 1)]}))
    with pytest.raises(InputError, match=r"key \('01', 1\) is not \(video_number: int, clip_number: int\)"):
        load_mtlaqa(root / "info" / ANN)


class _Crafted:
    """Pickles as a call of os.mkdir: what a hostile annotation file could carry."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.target,))


def test_restricted_unpickler_refuses_a_crafted_annotation_file(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    root = make_mtl_world(tmp_path / "w")
    (root / "info" / ANN).write_bytes(pickle.dumps({(1, 1): {"final_score": _Crafted(str(marker))}}))
    with pytest.raises(InputError, match="refused: the pickle asks for (posix|os|nt).mkdir"):
        load_mtlaqa(root / "info")
    assert not marker.exists()


def test_cli_bad_pickle_is_one_line_without_traceback(tmp_path: Path) -> None:
    records = {k: _record(*v, start=100 * k[1]) for k, v in {**TRAIN, **TEST}.items()}
    records[(2, 1)]["final_score"] = float("nan")
    root = make_mtl_world(tmp_path / "w", records)
    res = CliRunner().invoke(aqa_group(), [
        "train-aqa", "--data", str(root / "frames"), "--annotations", str(root / "info"), "--poses",
        str(root / "poses"), "--dataset", "mtlaqa", "-o", str(tmp_path / "run"),
        "--config", str(config_file(tmp_path / "micro.json")), "--device", "cpu", "--threads", "1"])
    assert res.exit_code != 0
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output
    assert f"{root / 'info' / ANN}: clip (2, 1): field 'final_score' is nan" in lines[0]


# ----------------------------------------------------------------------------- DD mode


def test_target_helpers() -> None:
    s, d = torch.tensor([67.5, 42.0]), torch.tensor([3.0, 2.0])
    assert regression_target(s, d, "dd").tolist() == [22.5, 21.0]
    assert regression_target(s, d, "final") is s
    assert final_from_target(torch.tensor([22.5, 21.0]), d, "dd").tolist() == [67.5, 42.0]
    assert final_from_target(20.0, 3.4, "dd") == pytest.approx(68.0) and final_from_target(20.0, 3.4, "final") == 20.0


def test_dd_training_loss_uses_the_ratio(world: Path) -> None:
    ann = load_mtlaqa(world / "info")
    torch.manual_seed(0)
    model = HPMCoRe(micro_config(score_target="dd")).eval()  # eval: no dropout, the two paths must agree
    ds = clip_dataset(ann, ann.train, model.config, world / "frames", world / "poses")
    q, e = (torch.utils.data.default_collate([ds[i], ds[j]]) for i, j in ((0, 1), (4, 5)))
    with torch.no_grad():
        total, parts = PairObjective(model)(q, e)
        qe = model.encode(q["video"], q["pose"], q["transitions"])
        ee = model.encode(e["video"], e["pose"], e["transitions"])
        ref, ref_parts = model.losses(qe, ee, q["score"] / q["difficulty"], e["score"] / e["difficulty"])
        final, _ = model.losses(qe, ee, q["score"], e["score"])
    assert float(total) == pytest.approx(float(ref), rel=1e-6)
    assert float(parts[1]) == pytest.approx(ref_parts["mse"], rel=1e-6)
    assert not math.isclose(float(final), float(ref), rel_tol=1e-3)  # the final-score target differs


def test_dd_votes_are_multiplied_back_by_the_query_difficulty(world: Path) -> None:
    ann = load_mtlaqa(world / "info")
    torch.manual_seed(0)
    model = HPMCoRe(micro_config(score_target="dd")).eval()
    keys = [*ann.train, *ann.test]
    ds = clip_dataset(ann, keys, model.config, world / "frames", world / "poses")
    encoded = encode_clips(model, ds, keys, torch.device("cpu"))
    q, exs = ("05", 1), [("02", 2), ("01", 1), ("03", 1)]
    assert isinstance(encoded[q], EncodedClip) and encoded[q].difficulty == pytest.approx(3.4)
    [pred] = vote_cached(model, encoded, {q: (exs, True)}, {q: "DD3.4"}, torch.device("cpu"))
    with torch.no_grad():
        ratios = [ann.fine[x].dive_score / ann.fine[x].difficulty for x in exs]
        raw = [float(model.compare(VideoEncoding.cat([encoded[q].encoding]), encoded[x].encoding,
                                   torch.tensor([r])).score[0]) for x, r in zip(exs, ratios)]
    assert pred.votes == pytest.approx([3.4 * r for r in raw], rel=1e-5)
    assert pred.pred_score == pytest.approx(3.4 * float(np.mean(raw)), rel=1e-5)
    assert pred.exemplar_mean == pytest.approx(3.4 * float(np.mean(ratios)), rel=1e-9)
    assert pred.exemplar_mean == pytest.approx(3.4 * (22.5 + 21.0 + 18.0) / 3)  # 69.7
    assert pred.pred_score == pytest.approx(pred.exemplar_mean + sum(pred.stage_contributions), rel=1e-5)
    assert pred.true_score == pytest.approx(86.7)


def test_cli_trains_and_evaluates_mtlaqa_in_dd_mode(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--data", str(world / "frames"), "--annotations", str(world / "info"), "--poses", str(world / "poses")]
    res = CliRunner().invoke(aqa_group(), [
        "train-aqa", *args, "--dataset", "mtlaqa", "--score-target", "dd", "-o", str(out),
        "--config", str(config_file(tmp_path / "micro.json")), "--epochs", "2", "--batch-size", "4",
        "--val-share", "0.25", "--device", "cpu", "--threads", "1", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["finished"] and summary["epochs_completed"] == 2
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["dataset"] == "mtlaqa" and run["settings"]["config"]["score_target"] == "dd"
    with (out / "metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and all(math.isfinite(float(r["loss_mse"])) and float(r["loss_mse"]) > 0 for r in rows)
    test = summary["test"]
    assert test["queries"] == 4 and test["aiou"] is None and test["fallback_queries"] == 1  # DD3.4: none in train
    assert test["rl2_range"] == [pytest.approx(46.0), pytest.approx(86.7)]  # final scores, not ratios
    ann = load_mtlaqa(world / "info")
    with (out / "test" / "predictions.csv").open(newline="") as fh:
        preds = list(csv.DictReader(fh))
    for p in preds:
        key = (p["match"], int(p["idx"]))
        exs = [(x.split("/")[0], int(x.split("/")[1])) for x in p["exemplars"].split(";")]
        ratio = np.mean([ann.fine[x].dive_score / ann.fine[x].difficulty for x in exs])
        assert float(p["exemplar_mean"]) == pytest.approx(ann.fine[key].difficulty * ratio, abs=1e-3)
        assert float(p["true_score"]) == pytest.approx(ann.fine[key].dive_score, abs=1e-3)
    again = CliRunner().invoke(aqa_group(), ["eval-aqa", str(out), "--out", str(tmp_path / "ev"), "--json",
                                             "--device", "cpu", "--threads", "1"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["queries"] == 4 and report["srcc"] == pytest.approx(test["srcc"])
    clip = world / "frames" / "04" / "2"  # difficulty 3.0, score 60
    score_args = ["score", str(clip), "--checkpoint", str(out / "best.pt"), "--exemplars", str(world / "frames"),
                  "--annotations", str(world / "info"), "--dataset", "mtlaqa", "--poses", str(world / "poses"), "--pose",
                  str(world / "poses" / "04" / "pred_comp_2.npz"), "--num-exemplars", "4", "--json"]
    refused = CliRunner().invoke(aqa_group(), [*score_args, "--no-dive-number"])
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "score_target 'dd'" in refused.output and "pass the clip's difficulty (--difficulty > 0, got None)" \
        in refused.output
    scored = CliRunner().invoke(aqa_group(), [*score_args, "--dive-number", "DD3", "--difficulty", "3.0"])
    assert scored.exit_code == 0, scored.output
    doc = json.loads(scored.stdout)
    assert doc["difficulty"] == 3.0 and len(doc["exemplars"]) == 4
    exs = [(e["key"].split("/")[0], int(e["key"].split("/")[1])) for e in doc["exemplars"]]
    assert {ann.fine[x].difficulty for x in exs} == {3.0}
    # final-score units: exemplar mean = 3.0 x mean ratio; score = mean vote = exemplar mean + stage parts
    assert doc["exemplar_mean"] == pytest.approx(3.0 * np.mean([ann.fine[x].dive_score / 3.0 for x in exs]))
    assert doc["score"] == pytest.approx(np.mean([e["vote"] for e in doc["exemplars"]]), abs=1e-4)
    assert doc["score"] == pytest.approx(doc["exemplar_mean"] + doc["stage_contribution_sum"], abs=1e-4)
    assert sum(st["contribution"] for st in doc["stages"]) == pytest.approx(doc["stage_contribution_sum"], abs=1e-5)


def test_resume_keeps_the_dataset_and_an_old_run_reads_as_finediving(world: Path, tmp_path: Path) -> None:
    from fdpose.aqa_model.train import RunSettings, TrainOptions, train
    from fdpose.errors import ConfigError

    out = tmp_path / "run"
    opts = dict(annotations=world / "info", frames_root=world / "frames", poses_root=world / "poses",
                config=micro_config(score_target="dd"), epochs=2, batch_size=4, seed=0, val_share=0.25,
                val_exemplars=3, test_exemplars=3, device="cpu", threads=1, progress=False, final_test=False)
    first = train(TrainOptions(out_dir=out, dataset="mtlaqa", stop_after=1, **opts))  # type: ignore[arg-type]
    assert first.epochs_completed == 1 and not first.finished
    with pytest.raises(ConfigError, match=r"--resume cannot change dataset \(run 'mtlaqa', now 'finediving'\)"):
        train(TrainOptions(out_dir=out, resume=True, dataset="finediving", device="cpu", progress=False))
    done = train(TrainOptions(out_dir=out, resume=True, device="cpu", threads=1, progress=False, final_test=False))
    assert done.finished and done.epochs_completed == 2
    # run.json / checkpoints written before the field existed hold no "dataset": FineDiving
    assert RunSettings(config={}, annotations="a", frames_root=None, poses_root=None, poses_from_gt=None).dataset \
        == "finediving"


def test_dd_cached_votes_equal_the_naive_path(world: Path) -> None:
    from fdpose.aqa_model.evaluate import choose_exemplars, evaluate, vote_naive

    ann = load_mtlaqa(world / "info")
    torch.manual_seed(0)
    model = HPMCoRe(micro_config(score_target="dd")).eval()
    device = torch.device("cpu")
    result = evaluate(model, ann, ann.test, ann.train, world / "frames", world / "poses", device=device,
                      num_exemplars=3, batch_size=2)
    assert result.aiou is None and result.aiou_mode is None
    chosen = choose_exemplars(ann, ann.train, ann.test, 3)
    ds = clip_dataset(ann, sorted(set(ann.train) | set(ann.test)), model.config, world / "frames", world / "poses")
    naive = vote_naive(model, ds, chosen, device)
    np.testing.assert_allclose([p.pred_score for p in result.predictions], naive, rtol=0, atol=1e-4)
    assert [p.fallback for p in result.predictions] == [False, False, False, True]  # no DD3.4 clip in training
