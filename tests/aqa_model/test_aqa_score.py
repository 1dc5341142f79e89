"""fdpose score: one clip end to end (frame folder or video), pose inputs, oracle poses, errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from aqa_helpers import micro_config
from aqa_run_helpers import FRAMES, TRAIN, aqa_group, make_world, one_thread
from click.testing import CliRunner

from fdpose.aqa_model.checkpoint import save_checkpoint
from fdpose.aqa_model.model import HPMCoRe
from fdpose.synth.oracle import VISIBILITY_CONFIDENCE, write_oracle_poses
from fdpose.finediving import load_annotations
from fdpose.io import read_json
from fdpose.sampling import aligned_indices, read_pred_comp
from fdpose.synth.config import SynthConfig
from fdpose.synth.world import generate_world

_ = one_thread  # re-exported fixture
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("aqa_score_world"))


def _checkpoint(path: Path, **overrides: object) -> Path:
    torch.manual_seed(5)
    model = HPMCoRe(micro_config(**overrides))
    save_checkpoint(path, {"config": model.config.to_dict(), "model": model.state_dict(), "epoch": 1})
    return path


def _exemplar_args(world: Path) -> list[str]:
    return ["--exemplars", str(world / "frames"), "--annotations", str(world / "annotations"),
            "--poses", str(world / "poses"), "--device", "cpu"]


def test_score_a_frame_folder_with_its_pose_file(world: Path, tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "m.pt")
    clip = world / "frames" / "m4" / "1"  # a test clip, dive 107b
    res = CliRunner().invoke(aqa_group(), ["score", str(clip), "--dive-number", "107B", "--checkpoint", str(ckpt),
                                           *_exemplar_args(world), "--pose",
                                           str(world / "poses" / "m4" / "pred_comp_1.npz"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["dive_number"] == "107B" and out["frame_count"] == FRAMES and out["sampled_frames"] == 16
    assert len(out["exemplars"]) == 10
    assert {TRAIN[(k.split("/")[0], int(k.split("/")[1]))][0] for k in (e["key"] for e in out["exemplars"])} == {"107b"}
    assert out["exemplar_mean"] == pytest.approx(np.mean([e["score"] for e in out["exemplars"]]))
    assert out["score"] == pytest.approx(np.mean([e["vote"] for e in out["exemplars"]]), abs=1e-4)
    assert out["score"] == pytest.approx(out["exemplar_mean"] + out["stage_contribution_sum"], abs=1e-4)
    stages = out["stages"]
    assert [s["name"] for s in stages] == ["take-off", "flight", "entry"]
    assert stages[0]["first_frame"] == 0 and stages[-1]["last_frame"] == FRAMES - 1
    for a, b in zip(stages, stages[1:]):  # contiguous, ordered, and matching the sampled transitions
        assert b["first_frame"] == a["last_frame"] + 1 or b["first_frame"] == a["first_frame"]
    positions = aligned_indices(FRAMES, list(range(FRAMES)), 16)
    assert [s["first_frame"] for s in stages[1:]] == [int(positions[t]) for t in sorted(out["transitions_sampled"])]
    text = CliRunner().invoke(aqa_group(), ["score", str(clip), "--dive-number", "107b", "--checkpoint", str(ckpt),
                                            *_exemplar_args(world), "--pose",
                                            str(world / "poses" / "m4" / "pred_comp_1.npz")])
    assert text.exit_code == 0 and f"score {out['score']:.2f}" in text.output and "entry" in text.output


def test_pose_configs_require_a_pose_and_unknown_dives_are_named(world: Path, tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "m.pt")
    clip = str(world / "frames" / "m4" / "1")
    # No --pose: the clip goes through track-and-estimate; a detections folder without this clip
    # fails the pipeline, and score says so in one line naming the clip.
    res = CliRunner().invoke(aqa_group(), ["score", clip, "--dive-number", "107b", "--checkpoint", str(ckpt),
                                           *_exemplar_args(world), "--detector", "file",
                                           "--detections", str(world / "frames")])
    assert res.exit_code != 0 and res.output.count("\n") == 1, res.output
    assert res.output.startswith(f"error: {clip}: pose pipeline failed: ")
    assert "no detections for clip 'm4__1'" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(aqa_group(), ["score", clip, "--dive-number", "6243d", "--checkpoint", str(ckpt),
                                           *_exemplar_args(world), "--pose",
                                           str(world / "poses" / "m4" / "pred_comp_1.npz")])
    assert res.exit_code == 2 and "no training clip with dive number '6243d'" in res.output
    assert "107b, 405c" in res.output
    # the pipeline's settings with a pose file: refused in one line rather than silently ignored
    for extra in (["--tracker-set", "gates.max_jump=2"], ["--pose-set", "flip_test=true"], ["--tracker", "paper"]):
        res = CliRunner().invoke(aqa_group(), ["score", clip, "--dive-number", "107b", "--checkpoint", str(ckpt),
                                               *_exemplar_args(world), "--pose",
                                               str(world / "poses" / "m4" / "pred_comp_1.npz"), *extra])
        assert res.exit_code == 2 and res.output.strip().splitlines() == [
            "error: --tracker, --tracker-config, --tracker-set and --pose-set choose how CLIP's pose is estimated "
            "here: they do not apply with --pose FILE"], (extra, res.output)


def test_pose_free_config_scores_a_video_file(world: Path, tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "mcore.pt", backbone="frame2d", use_sve=False, use_hse=False, fusion="none")
    video = tmp_path / "dive.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (32, 24))
    if not writer.isOpened():
        pytest.skip("no mp4 encoder in this OpenCV build")
    folder = world / "frames" / "m5" / "1"
    for f in sorted(folder.glob("*.jpg")):
        writer.write(cv2.imread(str(f)))
    writer.release()
    res = CliRunner().invoke(aqa_group(), ["score", str(video), "--no-dive-number", "--num-exemplars", "3",
                                           "--checkpoint", str(ckpt), "--exemplars", str(world / "frames"),
                                           "--annotations", str(world / "annotations"), "--device", "cpu", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["config"] == "micro" and out["pose"] is None and out["dive_number"] is None
    assert out["frame_count"] == FRAMES and len(out["exemplars"]) == 3
    assert out["stages"][0]["start_seconds"] == 0.0
    assert out["stages"][1]["start_seconds"] == pytest.approx(out["stages"][1]["first_frame"] / 25.0, abs=1e-3)


def test_oracle_poses_from_a_synth_world_and_scoring_with_a_gt_pose(tmp_path: Path) -> None:
    root = tmp_path / "synth"
    generate_world(SynthConfig(videos=3, seed=2, frames=30, write_video=False), root)
    ann = load_annotations(root / "annotations")
    keys = sorted(ann.fine)
    report = write_oracle_poses(root / "gt", tmp_path / "oracle", 16, keys)
    assert report.written == 3 and report.missing == []
    key = keys[0]
    gt = read_json(root / "gt" / key[0] / f"{key[1]}.json")
    pred = read_pred_comp(tmp_path / "oracle" / key[0] / f"pred_comp_{key[1]}.npz", n=16)
    positions = aligned_indices(len(gt["frames"]), None, 16)
    joints = np.array([gt["frames"][int(p)]["diver"]["joints"] for p in positions], np.float64)
    np.testing.assert_allclose(pred[..., :2], joints[..., :2], atol=1e-3)
    np.testing.assert_array_equal(pred[..., 2], np.vectorize(VISIBILITY_CONFIDENCE.get)(joints[..., 2].astype(int)))
    missing = write_oracle_poses(root / "gt", tmp_path / "oracle2", 16, [*keys, ("nope", 1)], skip_missing=True)
    assert missing.missing == [("nope", 1)]

    ckpt = _checkpoint(tmp_path / "m.pt")
    query = ann.test[0] if ann.test else keys[-1]
    res = CliRunner().invoke(aqa_group(), [
        "score", str(root / "frames" / query[0] / str(query[1])), "--no-dive-number", "--num-exemplars", "2",
        "--checkpoint", str(ckpt), "--exemplars", str(root / "frames"), "--annotations", str(root / "annotations"),
        "--poses-from-gt", str(root / "gt"), "--pose", str(root / "gt" / query[0] / f"{query[1]}.json"),
        "--device", "cpu", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["frame_count"] == len(ann.fine[query].frames_labels) and np.isfinite(out["score"])
    assert out["pose"].endswith(f"{query[1]}.json") and len(out["exemplars"]) == 2


def test_without_a_pose_file_the_clip_goes_through_track_and_estimate(tmp_path: Path) -> None:
    root = tmp_path / "synth"
    generate_world(SynthConfig(videos=3, seed=2, frames=30, write_video=False), root)
    ann = load_annotations(root / "annotations")
    query = ann.test[0] if ann.test else sorted(ann.fine)[-1]
    ckpt = _checkpoint(tmp_path / "m.pt")
    common = ["score", str(root / "frames" / query[0] / str(query[1])), "--no-dive-number", "--num-exemplars", "2",
              "--checkpoint", str(ckpt), "--exemplars", str(root / "frames"), "--annotations",
              str(root / "annotations"), "--poses-from-gt", str(root / "gt"), "--device", "cpu", "--json"]
    res = CliRunner().invoke(aqa_group(), [*common, "--detector", "file", "--detections", str(root / "detections"),
                                           "--pose-backend", "mediapipe", "--pose-out", str(tmp_path / "track")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    clip_json = tmp_path / "track" / f"{query[0]}__{query[1]}.json"
    assert out["pose_estimated"] is True and out["pose"] == str(clip_json) and clip_json.is_file()
    assert out["pose_models"]["detector"]["name"] == "file" and out["pose_models"]["pose"]["name"] == "mediapipe"
    assert np.isfinite(out["score"]) and len(out["exemplars"]) == 2
    # The estimated pose is what the model saw: scoring with that file as --pose gives the same score.
    again = CliRunner().invoke(aqa_group(), [*common, "--pose", str(clip_json)])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["score"] == pytest.approx(out["score"], abs=1e-5)


def test_score_with_no_pose_flag_runs_the_offline_defaults(tmp_path: Path, shared_data: Path) -> None:
    """A real clip scored with no pose/detector flag: the ssd detector and BlazePose make its pose."""
    pytest.importorskip("mediapipe")
    from fdpose.errors import DependencyError
    from fdpose.model_files import SSD_OIDV4, model_file

    try:
        model_file(SSD_OIDV4)
    except DependencyError:
        pytest.skip("ssd model not installed")
    root = tmp_path / "synth"
    generate_world(SynthConfig(videos=3, seed=2, frames=30, write_video=False), root)
    clip = tmp_path / "real"
    clip.mkdir()
    for i, path in enumerate(sorted((shared_data / "real" / "finediving_10m_clipA").glob("*.jpg"))[:12]):
        (clip / f"{i:05d}.jpg").symlink_to(path)
    res = CliRunner().invoke(aqa_group(), [
        "score", str(clip), "--no-dive-number", "--num-exemplars", "2", "--checkpoint", str(_checkpoint(tmp_path / "m.pt")),
        "--exemplars", str(root / "frames"), "--annotations", str(root / "annotations"), "--poses-from-gt",
        str(root / "gt"), "--device", "cpu", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["pose_estimated"] is True and np.isfinite(out["score"])
    assert out["pose_models"]["detector"]["name"] == "ssd" and out["pose_models"]["pose"]["name"] == "mediapipe"


def test_a_one_frame_clip_is_refused(tmp_path: Path) -> None:
    """A single image is not a dive: one line naming the clip and its frame count, exit 2, nothing scored."""
    import cv2

    root = tmp_path / "synth"
    generate_world(SynthConfig(videos=3, seed=2, frames=30, write_video=False), root)
    clip = tmp_path / "one"
    clip.mkdir()
    first = sorted((root / "frames").rglob("*.jpg"))[0]
    cv2.imwrite(str(clip / "00000.jpg"), cv2.imread(str(first)))
    res = CliRunner().invoke(aqa_group(), [
        "score", str(clip), "--no-dive-number", "--num-exemplars", "2", "--checkpoint", str(_checkpoint(tmp_path / "m.pt")),
        "--exemplars", str(root / "frames"), "--annotations", str(root / "annotations"), "--poses-from-gt",
        str(root / "gt"), "--device", "cpu", "--detections", str(root / "detections")])
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"error: {clip}: 1 frame(s): too few for a dive")


def test_a_pipeline_clip_json_is_read_by_the_reader_handed_in(tmp_path: Path) -> None:
    """The AQA stage imports no pipeline module: the clip JSON's reader comes from the caller."""
    from fdpose.aqa_model.presets import preset
    from fdpose.aqa_model.score import read_query_pose
    from fdpose.errors import InputError

    cfg = preset("tiny")
    path = tmp_path / "clip.json"
    path.write_text(json.dumps({"schema_version": 1, "frames": []}))
    with pytest.raises(InputError, match=r"clip.json: a pipeline clip JSON needs the pipeline's reader"):
        read_query_pose(path, cfg, 12, None)
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 100, (12, 16, 3))
    seen: list[Path] = []

    def reader(doc: dict, p: Path) -> tuple[np.ndarray, None]:
        seen.append(p)
        return kp, None

    pose = read_query_pose(path, cfg, 12, None, reader)
    assert seen == [path] and pose.shape == (cfg.num_frames, 16, cfg.pose_channels) and pose.dtype == np.float32
    rows = aligned_indices(12, None, cfg.num_frames)
    np.testing.assert_allclose(pose, kp[rows][..., :cfg.pose_channels].astype(np.float32))
