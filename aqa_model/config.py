"""Model configuration: one dataclass, every ablation of the papers a switch (method.md 3, 4).

Presets (built in :mod:`fdpose.aqa_model.presets`):

* ``hpmcore`` (the default of ``train-aqa``): HP-MCoRe as its official code builds it (commit 6bce799 of
  github:Lumos0507/HP-MCoRe, method.md 3.8), the code that produced the paper's numbers: RegNetY-002-GSM
  static branch, I3D averaged per clip, HD-GCN skeletal branch, ``C_channel`` reducers, pre-norm fusion
  with the pose term on the logits, one shared decoder per branch, BiGRU segmentation over the static
  features, stage-mean contrastive loss (tau 0.1, each branch x10). :data:`fdpose.aqa_model.presets.HPMCORE_FIELDS` lists every
  field it sets; each is one paper/code difference, so each is an ablation (``docs/aqa.md`` maps
  method.md 3.8 item by item; its size and cost: ``docs/aqa.md``, ``benchmarks/aqa.py``).
* ``paper`` (alias ``full``, kept for existing configs and runs; it logs that it is an alias):
  HP-MCoRe as the paper's text describes it, at the paper's sizes (I3D + ResNet-50 + five-ring skeletal encoder,
  3 stages, BiGRU segmentation, weighted pose-guided fusion, stage-wise contrastive loss).
* ``tiny``: the same code with small widths, 32 frames of 32x32 and 8-frame clips, for CPU
  (tests, demos). It is the paper's "HSE alone" ablation: the skeletal encoder on, the
  visual encoders (DVE, SVE) OFF, because that is the variant that learns on CPU budgets
  (randomly initialised visual encoders memorise a few dozen clips instead of learning
  execution; the runs are in ``docs/aqa.md``, "The tiny preset"). ``{"preset": "tiny",
  "use_dve": true, "use_sve": true}`` gives the three-encoder model at the same widths, with
  three departures from the paper that it needs at 32x32: frames cropped around the diver from
  the pose file (``video_crop="diver"``: a diver resized to a few pixels is often cut out by the
  centre crop); the fused branch's stage reducer reads the skeletal features next to the visual
  ones (``fused_pose_values``: with Eq. 11 alone the pose only re-weights visual tokens that
  barely differ between videos early in training); segmentation reads all streams
  (``segmentation_input="all"``: the tiny I3D alone learns the transitions slowly). Score
  differences are regressed in units of 10 points (``score_scale``) so that a few hundred steps
  reach the scale of the targets; the skeletal encoder sees body-relative poses
  (``pose_body_frame``), without which it does not learn execution on synthetic worlds.
* ``mcore``: MCoRe as its official code builds it (github:Angel-1999/MCoRe; method.md 3.8 end, 4;
  docs/aqa_pretrained.md maps it item by item): RegNetY-002 with gate-shift modules per frame
  (``static_encoder="regnet_gsm"``, ImageNet weights from ``--static-weights``), its 368-d features
  used directly (``stage_reducer=False``, ``d_model=368``), BiGRU segmentation (hidden 368,
  ``segmentation_dropout`` 0.5, the second transition's CE x2: ``segmentation_transition_weights``),
  3 stages cut half-open (``stage_cut``) of 5 steps, ONE decoder shared by the stages (3 layers,
  8 heads, no q/k/v biases), stage deltas averaged (``learned_stage_weights=False``), the token-level
  contrastive loss (``contrastive="token"``, tau 0.5, weight 10); no pose, no fusion; Adam at lr
  1e-3 without schedule (``code_lr``, ``lr_schedule="constant"``), the RegNet at 0.1 x lr with its
  BatchNorms in eval mode (``static_lr_factor``, ``static_frozen_bn``); frames resized to 200x112
  before the 112 crop (``frame_resize``; PIL's nearest pixels, ``frame_resize_filter``); query and
  exemplar as one batch (``pair_encoding``); ``--protocol official`` tests after every epoch
  (``code_test_every``). The former
  ``mcore`` (a gate-less shift backbone as the
  motion stream, 256-d reducers, per-stage 2-layer decoders, stage length 10, stage-mean contrastive
  loss) is ``{"preset": "mcore", "use_dve": true, "backbone": "frame2d", "use_sve": false,
  "stage_reducer": true, "d_model": 256, "shared_decoder": false, "decoder_layers": 2,
  "decoder_heads": 4, "learned_stage_weights": true, "stage_len": 10, "segmentation_hidden": 256,
  "contrastive": "stagewise", "segmentation_dropout": 0.0, "segmentation_transition_weights": [],
  "stage_cut": "inclusive", "decoder_qkv_bias": true, "static_lr_factor": 1.0,
  "static_frozen_bn": false, "lr_schedule": "cosine", "code_lr": null, "frame_resize": [],
  "frame_resize_filter": "area", "pair_encoding": "separate", "code_test_every": null}``.

A config FILE (JSON or YAML) may name a ``preset`` and override any field; fields it does not
name keep the preset's values (:func:`fdpose.aqa_model.presets.load_config`). ``"input_layout": "mtl_aqa"`` in a file
switches to MTL-AQA's input (103 frames, 10 overlapping 16-frame I3D segments,
:func:`fdpose.aqa_model.presets.mtl_aqa_input`); the default is FineDiving's (96 frames, 9 segments).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from fdpose.errors import ConfigError

log = logging.getLogger(__name__)

Backbone = Literal["i3d", "frame2d"]
SegmentationHead = Literal["bigru", "fc", "tcn", "asformer"]
StageSplit = Literal["takeoff", "entry"]
ASFormerWindow = Literal["sliding", "block"]
ASFormerDecoderInput = Literal["columns", "peak"]
FusionMode = Literal["weighted", "addition", "dot", "logits", "none"]
ContrastiveMode = Literal["stagewise", "infonce", "triplet", "token", "none"]
SkeletalHierarchy = Literal["rings", "semantic"]
VideoCrop = Literal["frame", "diver"]
SegmentationInput = Literal["motion", "all", "static"]
StaticEncoder = Literal["resnet", "regnet_gsm"]
StageCut = Literal["inclusive", "half_open", "last_lead"]
LRSchedule = Literal["cosine", "constant", "cyclic"]
# ----- C1 block types (hpmcore) -----
SkeletalEncoder = Literal["hse", "hdgcn"]
I3DPool = Literal["max", "avg"]
I3DStageAxis = Literal["frames", "clips"]
ReducerHidden = Literal["double_out", "in_plus_128"]
ScoreTarget = Literal["final", "dd"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "backbone": ("i3d", "frame2d"),
    "segmentation_head": ("bigru", "fc", "tcn", "asformer"),
    "stage_split": ("takeoff", "entry"),
    "asformer_window": ("sliding", "block"),
    "asformer_decoder_input": ("columns", "peak"),
    "fusion": ("weighted", "addition", "dot", "logits", "none"),
    "contrastive": ("stagewise", "infonce", "triplet", "token", "none"),
    "skeletal_hierarchy": ("rings", "semantic"),
    "video_crop": ("frame", "diver"),
    "segmentation_input": ("motion", "all", "static"),
    "static_encoder": ("resnet", "regnet_gsm"),
    "stage_cut": ("inclusive", "half_open", "last_lead"),
    "lr_schedule": ("cosine", "constant", "cyclic"),
    "skeletal_encoder": ("hse", "hdgcn"),
    "i3d_pool": ("max", "avg"),
    "i3d_stage_axis": ("frames", "clips"),
    "reducer_hidden": ("double_out", "in_plus_128"),
    "score_target": ("final", "dd"),
    "frame_resize_filter": ("area", "nearest"),
    "pair_encoding": ("separate", "joint"),
}


@dataclass
class AQAConfig:
    """All model hyper-parameters. Shapes: videos (B, T=num_frames, 3, S, S), poses (B, T, 16, C)."""

    name: str = "full"
    # --- input ---
    num_frames: int = 96  # method.md 2.2 step 6: 96 sampled frames per dive
    frame_size: int = 112  # square crop side (public code: resize 200x112, crop 112)
    pose_channels: int = 3  # x, y, confidence (pred_comp_*.npz 'pred' (96, 16, 3))
    # How frames become frame_size squares (data.finediving): "frame" = short-side resize +
    # centre crop (public code); "diver" = a window following the diver's joints from the clip's
    # pose file, diver_crop_scale x the diver's extent (needs poses even with HSE off).
    video_crop: VideoCrop = "frame"
    diver_crop_scale: float = 1.5
    # --- which encoders (ablations: DVE / SVE / HSE on-off) ---
    backbone: Backbone = "i3d"  # motion visual encoder: I3D (HP-MCoRe DVE) or frame-level 2D (MCoRe)
    use_dve: bool = True  # motion visual encoder on/off (I3D, or the 2D backbone when backbone=frame2d)
    use_sve: bool = True  # static visual encoder (ResNet + multi-branch downsampling)
    use_hse: bool = True  # hierarchical skeletal encoder
    # --- dynamic visual encoder (I3D, method.md 3.1) ---
    i3d_width: float = 1.0  # channel multiplier of Inception-I3D (1.0 = Kinetics model)
    clip_len: int = 16
    clip_stride: int = 10  # clips start at 0, 10, ..., 80 of 96 (9 clips)
    # Explicit clip starts (overrides clip_stride when non-empty). MTL-AQA's input layout
    # (:func:`fdpose.aqa_model.presets.mtl_aqa_input`): 103 frames per dive in 10 overlapping 16-frame segments starting
    # at 0, 10, ..., 80 and 87, the last one flush with the end.
    clip_starts_explicit: tuple[int, ...] = ()
    mixed_conv_layers: int = 3
    # --- static visual encoder ---
    resnet_layers: tuple[int, ...] = (3, 4, 6, 3)  # ResNet-50
    resnet_width: int = 64
    static_dim: int = 512  # output of the multi-branch downsampling module
    # --- frame-level 2D backbone (MCoRe) ---
    frame2d_widths: tuple[int, ...] = (24, 56, 152, 368)  # RegNetY-002
    frame2d_depths: tuple[int, ...] = (1, 1, 4, 7)
    frame2d_group_width: int = 8
    frame2d_stem: int = 32
    temporal_shift_div: int = 8  # 1/8 of channels shifted each way (TSM)
    # --- hierarchical skeletal encoder ---
    skeletal_hierarchy: SkeletalHierarchy = "rings"  # public five-ring (4,3,16,16) or 3 semantic levels
    skeletal_levels: tuple[int, ...] = ()  # indices of the graph branches used; () = all
    skeletal_channels: tuple[int, ...] = (64, 64, 64, 64, 128)  # one entry per block (HD-GCN sizes)
    skeletal_temporal_kernel: int = 5
    # Feed the skeletal encoder body-relative poses (encoders.skeletal.to_body_frame) instead of
    # pixel coordinates: the execution cues are small next to the diver's position in the image.
    pose_body_frame: bool = False
    edgeconv: bool = True
    edgeconv_k: int = 5
    # --- procedure segmentation (method.md 3.2) ---
    num_stages: int = 3  # K; K-1 transitions
    segmentation_head: SegmentationHead = "bigru"
    # What the segmentation head reads: "motion" = the motion visual stream (paper; static, then
    # pose when it is off); "all" = every per-frame stream concatenated (motion, static, pose).
    segmentation_input: SegmentationInput = "motion"
    segmentation_hidden: int = 256
    stage_len: int = 10  # every stage is resampled to this many steps (public code fix_size)
    # ===== B block: Table V's 2* and Table VI's ASFormer head (aqa_model/asformer.py) =====
    # Where K = 2 splits the dive: "takeoff" = take-off | flight+entry (the FineDiving first transit, paper's
    # "2"); "entry" = take-off+flight | entry (the last transit, paper's "2*"). Only num_stages 2 reads it.
    stage_split: StageSplit = "takeoff"
    # ASFormer head (segmentation_head "asformer", aqa_model/asformer.py): encoder of asformer_layers blocks
    # (window and dilation 2^i), asformer_decoders refinement stages of as many blocks, asformer_channels
    # wide: HP-MCoRe's code (6bce799 models/modules.py ASFormerPrediction) 5 layers, 3 decoders, 64, input
    # channels dropped at 0.3 in training. Window "sliding" = the code's fixed mask (frame t attends
    # [t - w//2, t - w//2 + w)), "block" = ASFormer's original (the block of w frames widened by w//2 each
    # side). Decoder input "columns" = the code: softmax over the K-1 transition columns per frame (for
    # K = 2 a constant 1); "peak" = each column's softmax over time divided by its maximum.
    asformer_layers: int = 5
    asformer_decoders: int = 3
    asformer_channels: int = 64
    asformer_window: ASFormerWindow = "sliding"
    asformer_channel_dropout: float = 0.3
    asformer_decoder_input: ASFormerDecoderInput = "columns"
    # ===== end of B block =====
    # --- fusion / decoder / regression (method.md 3.3, 3.4) ---
    d_model: int = 256
    fusion: FusionMode = "weighted"
    fusion_heads: int = 2
    fusion_lambda_init: float = 0.5
    # The fused branch's stage reducer reads [visual, skeletal] features concatenated, so the pose
    # enters the fused features as values too; the paper's Eq. 11 uses it only in the attention
    # map (False), where it can only re-weight visual tokens over time.
    fused_pose_values: bool = False
    decoder_heads: int = 4
    decoder_layers: int = 4
    mlp_hidden: int = 256
    # The regressor predicts delta / score_scale: targets of a few units instead of tens of points
    # (raw FineDiving differences span +-30; an MLP initialised near 0 needs thousands of Adam steps
    # just to reach that scale). 1.0 = the papers' raw differences.
    score_scale: float = 1.0
    # What the regressor learns (Table II's DD): "final" = the final score; "dd" = final score /
    # difficulty (CoRe's and HP-MCoRe's code, flag usingDD / using_DD: the raw ratio, = sum of the
    # three counted judge scores, 0-30), multiplied back by the query's difficulty for every metric.
    score_target: ScoreTarget = "final"
    # --- losses ---
    contrastive: ContrastiveMode = "stagewise"
    temperature: float = 0.5  # paper; the public code uses 0.1
    lambda_contrastive: float = 10.0
    triplet_margin: float = 0.2
    projection_dim: int = 128  # contrastive projection head g
    # --- pretrained weights (local paths only; never downloaded) ---
    i3d_weights: str | None = None
    resnet_weights: str | None = None
    # ===== C2 block: RegNetY-002-GSM static encoder and MCoRe's code (method.md 3.8, 4) =====
    # Static per-frame encoder: "resnet" = ResNet + multi-branch downsampling (paper text, static_dim
    # wide); "regnet_gsm" = RegNetY-002 with gate-shift modules, 368-d (MCoRe's and HP-MCoRe's code,
    # encoders/regnet.py); its weights: a timm regnety_002 state dict (--static-weights).
    static_encoder: StaticEncoder = "resnet"
    regnet_widths: tuple[int, ...] = (24, 56, 152, 368)  # RegNetY-002
    regnet_depths: tuple[int, ...] = (1, 1, 4, 7)
    regnet_group_width: int = 8
    regnet_stem: int = 32
    regnet_gsm: bool = True  # gate shift on every block's first conv (the code); False: frames encoded alone
    regnet_weights: str | None = None
    # Per-stage reducers before fusion / decoders (public HP-MCoRe code); False = MCoRe's code: the
    # encoder's features go to the decoder as they are (d_model must equal their width).
    stage_reducer: bool = True
    # One decoder per branch shared by every stage (MCoRe's and HP-MCoRe's code) instead of one per stage.
    shared_decoder: bool = False
    # Stage deltas combined with learned weights (paper, HP-MCoRe code) or the plain mean (MCoRe's code).
    learned_stage_weights: bool = True
    # Dropout on the BiGRU segmentation head's outputs (both codes: 0.5).
    segmentation_dropout: float = 0.0
    # Per-transition weights of the segmentation CE; () = equal. Both codes' soft targets put 1 on the
    # first transition and 2 on the second: (1.0, 2.0).
    segmentation_transition_weights: tuple[float, ...] = ()
    # Stage k runs to transition k+1 inclusive ("inclusive") or stops the frame before it ("half_open",
    # both codes' seg_pool_1d: [:t1], [t1:t2], [t2:]).
    stage_cut: StageCut = "inclusive"
    # Training (aqa_model/optim.py): the static encoder at static_lr_factor x lr (both codes: 0.1) with
    # its BatchNorms in eval mode (static_frozen_bn: the codes' fix_bn, affine weights still train);
    # lr_schedule "cosine" over the epochs, "constant" (MCoRe's code: no scheduler) or "cyclic" (HP-MCoRe's
    # code: CosineAnnealingLR with T_max = lr_cycle_epochs stepped per epoch, so the rate falls to 0 and
    # climbs back every 2 x lr_cycle_epochs); code_lr = the lr used when train-aqa gets no --lr (None: 5e-4).
    static_lr_factor: float = 1.0
    static_frozen_bn: bool = False
    lr_schedule: LRSchedule = "cosine"
    lr_cycle_epochs: int = 20
    code_lr: float | None = None
    # The run a preset's code makes, used when train-aqa is not told: code_epochs (None: 200) epochs, and
    # for --protocol official code_test_every (None: 0 = HP-MCoRe's schedule, official_test_due; MCoRe's
    # code tests after every epoch: 1).
    code_epochs: int | None = None
    code_test_every: int | None = None
    # A training pair through the encoders: "separate" (the query batch, then the exemplar batch) or "joint"
    # (both codes: torch.cat((video_1, video_2)) before every encoder), which matters for BatchNorm in
    # training mode: joint normalises over the 2B videos and updates the running statistics once per step.
    pair_encoding: str = "separate"
    # ===== end of C2 block =====
    # ===== C1 block: HP-MCoRe's official code (method.md 3.8), the ``hpmcore`` preset =====
    # Defaults keep the paper-text model (``paper``); each field is one code/paper difference.
    # I3D clip pooling: "max" = three mixed convs (mixed_conv_layers) then spatial max-pool (paper text);
    # "avg" = 3D average pooling of each clip's Mixed_5c map to one 1024-d vector (the code, no mixed convs).
    i3d_pool: I3DPool = "max"
    # Where I3D features are cut into stages: "frames" = clip features spread onto the T frames, cut at
    # the transitions; "clips" = the code: the 9 clip vectors cut at transition // clip_stride.
    i3d_stage_axis: I3DStageAxis = "frames"
    # I3D BatchNorm epsilon: 1e-3 (the TF Kinetics model) or 1e-5 (the PyTorch port HP-MCoRe's code runs,
    # kinetics_i3d_pytorch: nn.BatchNorm3d's default); same weights, outputs ~1% apart on random statistics.
    i3d_bn_eps: float = 1e-3
    # Skeletal encoder: "hse" = the paper-text hierarchical encoder (encoders/skeletal.py); "hdgcn" = the
    # code's HD-GCN (encoders/hdgcn.py: 2-channel input, subset GCNs + EdgeConv merged by hierarchy attention,
    # multi-scale temporal conv; widths skeletal_channels, EdgeConv k edgeconv_k).
    skeletal_encoder: SkeletalEncoder = "hse"
    # HD-GCN's classifier head (Linear(128, classes)): the code builds it (60 classes) but never adds its loss;
    # 0 = not built. It only adds parameters.
    skeletal_classifier_classes: int = 0
    # Reducer hidden width: "double_out" = Linear(d_in, 2 d) -> Linear(2 d, d); "in_plus_128" = the code's
    # C_channel Linear(d_in, d_in + 128) -> Linear(d_in + 128, d), both with ReLUs.
    reducer_hidden: ReducerHidden = "double_out"
    # Fusion block norm placement: post-norm (paper Eq. 11) or pre-norm (the code's PoseAttnNet). With
    # fusion "logits" (the code) the pose term w * (e e^T) / 64 is added to the attention logits, e a
    # linear embedding of 0.01 x the skeletal features, w learnable from fusion_lambda_init (code 0.001).
    fusion_prenorm: bool = False
    fusion_qkv_bias: bool = True  # the code's q/k/v projections have no bias (fusion and decoders)
    decoder_qkv_bias: bool = True
    # Contrastive loss on the stage means through a learnable projection g (paper) or on the L2-normalised
    # stage means themselves (the code); branches averaged (False) or summed, each weighted
    # lambda_contrastive (the code: 10 L_con(fused) + 10 L_con(static)).
    contrastive_projection: bool = True
    contrastive_branch_sum: bool = False
    # Frames resized to (H, W) before the frame_size crop (the code: (200, 112), anisotropic); () =
    # short-side resize to frame_size (keeps the aspect ratio).
    frame_resize: tuple[int, ...] = ()
    # How frame_resize samples: "area" (pixel averaging) or "nearest" (the codes' torchvideotransforms
    # Resize defaults to PIL's NEAREST: one source pixel per output pixel, picked as PIL picks it).
    frame_resize_filter: str = "area"
    # ===== end of C1 block =====
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes carried into checkpoints

    # ------------------------------------------------------------------ checks
    def validate(self) -> "AQAConfig":
        """Raise :class:`ConfigError` for inconsistent settings; return self."""
        for key, allowed in _CHOICES.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        if not (self.use_dve or self.use_sve or self.use_hse):
            raise ConfigError("at least one of use_dve, use_sve, use_hse must be on")
        if self.fusion == "none" and self.use_hse and self.use_dve:
            raise ConfigError("fusion 'none' would drop the pose stream: set use_hse false or pick a fusion")
        if not 1 <= self.num_stages <= 3:
            raise ConfigError(f"num_stages must be 1-3, got {self.num_stages}")
        if self.num_frames < 2 * self.num_stages:
            raise ConfigError(f"num_frames {self.num_frames} too small for {self.num_stages} stages")
        if self.use_dve and self.backbone == "i3d":
            if self.clip_len > self.num_frames:
                raise ConfigError(f"clip_len {self.clip_len} > num_frames {self.num_frames}")
            if self.clip_stride < 1:
                raise ConfigError("clip_stride must be >= 1")
            starts = self.clip_starts_explicit
            if starts and (list(starts) != sorted(set(starts)) or starts[0] < 0
                           or starts[-1] + self.clip_len > self.num_frames):
                raise ConfigError(f"clip_starts_explicit must increase within 0..{self.num_frames - self.clip_len}, "
                                  f"got {list(starts)}")
        if self.frame_size < 16:
            raise ConfigError(f"frame_size must be >= 16, got {self.frame_size}")
        if self.d_model % self.fusion_heads or self.d_model % self.decoder_heads:
            raise ConfigError(f"d_model {self.d_model} must divide by fusion_heads and decoder_heads")
        if not self.score_scale > 0:
            raise ConfigError(f"score_scale must be > 0, got {self.score_scale}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {self.temperature}")
        if self.stage_len < 1 or not self.skeletal_channels:
            raise ConfigError("stage_len must be >= 1 and skeletal_channels non-empty")
        if len(self.frame2d_widths) != len(self.frame2d_depths):
            raise ConfigError("frame2d_widths and frame2d_depths differ in length")
        if not self.diver_crop_scale > 0:
            raise ConfigError(f"diver_crop_scale must be > 0, got {self.diver_crop_scale}")
        if self.lr_cycle_epochs < 1:
            raise ConfigError(f"lr_cycle_epochs must be >= 1, got {self.lr_cycle_epochs}")
        if (self.code_epochs is not None and self.code_epochs < 1) or (self.code_test_every is not None
                                                                     and self.code_test_every < 0):
            raise ConfigError(f"code_epochs must be >= 1 and code_test_every >= 0, got {self.code_epochs}, "
                              f"{self.code_test_every}")
        if not self.static_lr_factor > 0 or (self.code_lr is not None and not self.code_lr > 0):
            raise ConfigError(f"static_lr_factor and code_lr must be > 0, got {self.static_lr_factor}, {self.code_lr}")
        if self.stage_split != "takeoff" and self.num_stages != 2:
            raise ConfigError(f"stage_split {self.stage_split!r} needs num_stages 2, got {self.num_stages}")
        if not 0.0 <= self.asformer_channel_dropout < 1.0:
            raise ConfigError(f"asformer_channel_dropout must be in [0, 1), got {self.asformer_channel_dropout}")
        if not (1 <= self.asformer_layers <= 12 and self.asformer_decoders >= 0 and self.asformer_channels >= 2):
            raise ConfigError(f"asformer_layers must be 1-12, asformer_decoders >= 0, asformer_channels >= 2, got "
                              f"{self.asformer_layers}, {self.asformer_decoders}, {self.asformer_channels}")
        if not 0.0 <= self.segmentation_dropout < 1.0:
            raise ConfigError(f"segmentation_dropout must be in [0, 1), got {self.segmentation_dropout}")
        if self.segmentation_transition_weights and len(self.segmentation_transition_weights) != self.num_transitions:
            raise ConfigError(f"segmentation_transition_weights needs {self.num_transitions} values (one per "
                              f"transition), got {list(self.segmentation_transition_weights)}")
        if len(self.regnet_widths) != len(self.regnet_depths) or not self.regnet_widths:
            raise ConfigError("regnet_widths and regnet_depths must be non-empty and of equal length")
        if not self.stage_reducer and self.use_sve and self.static_dim_out != self.d_model:
            raise ConfigError(f"stage_reducer false feeds the static features ({self.static_dim_out}-d) to the "
                              f"decoder directly: d_model must be {self.static_dim_out}, got {self.d_model}")
        if self.frame_resize and (len(self.frame_resize) != 2 or min(self.frame_resize) < self.frame_size):
            raise ConfigError(f"frame_resize must be (H, W), both >= frame_size {self.frame_size}, "
                              f"got {list(self.frame_resize)}")
        if not self.i3d_bn_eps > 0:
            raise ConfigError(f"i3d_bn_eps must be > 0, got {self.i3d_bn_eps}")
        if self.skeletal_encoder == "hdgcn" and any(c % 4 for c in self.skeletal_channels):
            raise ConfigError(f"skeletal_encoder hdgcn needs skeletal_channels divisible by 4, "
                              f"got {list(self.skeletal_channels)}")
        if self.i3d_pool == "avg" and self.mixed_conv_layers:
            raise ConfigError("i3d_pool 'avg' is the code's plain average per clip: set mixed_conv_layers 0")
        if self.pose_channels not in (2, 3):
            raise ConfigError(f"pose_channels must be 2 or 3, got {self.pose_channels}")
        return self

    @property
    def needs_video(self) -> bool:
        """A visual encoder is on: clips need frames."""
        return self.use_dve or self.use_sve

    @property
    def needs_pose(self) -> bool:
        """Clips need pose files: the skeletal encoder is on, or frames are cropped around the diver."""
        return self.use_hse or (self.needs_video and self.video_crop == "diver")

    @property
    def static_dim_out(self) -> int:
        """Width of the static encoder's per-frame features (RegNet: its last stage; ResNet: static_dim)."""
        return self.regnet_widths[-1] if self.static_encoder == "regnet_gsm" else self.static_dim

    @property
    def num_transitions(self) -> int:
        return self.num_stages - 1

    def clip_starts(self) -> list[int]:
        """First frame of every I3D clip: ``clip_starts_explicit`` when given, else 0, stride, ...
        while the clip fits (96/16/10 -> 0..80)."""
        if self.clip_starts_explicit:
            return list(self.clip_starts_explicit)
        return list(range(0, self.num_frames - self.clip_len + 1, self.clip_stride))

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: "AQAConfig | None" = None, source: str | None = None) -> "AQAConfig":
        """Build from a dict, overriding ``base`` (default: the dataclass defaults)."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}", source)
        values = dataclasses.asdict(base) if base is not None else {}
        for key, value in data.items():
            default = getattr(base if base is not None else cls(), key)
            if isinstance(default, tuple) and isinstance(value, list):
                value = tuple(value)
            _check_type(key, value, default, source, names[key])
            values[key] = value
        cfg = cls(**values)
        try:
            return cfg.validate()
        except ConfigError as exc:
            raise ConfigError(exc.message, source) from None


def _check_type(key: str, value: Any, default: Any, source: str | None, spec: dataclasses.Field[Any]) -> None:
    """A config-file value must have its field's type (judged by the default; None defaults take anything,
    None is taken where the field's annotation admits it): ``{"num_frames": "32"}`` is a one-line error,
    not a TypeError deep inside the model."""
    if default is None:
        return
    if value is None and ("None" in str(spec.type) or "Optional" in str(spec.type)):
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, tuple):
        ok = isinstance(value, tuple)
    else:
        ok = True
    if not ok:
        raise ConfigError(f"config key {key!r} must be {type(default).__name__} like its default {default!r}, "
                          f"got {type(value).__name__} {value!r}", source)
