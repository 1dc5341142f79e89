"""train-aqa: run files, weights_only checkpoints, exact resume, seeds, option and data errors."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from aqa_helpers import micro_config
from aqa_run_helpers import one_thread, TRAIN, aqa_group, config_file, make_world, world_args
from click.testing import CliRunner

from fdpose.aqa_model.train import TrainOptions, train
from fdpose.errors import ConfigError


_ = one_thread  # re-exported fixture
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("aqa_train_world"))


def _options(world: Path, out: Path, **kw: object) -> TrainOptions:
    base = dict(out_dir=out, annotations=world / "annotations", frames_root=world / "frames",
                poses_root=world / "poses", config=micro_config(), epochs=2, batch_size=3, seed=0,
                val_share=0.25, val_exemplars=3, test_exemplars=3, device="cpu", threads=1, progress=False)
    base.update(kw)
    return TrainOptions(**base)  # type: ignore[arg-type]


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_cli_run_writes_logs_curve_and_weights_only_checkpoints(world: Path, tmp_path: Path) -> None:
    cfg = config_file(tmp_path / "micro.json")
    out = tmp_path / "run"
    res = CliRunner().invoke(aqa_group(), ["train-aqa", *world_args(world), "-o", str(out), "--config", str(cfg),
                                           "--epochs", "2", "--batch-size", "3", "--val-share", "0.25",
                                           "--device", "cpu", "--threads", "1", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["finished"] and summary["epochs_completed"] == 2 and summary["world_size"] == 1
    assert summary["best_epoch"] in (1, 2)
    test = summary["test"]
    assert test["queries"] == 5 and test["fallback_queries"] == 1  # 5253b has no training clip
    assert test["rl2_range"] == [45.5, 75.0]
    rows = _csv_rows(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(float(r["loss_total"]) > 0 and r["val_srcc"] != "" and r["val_aiou_50"] != "" for r in rows)
    assert float(rows[0]["lr"]) == pytest.approx(5e-4) and float(rows[1]["lr"]) < 5e-4  # cosine schedule
    assert (out / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "test" / "scatter.png").is_file() and (out / "test" / "predictions.csv").is_file()
    state = torch.load(out / "last.pt", weights_only=True)  # plain tensors and python values only
    assert state["epoch"] == 2 and len(state["history"]) == 2 and "optimizer" in state and state["rng_per_rank"]
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["epoch"] == summary["best_epoch"] and "optimizer" not in best
    run = json.loads((out / "run.json").read_text())
    assert len(run["splits"]["train"]) == 6 and len(run["splits"]["val"]) == 2
    assert set(run["splits"]["test"]) == {"m4/1", "m4/2", "m4/3", "m5/1", "m5/2"}
    epoch1 = json.loads((out / "logs" / "epoch_0001.json").read_text())
    assert sorted(epoch1["queries_per_rank"]["0"]) == sorted(run["splits"]["train"])


def test_resume_gives_the_same_numbers_as_an_uninterrupted_run(world: Path, tmp_path: Path) -> None:
    full = train(_options(world, tmp_path / "a", final_test=False))
    assert full.finished and full.epochs_completed == 2
    part = train(_options(world, tmp_path / "b", final_test=False, stop_after=1))
    assert not part.finished and part.epochs_completed == 1
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["finished"] is False
    with pytest.raises(ConfigError, match=r"cannot change lr \(run 0.0005, now 0.001\)"):
        train(TrainOptions(out_dir=tmp_path / "b", resume=True, lr=1e-3, device="cpu", progress=False))
    res = CliRunner().invoke(aqa_group(), ["train-aqa", *world_args(world), "-o", str(tmp_path / "b"),
                                           "--config", "tiny"])
    assert res.exit_code == 2 and "already holds a run" in res.output and "Traceback" not in res.output
    resumed = train(TrainOptions(out_dir=tmp_path / "b", resume=True, device="cpu", threads=1, progress=False,
                                 final_test=False))
    assert resumed.finished and resumed.epochs_completed == 2
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert a["model"].keys() == b["model"].keys()
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(sa["exp_avg"], sb["exp_avg"]) and torch.equal(sa["exp_avg_sq"], sb["exp_avg_sq"])
    assert a["scheduler"] == b["scheduler"]
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in a["history"]]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in b["history"]]
    # another seed is another run: the first epoch's loss differs
    other = train(_options(world, tmp_path / "c", final_test=False, stop_after=1, seed=1))
    assert other.epochs_completed == 1
    c = torch.load(tmp_path / "c" / "last.pt", weights_only=True)
    assert c["history"][0]["loss_total"] != a["history"][0]["loss_total"]


def test_resume_without_a_run_and_a_too_small_validation_split_fail_cleanly(world: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(aqa_group(), ["train-aqa", "-o", str(tmp_path / "none"), "--resume"])
    assert res.exit_code == 2 and "nothing to resume: no last.pt" in res.output
    res = runner.invoke(aqa_group(), ["train-aqa", *world_args(world), "-o", str(tmp_path / "v"),
                                      "--config", "tiny", "--val-share", "0.1"])
    assert res.exit_code == 2 and "validation split has 1 clips" in res.output
    assert not (tmp_path / "v" / "last.pt").exists()


def test_missing_pose_names_the_clip_or_is_skipped(world: Path, tmp_path: Path) -> None:
    broken = tmp_path / "world"
    shutil.copytree(world, broken)
    (broken / "poses" / "m2" / "pred_comp_3.npz").unlink()
    cfg = config_file(tmp_path / "micro.json")
    base = ["train-aqa", *world_args(broken), "--config", str(cfg), "--epochs", "1", "--batch-size", "4",
            "--val-share", "0", "--no-final-test", "--device", "cpu", "--threads", "1"]
    res = CliRunner().invoke(aqa_group(), [*base, "-o", str(tmp_path / "fail")])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "clip m2/3" in res.output and "pred_comp_3.npz" in res.output
    res = CliRunner().invoke(aqa_group(), [*base, "-o", str(tmp_path / "skip"), "--skip-missing", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert list(summary["skipped"]) == ["m2/3"] and summary["best_epoch"] == 1  # no val split: last epoch
    epoch1 = json.loads((tmp_path / "skip" / "logs" / "epoch_0001.json").read_text())
    assert len(epoch1["queries_per_rank"]["0"]) == len(TRAIN) - 1


def test_resume_accepts_moved_data_and_refuses_changed_data(world: Path, tmp_path: Path) -> None:
    """Paths may move between a run and its resume; the annotations, pose files and frames may not change."""
    from fdpose.finediving import load_annotations, save_annotations
    from fdpose.sampling import read_pred_comp, write_pred_comp

    moved = tmp_path / "moved"
    shutil.copytree(world, moved)
    part = train(_options(world, tmp_path / "run", final_test=False, stop_after=1))
    assert part.epochs_completed == 1
    stored = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["data_fingerprint"]
    assert len(stored["poses"]) == len(stored["frames"]) == 13 and None not in stored["poses"].values()

    def resume_from(root: Path) -> TrainOptions:
        return TrainOptions(out_dir=tmp_path / "run", resume=True, annotations=root / "annotations",
                            frames_root=root / "frames", poses_root=root / "poses", device="cpu", threads=1,
                            progress=False, final_test=False, stop_after=1)

    # one joint of one clip moved by a pixel: refused, naming the clip; the run is left as it was
    pose_file = moved / "poses" / "m2" / "pred_comp_3.npz"
    original = pose_file.read_bytes()
    pose = read_pred_comp(pose_file, n=16)
    pose[5, 3, 0] += 1.0
    write_pred_comp(pose_file, pose, n=16)
    with pytest.raises(ConfigError, match=r"cannot change the data: the pose files of 1 clip \(first: m2/3\)"):
        train(resume_from(moved))
    pose_file.write_bytes(original)
    # a frame re-encoded (another size) and a dive score changed: both named
    frame = moved / "frames" / "m1" / "2" / "00003.jpg"
    frame.write_bytes(frame.read_bytes() + b"\0")
    ann = load_annotations(moved / "annotations")
    key = sorted(ann.fine)[0]
    ann.fine[key] = dataclasses.replace(ann.fine[key], dive_score=ann.fine[key].dive_score + 0.5)
    save_annotations(moved / "annotations", ann)
    res = CliRunner().invoke(aqa_group(), ["train-aqa", *world_args(moved), "-o", str(tmp_path / "run"),
                                           "--resume", "--device", "cpu", "--threads", "1"])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "Traceback" not in res.output
    assert "the annotations; the frames of 1 clip (first: m1/2)" in res.output and "last.pt" in res.output
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == 1
    # the same content under other paths resumes, and equals a run that never moved
    shutil.rmtree(moved)
    shutil.copytree(world, moved)
    resumed = train(TrainOptions(**{**resume_from(moved).__dict__, "stop_after": None}))
    assert resumed.finished and resumed.epochs_completed == 2
    full = train(_options(world, tmp_path / "full", final_test=False))
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model"]
    assert full.finished and all(torch.equal(a[k], b[k]) for k in a)
