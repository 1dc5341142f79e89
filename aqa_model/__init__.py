"""HP-MCoRe / MCoRe action-quality assessment on FineDiving(-Pose) (method.md 3, 4).

Modules (one component each, docstrings cite method.md's equations):

* ``config``: :class:`AQAConfig` with every ablation as a switch; presets ``full``, ``tiny``,
  ``mcore``; JSON/YAML load/save (a file overrides a preset).
* ``encoders``: static (ResNet + multi-branch downsampling), i3d (Inception-I3D + mixed
  temporal convolutions), skeletal (hierarchical GCN + EdgeConv), frame2d (MCoRe's 2D CNN with
  temporal shift); local loaders for torchvision ResNet-50 and kinetics_i3d_pytorch weights.
* ``segmentation``: Bi-GRU / FC / TCN transition heads, decoding, CE loss, stage cutting;
  ``asformer``: the ASFormer-style head (Table VI).
* ``fusion``: pose-guided attention A = A_v + lambda A_p (Eq. 8-11).
* ``contrastive``: stage-wise contrastive loss; InfoNCE / triplet alternatives (Eq. 12-15).
* ``regression``: per-stage decoders, stage MLPs, normalised stage weights (Eq. 16-20); the
  DD mode's target (score / difficulty) and its inverse (Table II).
* ``data``: FineDiving clips and exemplars; ``data.mtlaqa``: MTL-AQA annotations (Table II).
* ``model``: :class:`HPMCoRe` with ``encode`` (per video, cacheable), ``compare`` (per pair),
  ``vote`` and ``losses``.
* ``metrics``: SRCC, L2, relative L2 (range stated), AIoU@theta.
* ``cost``: parameter counts and FLOPs per query.
"""
