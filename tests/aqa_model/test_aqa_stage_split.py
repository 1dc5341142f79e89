"""Table V's 2*: two stages split at the entry (take-off+flight | entry) instead of the take-off."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import load_config, preset
from fdpose.aqa_model.data import FineDivingAQADataset, select_transitions
from fdpose.aqa_model.model import HPMCoRe
from fdpose.aqa_model.score import _stages
from fdpose.aqa_model.segmentation import cut_stages, map_transitions_to_samples
from fdpose.errors import ConfigError
from fdpose.finediving import FineDivingAnnotations, FineGrainedRecord, transits_from_labels
from fdpose.sampling import write_pred_comp

# a twisting dive: take-off group (label 1), somersault (25), twist (31), entry (40); 60 trimmed frames
TAKEOFF, SOMERSAULT, TWIST, ENTRY = 1, 25, 31, 40
LABELS = np.array([TAKEOFF] * 14 + [SOMERSAULT] * 20 + [TWIST] * 12 + [ENTRY] * 14, np.int64)
NAMES = {TAKEOFF: "take-off", SOMERSAULT: "som", TWIST: "twist", ENTRY: "entry"}


def _config(split: str) -> AQAConfig:
    cfg = preset("tiny")
    return AQAConfig.from_dict({"num_frames": 16, "num_stages": 2, "stage_split": split}, base=cfg)


def test_hand_built_labels_give_the_takeoff_or_the_entry_boundary() -> None:
    transits = transits_from_labels(LABELS)
    assert transits.tolist() == [13, 33, 45]  # last frame of each stage but the last
    assert select_transitions(transits, 2, "takeoff").tolist() == [13]
    assert select_transitions(transits, 2, "entry").tolist() == [45]
    assert select_transitions(transits, 2).tolist() == [13]  # default: the paper's "2"
    assert select_transitions(transits, 3, "takeoff").tolist() == [13, 45]
    samples = np.linspace(0, len(LABELS) - 1, 16).astype(int)
    for split, first_label in (("takeoff", SOMERSAULT), ("entry", ENTRY)):
        pos = int(map_transitions_to_samples(select_transitions(transits, 2, split), samples)[0])
        # the transition is the first SAMPLED frame of the second stage: its label starts there
        assert LABELS[samples[pos]] == first_label and LABELS[samples[pos - 1]] != first_label
        second = set(LABELS[samples[pos:]].tolist())
        assert second == ({SOMERSAULT, TWIST, ENTRY} if split == "takeoff" else {ENTRY})


def test_config_field_checks_and_json() -> None:
    assert preset("hpmcore").stage_split == "takeoff" and preset("tiny").stage_split == "takeoff"
    with pytest.raises(ConfigError, match="stage_split 'entry' needs num_stages 2, got 3"):
        AQAConfig.from_dict({"stage_split": "entry"}, base=preset("tiny"))
    with pytest.raises(ConfigError, match="stage_split must be one of takeoff, entry, got 'flight'"):
        AQAConfig.from_dict({"num_stages": 2, "stage_split": "flight"}, base=preset("tiny"))


def test_stage_split_reads_from_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "two_star.json"
    path.write_text(json.dumps({"preset": "tiny", "num_stages": 2, "stage_split": "entry"}))
    cfg = load_config(path)
    assert (cfg.num_stages, cfg.stage_split) == (2, "entry")
    # docs/aqa.md's example: hpmcore weights two transitions (1, 2), so a 2-stage file resets the weights
    path.write_text(json.dumps({"preset": "hpmcore", "num_stages": 2, "stage_split": "entry",
                                "segmentation_transition_weights": []}))
    cfg = load_config(path)
    assert (cfg.name, cfg.num_stages, cfg.stage_split, cfg.segmentation_transition_weights) == ("hpmcore", 2, "entry", ())
    with pytest.raises(ConfigError, match="segmentation_transition_weights needs 1 values"):
        path.write_text(json.dumps({"preset": "hpmcore", "num_stages": 2, "stage_split": "entry"}))
        load_config(path)
    with pytest.raises(ConfigError) as err:
        path.write_text(json.dumps({"preset": "tiny", "stage_split": "entry"}))
        load_config(path)
    assert "\n" not in str(err.value) and "two_star.json" in str(err.value)


def _world(tmp_path: Path) -> tuple[FineDivingAnnotations, list[tuple[str, int]]]:
    ann = FineDivingAnnotations()
    keys = [("m", 1), ("m", 2)]
    rng = np.random.default_rng(0)
    for n, key in enumerate(keys):
        labels = LABELS if n == 0 else np.array([TAKEOFF] * 10 + [SOMERSAULT] * 30 + [ENTRY] * 20, np.int64)
        ann.fine[key] = FineGrainedRecord("5253b", 60.0 + 10 * n, 3.0, transits_from_labels(labels), labels, NAMES)
        pose = rng.normal(100, 20, (16, 16, 3)).astype(np.float32)
        pose[..., 2] = 1.0
        write_pred_comp(tmp_path / "poses" / key[0] / f"pred_comp_{key[1]}.npz", pose, n=16)
    return ann, keys


@pytest.mark.parametrize("split", ["takeoff", "entry"])
def test_dataset_targets_stage_cut_and_a_model_step(tmp_path: Path, split: str) -> None:
    cfg = _config(split)
    ann, keys = _world(tmp_path)
    ds = FineDivingAQADataset(ann, keys, cfg, None, tmp_path / "poses")
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    samples = [ds.positions(k) for k in keys]
    labels = [ann.fine[k].frames_labels for k in keys]
    first = SOMERSAULT if split == "takeoff" else ENTRY
    # the segmentation target of each clip is its first sampled frame of the second stage
    expected = [int(np.argmax(lab[s] == first)) for lab, s in zip(labels, samples)]
    assert batch["transitions"][:, 0].tolist() == expected
    assert expected == ([4, 3] if split == "takeoff" else [12, 11])

    # the cut: a feature that is the frame's FineDiving label; stage 2 holds only labels of its part
    feats = torch.from_numpy(np.stack([lab[s] for lab, s in zip(labels, samples)])).float()[..., None]
    first_stage, second_stage = cut_stages(feats, batch["transitions"], cfg.stage_len, half_open=True)
    assert torch.all(second_stage[:, 0, 0] == first)
    assert (second_stage == ENTRY).all() if split == "entry" else (first_stage == TAKEOFF).all()

    model = HPMCoRe(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    q, e = model.encode(None, batch["pose"], batch["transitions"]), model.encode(None, batch["pose"].flip(0),
                                                                                  batch["transitions"].flip(0))
    assert torch.equal(q.cut_transitions, batch["transitions"])
    assert q.stages["motion"].shape == (2, 2, cfg.stage_len, cfg.d_model)  # K = 2 stages to the decoders
    assert q.seg_logits is not None and q.seg_logits.shape == (2, 16, 1)
    total, parts = model.losses(q, e, batch["score"], batch["score"].flip(0))
    before = [p.detach().clone() for p in model.segmenter.parameters()]
    opt.zero_grad()
    total.backward()
    opt.step()
    assert np.isfinite(parts["total"]) and parts["ce"] > 0 and parts["contrastive"] > 0
    assert all(not torch.equal(b, p) for b, p in zip(before, model.segmenter.parameters()))


def test_score_report_names_the_entry_split_stages() -> None:
    args = (np.arange(16), 60, [1.0, 2.0], [0.5, 0.5], [1.0, 2.0], None)
    assert [s["name"] for s in _stages([12], *args, split="entry")] == ["take-off+flight", "entry"]
    assert [s["name"] for s in _stages([4], *args)] == ["take-off", "flight+entry"]


def test_train_aqa_runs_2_star_with_the_asformer_head_from_a_json_config(tmp_path: Path) -> None:
    from aqa_run_helpers import aqa_group, config_file, make_world, world_args
    from click.testing import CliRunner

    world = make_world(tmp_path / "world")  # transits (5, 13) of 20 frames: the entry split keeps 13
    cfg = config_file(tmp_path / "two_star.json", num_stages=2, stage_split="entry", segmentation_head="asformer",
                      asformer_channels=8, asformer_layers=3, asformer_decoders=2, segmentation_transition_weights=())
    out = tmp_path / "run"
    before = torch.get_num_threads()
    try:
        res = CliRunner().invoke(aqa_group(), ["train-aqa", *world_args(world), "-o", str(out), "--config", str(cfg),
                                               "--epochs", "1", "--batch-size", "4", "--val-share", "0.25",
                                               "--device", "cpu", "--threads", "1", "--json"])
    finally:
        torch.set_num_threads(before)
    assert res.exit_code == 0, res.output
    saved = json.loads((out / "config.json").read_text())
    assert (saved["num_stages"], saved["stage_split"], saved["segmentation_head"]) == (2, "entry", "asformer")
    summary = json.loads(res.stdout)
    assert summary["test"]["aiou_mode"] == "stages" and summary["test"]["queries"] == 5
    # sampled frames 0, 1, 2, 3, 5, ..., 13, 15, ...: the entry (first frame after transit 13) is sample 12
    with (out / "test" / "predictions.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and {r["true_transitions"] for r in rows} == {"12"}
    state = torch.load(out / "last.pt", weights_only=True)
    assert "segmenter.head.decoders.1.out.weight" in state["model"]
    assert state["model"]["segmenter.head.encoder.out.weight"].shape[0] == 1  # K - 1 = 1 transition


def test_score_reports_the_entry_split_stages_of_a_2_star_asformer_checkpoint(tmp_path: Path) -> None:
    from aqa_helpers import micro_config
    from aqa_run_helpers import FRAMES, aqa_group, make_world
    from click.testing import CliRunner

    from fdpose.aqa_model.checkpoint import save_checkpoint

    world = make_world(tmp_path / "world")
    torch.manual_seed(5)
    model = HPMCoRe(micro_config(num_stages=2, stage_split="entry", segmentation_head="asformer", asformer_channels=8,
                                 asformer_layers=3, asformer_decoders=1, segmentation_transition_weights=()))
    ckpt = save_checkpoint(tmp_path / "m.pt", {"config": model.config.to_dict(), "model": model.state_dict(), "epoch": 1})
    before = torch.get_num_threads()
    try:
        res = CliRunner().invoke(aqa_group(), [
            "score", str(world / "frames" / "m4" / "1"), "--dive-number", "107b", "--checkpoint", str(ckpt),
            "--exemplars", str(world / "frames"), "--annotations", str(world / "annotations"),
            "--poses", str(world / "poses"), "--device", "cpu",
            "--pose", str(world / "poses" / "m4" / "pred_comp_1.npz"), "--json"])
    finally:
        torch.set_num_threads(before)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    stages = out["stages"]
    assert [s["name"] for s in stages] == ["take-off+flight", "entry"] and len(out["transitions_sampled"]) == 1
    assert stages[0]["first_frame"] == 0 and stages[-1]["last_frame"] == FRAMES - 1
    assert out["score"] == pytest.approx(out["exemplar_mean"] + out["stage_contribution_sum"], abs=1e-4)


def test_real_annotations_place_the_two_splits_as_docs_state(shared_data: Path) -> None:
    # docs/aqa.md (benchmarks/stage_split_real.py): 2996 records, mean sample 28.62 (take-off) / 62.29 (entry)
    from fdpose.finediving import load_annotations
    from fdpose.sampling import aligned_indices

    ann = load_annotations(shared_data / "finediving")
    pos: dict[str, list[int]] = {"takeoff": [], "entry": []}
    for record in ann.fine.values():
        t = np.asarray(record.steps_transit_frames)
        if len(t) < 2 or (t < 0).any() or (np.diff(t) <= 0).any():
            continue
        samples = aligned_indices(record.num_frames, None, 96)
        for split, out in pos.items():
            out.append(int(map_transitions_to_samples(select_transitions(t, 2, split), samples)[0]))
    takeoff, entry = np.asarray(pos["takeoff"]), np.asarray(pos["entry"])
    assert len(takeoff) == 2996
    assert round(float(takeoff.mean()), 2) == 28.62 and round(float(entry.mean()), 2) == 62.29
    assert round(float((takeoff >= 48).mean()), 4) == 0.0357 and round(float((entry < 48).mean()), 4) == 0.033
    assert (entry > takeoff).all()  # the entry split always cuts later than the take-off split
