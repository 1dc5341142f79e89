"""HP-MCoRe / MCoRe wired from an :class:`AQAConfig` (method.md 3, 4).

The model is split at the point method.md 3.5's cost note names: everything up to the stage
features depends on ONE video, everything after is pairwise.

* :meth:`HPMCoRe.encode` (per video): encoders (DVE / SVE / HSE, or MCoRe's 2D backbone) ->
  procedure segmentation -> cutting into K stages (ground-truth transitions when given, as the
  public code does in training; predicted ones otherwise) -> per-stage reducers -> per-stage
  pose-guided fusion. Returns a :class:`VideoEncoding`, which can be cached and reused for
  every query an exemplar is compared with (eval mode: BatchNorm uses running statistics,
  so a video's encoding does not depend on what else is in the batch).
* :meth:`HPMCoRe.compare` (per pair): per-stage decoders + MLPs -> S_q = S_e + delta.
* :meth:`HPMCoRe.losses`: MSE (both directions, as the public code) + segmentation CE +
  lambda * contrastive, with a dict of the parts. The regressor's output is in units of
  ``config.score_scale`` points (1.0 = raw points as the papers); :meth:`compare` returns
  points, the MSE is taken in those units.

Branches: ``"motion"`` = the motion visual stream (I3D features, or the per-frame 2D backbone's
with ``backbone="frame2d"``, the earlier MCoRe configuration; the ``mcore`` preset runs MCoRe's
RegNetY-002-GSM stream as the ``"static"`` branch instead), fused with the pose stream when HSE is on (pose-guided attention, Eq. 8-11; with
``fused_pose_values`` the stage reducer also reads the skeletal features concatenated to the
visual ones, so the pose enters the fused features as values, not only as attention
weights); with DVE off but HSE on it is the pose stream alone ("HSE alone" ablation). ``"static"`` = the static visual stream (SVE on).
Segmentation runs on the motion visual stream if present, else static, else pose (method.md
3.2: "a bidirectional GRU over the dynamic features"); with ``segmentation_input="static"``
on the per-frame static (RegNetY-002-GSM) features, as HP-MCoRe's and MCoRe's code do (the
``hpmcore`` preset); or with ``segmentation_input="all"`` on every per-frame stream
concatenated: a small randomly initialised I3D gives coarse clip-level features from which the
transitions are learnt slowly, while the skeleton marks take-off and entry frame by frame.

I3D features are spread from the clip centres onto the frames and cut there
(``i3d_stage_axis="frames"``), or, as HP-MCoRe's code does (``"clips"``), the N clip vectors
themselves are cut at ``transition // clip_stride``; the per-frame spread then only feeds a
segmentation head that reads the motion stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from fdpose.aqa_model.config import AQAConfig
from fdpose.aqa_model.asformer import ASFormerSpec
from fdpose.aqa_model.contrastive import StageContrast
from fdpose.aqa_model.encoders.frame2d import Frame2DBackbone
from fdpose.aqa_model.encoders.hdgcn import HDGCNEncoder
from fdpose.aqa_model.encoders.i3d import DynamicVisualEncoder
from fdpose.aqa_model.encoders.regnet import RegNetGSMEncoder, freeze_batchnorm
from fdpose.aqa_model.encoders.skeletal import HierarchicalSkeletalEncoder
from fdpose.aqa_model.encoders.static import StaticVisualEncoder
from fdpose.aqa_model.fusion import PoseGuidedFusion
from fdpose.aqa_model.regression import ContrastiveRegressor
from fdpose.aqa_model.segmentation import ProcedureSegmenter, cut_stages, segmentation_loss_all
from fdpose.errors import ConfigError, ValidationError
from fdpose.skeleton import NUM_JOINTS


@dataclass
class VideoEncoding:
    """Everything the pairwise part needs about a batch of B videos.

    stages: branch -> (B, K, L, d) stage features; pose_stages is folded in already.
    seg_logits: (B, T, K-1) segmentation logits (None when K = 1).
    pred_transitions: (B, K-1) decoded transitions (long); cut_transitions: (B, K-1) the
    transitions the stages were cut at (ground truth in training, else = pred_transitions).
    seg_aux: (B, S-1, T, K-1) earlier stages' segmentation logits (the ASFormer head's encoder and
    first decoders, supervised too), None for single-stage heads.
    """

    stages: dict[str, torch.Tensor]
    seg_logits: torch.Tensor | None
    pred_transitions: torch.Tensor
    cut_transitions: torch.Tensor
    seg_aux: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return next(iter(self.stages.values())).shape[0]

    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> "VideoEncoding":
        return VideoEncoding(
            {k: fn(v) for k, v in self.stages.items()},
            None if self.seg_logits is None else fn(self.seg_logits),
            fn(self.pred_transitions), fn(self.cut_transitions),
            None if self.seg_aux is None else fn(self.seg_aux),
        )

    def select(self, index: int | slice | Sequence[int] | torch.Tensor) -> "VideoEncoding":
        """Rows of the batch (an int keeps a batch dimension of 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        elif not isinstance(index, slice):
            index = torch.as_tensor(index, dtype=torch.long)
        return self._map(lambda t: t[index.to(t.device) if isinstance(index, torch.Tensor) else index])

    def detach(self) -> "VideoEncoding":
        return self._map(torch.Tensor.detach)

    def to(self, device: torch.device | str) -> "VideoEncoding":
        return self._map(lambda t: t.to(device))

    @staticmethod
    def cat(encodings: Sequence["VideoEncoding"]) -> "VideoEncoding":
        first = encodings[0]
        return VideoEncoding(
            {k: torch.cat([e.stages[k] for e in encodings]) for k in first.stages},
            None if first.seg_logits is None else torch.cat([e.seg_logits for e in encodings]),  # type: ignore[misc]
            torch.cat([e.pred_transitions for e in encodings]),
            torch.cat([e.cut_transitions for e in encodings]),
            None if first.seg_aux is None else torch.cat([e.seg_aux for e in encodings]),  # type: ignore[misc]
        )


@dataclass
class CompareOutput:
    """score (B,) = exemplar_score + delta; delta (B,); stage_deltas (B, K); stage_weights (K,)."""

    score: torch.Tensor
    delta: torch.Tensor
    stage_deltas: torch.Tensor
    stage_weights: torch.Tensor
    branch_deltas: dict[str, torch.Tensor]


def _reducer(in_dim: int, dim: int, hidden: str = "double_out") -> nn.Module:
    """Per-stage dimension reducer: two ReLU linear layers, hidden width 2 x dim (``double_out``) or
    in_dim + 128 (``in_plus_128``, HP-MCoRe's code's ``C_channel``)."""
    mid = in_dim + 128 if hidden == "in_plus_128" else 2 * dim
    return nn.Sequential(nn.Linear(in_dim, mid), nn.ReLU(), nn.Linear(mid, dim), nn.ReLU())


class HPMCoRe(nn.Module):
    """The configurable HP-MCoRe / MCoRe model (see module docstring)."""

    def __init__(self, config: AQAConfig) -> None:
        super().__init__()
        self.config = cfg = config.validate()
        k, d = cfg.num_stages, cfg.d_model
        self.motion_encoder: nn.Module | None = None
        motion_dim = 0
        if cfg.use_dve:
            if cfg.backbone == "i3d":
                self.motion_encoder = DynamicVisualEncoder(cfg.num_frames, cfg.clip_len, cfg.clip_stride,
                                                           cfg.i3d_width, cfg.mixed_conv_layers, cfg.i3d_weights,
                                                           clip_starts=cfg.clip_starts(), pool=cfg.i3d_pool,
                                                           bn_eps=cfg.i3d_bn_eps)
            else:
                self.motion_encoder = Frame2DBackbone(cfg.frame2d_widths, cfg.frame2d_depths, cfg.frame2d_group_width,
                                                      cfg.frame2d_stem, cfg.temporal_shift_div)
            motion_dim = self.motion_encoder.out_dim
        self.static_encoder: nn.Module | None = None
        if cfg.use_sve and cfg.static_encoder == "regnet_gsm":
            self.static_encoder = RegNetGSMEncoder(cfg.regnet_widths, cfg.regnet_depths, cfg.regnet_group_width,
                                                   cfg.regnet_stem, gsm=cfg.regnet_gsm, weights=cfg.regnet_weights)
        elif cfg.use_sve:
            self.static_encoder = StaticVisualEncoder(cfg.resnet_layers, cfg.resnet_width, cfg.static_dim,
                                                      cfg.resnet_weights)
        static_dim = cfg.static_dim_out
        self.pose_encoder: nn.Module | None = None
        if cfg.use_hse and cfg.skeletal_encoder == "hdgcn":  # HP-MCoRe's code
            self.pose_encoder = HDGCNEncoder(cfg.pose_channels, cfg.skeletal_channels, cfg.edgeconv_k,
                                             cfg.skeletal_temporal_kernel, cfg.skeletal_classifier_classes)
        elif cfg.use_hse:
            self.pose_encoder = HierarchicalSkeletalEncoder(cfg.pose_channels, cfg.skeletal_channels,
                                                            cfg.skeletal_hierarchy, cfg.skeletal_levels, cfg.edgeconv,
                                                            cfg.edgeconv_k, cfg.skeletal_temporal_kernel,
                                                            cfg.pose_body_frame)
        pose_dim = self.pose_encoder.out_dim if self.pose_encoder is not None else 0

        if cfg.segmentation_input == "static" and not cfg.use_sve:
            raise ConfigError("segmentation_input 'static' needs the static encoder (use_sve)")
        if cfg.segmentation_input == "all":
            seg_dim = motion_dim + (static_dim if cfg.use_sve else 0) + pose_dim
        elif cfg.segmentation_input == "static":
            seg_dim = static_dim
        else:
            seg_dim = motion_dim or (static_dim if cfg.use_sve else pose_dim)
        self.segmenter = (ProcedureSegmenter(cfg.segmentation_head, seg_dim, k, cfg.segmentation_hidden,
                                             cfg.segmentation_dropout, ASFormerSpec.from_config(cfg))
                          if k >= 2 else None)

        self.branches: tuple[str, ...] = tuple(
            b for b, on in (("motion", cfg.use_dve or cfg.use_hse), ("static", cfg.use_sve)) if on)
        motion_in = motion_dim + pose_dim if (cfg.fused_pose_values and motion_dim) else (motion_dim or pose_dim)
        in_dims = {"motion": motion_in, "static": static_dim}
        if not cfg.stage_reducer and any(in_dims[b] != d for b in self.branches):
            raise ConfigError(f"stage_reducer false needs d_model = the branch features' width "
                              f"({', '.join(f'{b} {in_dims[b]}' for b in self.branches)}), got {d}")
        # stage_reducer false (MCoRe's code): the features reach the decoder as they are
        self.reducers = nn.ModuleDict({
            b: nn.ModuleList((_reducer(in_dims[b], d, cfg.reducer_hidden) if cfg.stage_reducer else nn.Identity())
                             for _ in range(k))
            for b in self.branches})
        self.fusion: nn.ModuleList | None = None
        if "motion" in self.branches and cfg.fusion != "none":
            guide = pose_dim if (cfg.use_dve and cfg.use_hse) else None
            self.fusion = nn.ModuleList(
                PoseGuidedFusion(d, guide, cfg.fusion_heads, cfg.fusion, cfg.fusion_lambda_init,
                                 prenorm=cfg.fusion_prenorm, qkv_bias=cfg.fusion_qkv_bias) for _ in range(k))
        self.contrast = (nn.ModuleDict({
            b: StageContrast(d, cfg.projection_dim, cfg.contrastive, cfg.temperature, cfg.triplet_margin,
                             cfg.contrastive_projection)
            for b in self.branches}) if cfg.contrastive != "none" else None)
        self.regressor = ContrastiveRegressor(self.branches, k, d, cfg.decoder_heads, cfg.decoder_layers,
                                              cfg.mlp_hidden, cfg.shared_decoder, cfg.learned_stage_weights,
                                              cfg.decoder_qkv_bias)

    def train(self, mode: bool = True) -> "HPMCoRe":
        """``nn.Module.train``; with ``static_frozen_bn`` the static encoder's BatchNorms stay in eval
        mode (the codes' ``fix_bn``: running statistics frozen, affine weights still trained)."""
        super().train(mode)
        if mode and self.config.static_frozen_bn and self.static_encoder is not None:
            freeze_batchnorm(self.static_encoder)
        return self

    # ------------------------------------------------------------------ per video
    def _check_inputs(self, video: torch.Tensor | None, pose: torch.Tensor | None) -> None:
        cfg = self.config
        if (cfg.use_dve or cfg.use_sve):
            size = (cfg.num_frames, 3, cfg.frame_size, cfg.frame_size)
            if video is None or video.dim() != 5 or tuple(video.shape[1:]) != size:
                got = None if video is None else tuple(video.shape)
                raise ValidationError(f"video must be (B, {', '.join(map(str, size))}), got {got}")
        if cfg.use_hse:
            size = (cfg.num_frames, NUM_JOINTS, cfg.pose_channels)
            if pose is None or pose.dim() != 4 or tuple(pose.shape[1:]) != size:
                got = None if pose is None else tuple(pose.shape)
                raise ValidationError(f"pose must be (B, {', '.join(map(str, size))}), got {got}")

    def encode(self, video: torch.Tensor | None = None, pose: torch.Tensor | None = None,
               transitions: torch.Tensor | None = None) -> VideoEncoding:
        """video (B, T, 3, S, S), pose (B, T, 16, C) -> :class:`VideoEncoding`.

        transitions: optional (B, K-1) ground-truth frames to cut at (training); default the
        predicted transitions. Inputs of switched-off encoders may be None.
        """
        self._check_inputs(video, pose)
        cfg = self.config
        # i3d_stage_axis "clips" (HP-MCoRe's code): the stages are cut from the N clip vectors themselves
        clip_axis = isinstance(self.motion_encoder, DynamicVisualEncoder) and cfg.i3d_stage_axis == "clips"
        motion_clips = self.motion_encoder.clip_features(video) if clip_axis else None  # (B, N, C)
        motion = self.motion_encoder(video) if (self.motion_encoder is not None and not clip_axis) else None
        static = self.static_encoder(video) if self.static_encoder is not None else None
        skel = self.pose_encoder(pose) if self.pose_encoder is not None else None
        if cfg.segmentation_input == "static":
            seg_input = static
        else:
            if motion_clips is not None:  # per-frame motion features for the segmentation head only
                motion_frames = self.motion_encoder.to_frames(motion_clips)
            else:
                motion_frames = motion
            streams = [f for f in (motion_frames, static, skel) if f is not None]
            seg_input = torch.cat(streams, dim=-1) if cfg.segmentation_input == "all" else streams[0]
        assert seg_input is not None
        b = seg_input.shape[0]
        aux: torch.Tensor | None = None
        if self.segmenter is not None:
            all_logits, pred = self.segmenter.forward_stages(seg_input)  # (B, S, T, K-1): S > 1 for ASFormer
            logits = all_logits[:, -1]
            aux = all_logits[:, :-1] if all_logits.shape[1] > 1 else None
        else:
            logits, pred = None, torch.zeros(b, 0, dtype=torch.long, device=seg_input.device)
        cut = pred if transitions is None else transitions.to(seg_input.device).long()
        if cut.shape != (b, cfg.num_transitions):
            raise ValidationError(f"transitions must be (B, {cfg.num_transitions}), got {tuple(cut.shape)}")

        def staged(features: torch.Tensor | None, at: torch.Tensor) -> list[torch.Tensor] | None:
            return None if features is None else cut_stages(features, at, cfg.stage_len, cfg.stage_cut == "half_open",
                                                            1 if cfg.stage_cut == "last_lead" else 0)

        if motion_clips is not None:
            # the code's transition // 10: the clip starting at or before the transition frame
            motion_st = staged(motion_clips, torch.div(cut, cfg.clip_stride, rounding_mode="floor"))
        else:
            motion_st = staged(motion, cut)
        static_st, pose_st = staged(static, cut), staged(skel, cut)
        stages: dict[str, torch.Tensor] = {}
        if "motion" in self.branches:
            base = motion_st if motion_st is not None else pose_st
            assert base is not None
            if cfg.fused_pose_values and motion_st is not None and pose_st is not None:
                base = [torch.cat([m, p], dim=-1) for m, p in zip(motion_st, pose_st)]
            per_stage = []
            for kk, reducer in enumerate(self.reducers["motion"]):
                x = reducer(base[kk])
                if self.fusion is not None:
                    guide = pose_st[kk] if (pose_st is not None and motion_st is not None) else None
                    x = self.fusion[kk](x, guide)
                per_stage.append(x)
            stages["motion"] = torch.stack(per_stage, dim=1)
        if "static" in self.branches:
            assert static_st is not None
            stages["static"] = torch.stack([r(static_st[kk]) for kk, r in enumerate(self.reducers["static"])], dim=1)
        return VideoEncoding(stages, logits, pred, cut, aux)

    # ------------------------------------------------------------------ per pair
    def compare(self, query: VideoEncoding, exemplar: VideoEncoding, exemplar_score: torch.Tensor) -> CompareOutput:
        """Predict S_q = S_e + delta for B aligned (query, exemplar) pairs; exemplar_score (B,)."""
        out = self.regressor(query.stages, exemplar.stages)
        scale = self.config.score_scale  # the regressor works in units of score_scale points
        delta = out.delta * scale
        score = exemplar_score.to(device=delta.device, dtype=delta.dtype).reshape(-1) + delta
        return CompareOutput(score, delta, out.stage_deltas * scale, out.stage_weights,
                             {b: d * scale for b, d in out.branch_deltas.items()})

    def vote(self, query: VideoEncoding, exemplars: Sequence[VideoEncoding],
             exemplar_scores: Sequence[torch.Tensor]) -> torch.Tensor:
        """Multi-exemplar voting (method.md 3.5): mean of the N predicted scores -> (B,)."""
        preds = [self.compare(query, e, s).score for e, s in zip(exemplars, exemplar_scores)]
        return torch.stack(preds).mean(dim=0)

    def forward(self, query_video: torch.Tensor | None, query_pose: torch.Tensor | None,
                exemplar_video: torch.Tensor | None, exemplar_pose: torch.Tensor | None,
                exemplar_score: torch.Tensor) -> CompareOutput:
        """Encode both videos and compare (the un-cached path)."""
        return self.compare(self.encode(query_video, query_pose), self.encode(exemplar_video, exemplar_pose),
                            exemplar_score)

    # ------------------------------------------------------------------ training objective
    def losses(self, query: VideoEncoding, exemplar: VideoEncoding, query_score: torch.Tensor,
               exemplar_score: torch.Tensor, query_transitions: torch.Tensor | None = None,
               exemplar_transitions: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """MSE(both directions) + CE(segmentation) + lambda * contrastive -> (total, parts).

        Transitions default to the ones each encoding was cut at (pass ground truth to
        :meth:`encode` in training). parts: total, mse, ce, contrastive (python floats).
        """
        cfg = self.config
        device = next(iter(query.stages.values())).device
        sq = query_score.reshape(-1).to(device=device, dtype=torch.float32)
        se = exemplar_score.reshape(-1).to(device=device, dtype=torch.float32)
        fwd = self.compare(query, exemplar, se)
        bwd = self.compare(exemplar, query, sq)
        scale = cfg.score_scale  # MSE in units of score_scale points (1.0: raw points, the papers)
        mse = F.mse_loss(fwd.delta / scale, (sq - se) / scale) + F.mse_loss(bwd.delta / scale, (se - sq) / scale)
        zero = mse.new_zeros(())
        ce = zero
        if query.seg_logits is not None and exemplar.seg_logits is not None:
            qt = query.cut_transitions if query_transitions is None else query_transitions
            et = exemplar.cut_transitions if exemplar_transitions is None else exemplar_transitions
            w = cfg.segmentation_transition_weights
            # ASFormer: every stage's output supervised, the CEs summed (seg_aux); other heads: seg_aux None
            ce = 0.5 * (segmentation_loss_all(query.seg_logits, qt.to(mse.device), w, query.seg_aux)
                        + segmentation_loss_all(exemplar.seg_logits, et.to(mse.device), w, exemplar.seg_aux))
        contrast = zero
        if self.contrast is not None:
            per_branch = torch.stack([self.contrast[b](query.stages[b], exemplar.stages[b]) for b in self.branches])
            # HP-MCoRe's code: lambda x each branch's loss, summed; paper text: lambda x their mean
            contrast = per_branch.sum() if cfg.contrastive_branch_sum else per_branch.mean()
        total = mse + ce + cfg.lambda_contrastive * contrast
        parts = {"total": float(total.detach()), "mse": float(mse.detach()), "ce": float(ce.detach()),
                 "contrastive": float(contrast.detach())}
        return total, parts

