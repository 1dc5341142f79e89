"""The ``mcore`` preset = MCoRe's official code (github:Angel-1999/MCoRe; method.md 3.8 end):
sizes and FLOPs, the token-level contrastive loss, a CPU-sized training step, the former preset as a
config file, pretrained-weight handling through ``train-aqa`` (refusal, early checks, run.json record)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from aqa_helpers import micro_config
from aqa_run_helpers import aqa_group, make_world, one_thread, world_args
from click.testing import CliRunner
from test_aqa_weights import generate, timm_regnety_002_layout

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.presets import load_config, preset
from fdpose.aqa_model.contrastive import token_contrastive_loss
from fdpose.aqa_model.cost import model_cost
from fdpose.io import file_sha256
from fdpose.aqa_model.model import HPMCoRe
from fdpose.aqa_model.optim import build_scheduler, parameter_groups
from fdpose.aqa_model.segmentation import cut_stages, segmentation_loss
from fdpose.errors import ConfigError

_ = one_thread  # re-exported fixture

#: a CPU-sized mcore: same code, RegNet of two small stages, 16 frames of 32x32
MICRO = {"num_frames": 16, "frame_size": 32, "regnet_widths": [8, 16], "regnet_depths": [1, 1],
         "regnet_group_width": 4, "regnet_stem": 8, "d_model": 16, "decoder_heads": 2, "segmentation_hidden": 16,
         "mlp_hidden": 16}


def test_mcore_sizes_and_flops_match_the_official_code() -> None:
    cost = model_cost(preset("mcore"))
    # MCoRe's code: RegNetY-002-GSM 2,815,598 (test_aqa_regnet), GRU(368, 368, bidirectional) + Linear(736, 2)
    # = 1,630,978, decoder_fuser(368, 8 heads, 3 layers, no q/k/v bias) 4,888,512 + MLP_score 110,977
    assert cost.params_by_component == {"static_encoder": 2_815_598, "segmenter": 1_630_978,
                                        "regressor": 4_888_512 + 110_977}
    assert cost.params_total == 9_446_065  # method.md 3.8: 9.45 M used
    # method.md 3.5: ~23.4 GFLOPs per batch-1 training pair; 23.59 here (2 x 11.65 encode + 2 x 0.15 compare)
    assert cost.flops_train_step_forward / 1e9 == pytest.approx(23.4, rel=0.02)
    assert cost.flops_encode / 1e9 == pytest.approx(11.65, abs=0.01)


def test_mcore_fields_are_the_codes() -> None:
    cfg = preset("mcore")
    assert (cfg.static_encoder, cfg.regnet_gsm, cfg.stage_reducer, cfg.d_model) == ("regnet_gsm", True, False, 368)
    assert (cfg.shared_decoder, cfg.decoder_layers, cfg.decoder_heads, cfg.learned_stage_weights) == (True, 3, 8, False)
    assert not cfg.decoder_qkv_bias
    assert (cfg.stage_len, cfg.num_stages, cfg.segmentation_hidden) == (5, 3, 368)
    assert (cfg.contrastive, cfg.temperature, cfg.lambda_contrastive) == ("token", 0.5, 10.0)
    assert (cfg.use_dve, cfg.use_sve, cfg.use_hse, cfg.fusion) == (False, True, False, "none")
    assert (cfg.segmentation_dropout, cfg.segmentation_transition_weights, cfg.stage_cut) == (0.5, (1.0, 2.0),
                                                                                            "half_open")
    assert (cfg.frame_resize, cfg.frame_size, cfg.num_frames) == ((200, 112), 112, 96)
    with pytest.raises(ConfigError, match="d_model must be 368, got 256"):
        dataclasses.replace(cfg, d_model=256).validate()


def test_codes_segmentation_loss_and_half_open_stages() -> None:
    logits = torch.randn(3, 12, 2)
    trans = torch.tensor([[3, 8], [2, 9], [4, 7]])
    # the codes: CrossEntropyLoss over time with a soft target of 1 at t1 (column 0) and 2 at t2 (column 1)
    target = torch.zeros(3, 12, 2)
    for b in range(3):
        target[b, trans[b, 0], 0], target[b, trans[b, 1], 1] = 1.0, 2.0
    code = torch.nn.functional.cross_entropy(logits, target)
    assert segmentation_loss(logits, trans, (1.0, 2.0)).item() == pytest.approx(code.item(), rel=1e-6)
    # seg_pool_1d: F.interpolate(x[:, :, :t1]), x[:, :, t1:t2], x[:, :, t2:] to L steps (linear, aligned corners)
    feats = torch.randn(3, 12, 4)
    stages = cut_stages(feats, trans, 5, half_open=True)
    for b in range(3):
        t1, t2 = trans[b].tolist()
        for k, seg in enumerate((feats[b, :t1], feats[b, t1:t2], feats[b, t2:])):
            ref = torch.nn.functional.interpolate(seg.t()[None], size=5, mode="linear", align_corners=True)[0].t()
            assert torch.allclose(stages[k][b], ref, atol=1e-6), (b, k)


def _semi_loss_loops(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """MCoRe's ``semi_loss`` written out token by token: (L, C), (L, C) -> (L,)."""
    a = torch.nn.functional.normalize(z1, dim=1)
    b = torch.nn.functional.normalize(z2, dim=1)
    out = []
    for i in range(a.shape[0]):
        pos = torch.exp(a[i] @ b[i] / tau)
        den = sum(torch.exp(a[i] @ b[j] / tau) for j in range(b.shape[0]))
        den = den + sum(torch.exp(a[i] @ a[j] / tau) for j in range(a.shape[0]) if j != i)
        out.append(-torch.log(pos / den))
    return torch.stack(out)


def test_token_contrastive_loss_is_mcores_semi_loss() -> None:
    q, e = torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7)
    ref = torch.cat([0.5 * (_semi_loss_loops(q[b, k], e[b, k], 0.5) + _semi_loss_loops(e[b, k], q[b, k], 0.5))
                     for b in range(2) for k in range(3)]).mean()
    assert token_contrastive_loss(q, e, 0.5).item() == pytest.approx(ref.item(), rel=1e-5)
    # identical tokens everywhere are a worse positive than distinct, aligned ones
    same = torch.ones(1, 1, 5, 7)
    aligned = torch.eye(5, 7).view(1, 1, 5, 7)
    assert token_contrastive_loss(aligned, aligned, 0.1) < token_contrastive_loss(same, same, 0.1)


def test_micro_mcore_trains_a_step_through_the_shared_decoder() -> None:
    cfg = AQAConfig.from_dict(MICRO, base=preset("mcore"))
    model = HPMCoRe(cfg).train()
    with torch.no_grad():  # as pretrained weights would: timm's init closes every residual branch (last BN 0)
        for name, p in model.static_encoder.named_parameters():
            if name.endswith("conv3.bn.weight"):
                p.fill_(1.0)
    assert len(model.regressor.decoders["static"]) == 1 and "regressor.stage_logits" not in dict(
        model.named_parameters())
    assert isinstance(model.reducers["static"][0], torch.nn.Identity)
    video = torch.randn(2, 16, 3, 32, 32)
    trans = torch.tensor([[5, 11], [4, 10]])
    q = model.encode(video, None, trans)
    e = model.encode(video.flip(0), None, trans.flip(0))
    assert q.stages["static"].shape == (2, 3, 5, 16)
    total, parts = model.losses(q, e, torch.tensor([60.0, 70.0]), torch.tensor([70.0, 60.0]))
    total.backward()
    assert parts["contrastive"] > 0 and parts["ce"] > 0
    gate = model.static_encoder.trunk.s2.b1.conv1.gsm.conv3D.weight
    assert gate.grad is not None and gate.grad.abs().sum() > 0  # the zero-initialised gates learn


def test_mcore_optimiser_groups_schedule_and_frozen_batchnorm() -> None:
    cfg = AQAConfig.from_dict(MICRO, base=preset("mcore"))
    assert (cfg.code_lr, cfg.lr_schedule, cfg.static_lr_factor, cfg.static_frozen_bn) == (1e-3, "constant", 0.1, True)
    model = HPMCoRe(cfg)
    groups = parameter_groups(model, cfg, 1e-3)
    static = {id(p) for p in model.static_encoder.parameters()}
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-4)]
    assert {id(p) for p in groups[1]["params"]} == static and not static & {id(p) for p in groups[0]["params"]}
    opt = torch.optim.Adam(groups, lr=1e-3)
    sched = build_scheduler(opt, cfg, epochs=5)
    for _ in range(3):
        opt.step()
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == [1e-3, pytest.approx(1e-4)]
    cosine = dataclasses.replace(cfg, lr_schedule="cosine")
    opt = torch.optim.Adam(parameter_groups(model, cosine, 1e-3), lr=1e-3)
    sched = build_scheduler(opt, cosine, epochs=4)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * (1 + math.cos(math.pi / 4)) / 2)
    assert len(parameter_groups(HPMCoRe(micro_config()), micro_config(), 1e-3)) == 1  # factor 1: one group
    # frozen BatchNorm: eval mode inside a training model, statistics untouched by a forward
    model.train()
    bns = [m for m in model.static_encoder.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert bns and not any(m.training for m in bns) and model.segmenter.training
    before = [m.running_mean.clone() for m in bns]
    model.encode(torch.randn(1, 16, 3, 32, 32), None, torch.tensor([[5, 11]]))
    assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))


def test_former_mcore_is_a_config_file(tmp_path: Path) -> None:
    """The docstring's JSON rebuilds the former preset (gate-less shift backbone, reducers, per-stage decoders)."""
    former = AQAConfig(name="mcore", backbone="frame2d", use_dve=True, use_sve=False, use_hse=False, fusion="none",
                       decoder_layers=2).validate()
    path = tmp_path / "mcore_v1.json"
    path.write_text(json.dumps({"preset": "mcore", "use_dve": True, "backbone": "frame2d", "use_sve": False,
                                "stage_reducer": True, "d_model": 256, "shared_decoder": False, "decoder_layers": 2,
                                "decoder_heads": 4, "learned_stage_weights": True, "stage_len": 10,
                                "segmentation_hidden": 256, "contrastive": "stagewise", "segmentation_dropout": 0.0,
                                "segmentation_transition_weights": [], "stage_cut": "inclusive",
                                "decoder_qkv_bias": True, "static_lr_factor": 1.0, "static_frozen_bn": False,
                                "lr_schedule": "cosine", "code_lr": None, "frame_resize": [],
                                "frame_resize_filter": "area", "pair_encoding": "separate",
                                "code_test_every": None}))
    old, new = model_cost(former), model_cost(load_config(path))
    assert old.params_by_component == new.params_by_component and old.flops_encode == new.flops_encode
    assert dataclasses.replace(load_config(path), static_encoder="resnet") == former


def test_mcore_refuses_random_init_and_checks_the_file_before_reading_data(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    res = runner.invoke(aqa_group(), ["train-aqa", "-o", str(out), "--config", "mcore"])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "static RegNetY-002-GSM (--static-weights: a timm regnety_002 state dict)" in res.output
    bad = tmp_path / "resnet50.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, bad)
    res = runner.invoke(aqa_group(), ["train-aqa", "-o", str(out), "--config", "mcore", "--static-weights", str(bad)])
    assert res.exit_code != 0 and res.output.count("\n") == 1 and "Traceback" not in res.output
    assert f"{bad}: RegNetY (timm regnety_002) weights: missing key stem.conv.weight" in res.output
    assert not out.exists()  # no annotations were given: the check ran first


@pytest.mark.usefixtures("one_thread")
def test_micro_mcore_run_records_the_weights_and_evaluates_without_them(tmp_path: Path) -> None:
    world = make_world(tmp_path / "world")
    cfg_path = tmp_path / "mcore_micro.json"
    cfg_path.write_text(json.dumps({"preset": "mcore", **MICRO}))
    weights = tmp_path / "regnety_micro.pth"
    source = generate(timm_regnety_002_layout((8, 16), (1, 1), 4, 8, classes=10))
    torch.save(source, weights)
    built = HPMCoRe(dataclasses.replace(load_config(cfg_path), regnet_weights=str(weights)))
    trunk = built.static_encoder.trunk.state_dict()
    assert torch.equal(trunk["s2.b1.conv1.net.conv.weight"], source["s2.b1.conv1.conv.weight"])
    assert torch.count_nonzero(trunk["s2.b1.conv1.gsm.conv3D.weight"]) == 0
    out = tmp_path / "run"
    res = CliRunner().invoke(aqa_group(), ["train-aqa", *world_args(world), "-o", str(out), "--config",
                                           str(cfg_path), "--static-weights", str(weights), "--epochs", "2",
                                           "--batch-size", "4", "--val-share", "0.25", "--device", "cpu",
                                           "--threads", "1", "--no-final-test", "--json"])
    assert res.exit_code == 0, res.output
    run = json.loads((out / "run.json").read_text())
    record = run["settings"]["config"]["extra"]["pretrained_weights"]["static"]
    assert record == {"path": str(weights.resolve()), "sha256": file_sha256(weights), "bytes": weights.stat().st_size,
                      "layout": "timm regnety"}
    assert run["settings"]["config"]["regnet_weights"] == str(weights)
    # MCoRe's optimiser: lr 1e-3 without --lr, no schedule (both epochs at 1e-3)
    assert run["settings"]["lr"] == 1e-3
    rows = (out / "metrics.csv").read_text().splitlines()
    lr_col = rows[0].split(",").index("lr")
    assert [float(r.split(",")[lr_col]) for r in rows[1:]] == [1e-3, 1e-3]
    weights.unlink()  # evaluation rebuilds the model from the checkpoint alone
    res = CliRunner().invoke(aqa_group(), ["eval-aqa", str(out), "--split", "val", "--exemplars", "2",
                                           "--device", "cpu", "--threads", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["queries"] == 2


@pytest.mark.usefixtures("one_thread")
def test_micro_mcore_resume_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    """Two Adam groups, the constant schedule and frozen BatchNorm survive a stop and --resume exactly."""
    from fdpose.aqa_model.train import TrainOptions, train

    world = make_world(tmp_path / "world")
    cfg = dataclasses.replace(AQAConfig.from_dict({**MICRO, "frame_resize": []}, base=preset("mcore")),
                              regnet_gsm=True)

    def options(out: Path, **kw: object) -> TrainOptions:
        base = dict(out_dir=out, annotations=world / "annotations", frames_root=world / "frames",
                    poses_root=world / "poses", config=cfg, epochs=2, batch_size=4, seed=0, val_share=0.25,
                    val_exemplars=2, device="cpu", threads=1, progress=False, final_test=False)
        base.update(kw)
        return TrainOptions(**base)  # type: ignore[arg-type]

    full = train(options(tmp_path / "a"))
    part = train(options(tmp_path / "b", stop_after=1))
    assert full.finished and not part.finished
    resumed = train(TrainOptions(out_dir=tmp_path / "b", resume=True, device="cpu", threads=1, progress=False,
                                 final_test=False))
    assert resumed.finished
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert [g["lr"] for g in a["optimizer"]["param_groups"]] == [1e-3, pytest.approx(1e-4)]
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert a["scheduler"] == b["scheduler"]
    # the frozen static BatchNorms kept their initial statistics through both runs
    assert all(torch.equal(v, torch.zeros_like(v)) for k, v in a["model"].items()
               if k.startswith("static_encoder.") and k.endswith("running_mean"))


def test_cyclic_schedule_is_hpmcores_cosine_with_t_max_20() -> None:
    cfg = preset("hpmcore")
    assert (cfg.lr_schedule, cfg.lr_cycle_epochs, cfg.code_lr, cfg.static_lr_factor, cfg.static_frozen_bn) == (
        "cyclic", 20, 1e-3, 0.1, True)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=1e-3)
    sched = build_scheduler(opt, cfg, epochs=201)
    lrs = []
    for _ in range(60):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # lr_e = 1e-3 (1 + cos(pi e / 20)) / 2 for every epoch e, well past T_max: 0 at 20 and 60, 1e-3 at 40
    assert lrs == pytest.approx([1e-3 * (1 + math.cos(math.pi * e / 20)) / 2 for e in range(60)], abs=1e-12)
    assert lrs[20] == pytest.approx(0.0, abs=1e-12) and lrs[40] == pytest.approx(1e-3)
