"""Per-video encoders of HP-MCoRe / MCoRe (method.md 3.1, 4).

static.py (SVE: ResNet + multi-branch downsampling), i3d.py (DVE: Inception-I3D over clips +
mixed temporal convolutions), skeletal.py (HSE: hierarchical graph convolutions + EdgeConv),
frame2d.py (MCoRe's per-frame 2D CNN with temporal shift). Each maps one batch of videos or
poses to per-frame features (B, T, C).
"""

from fdpose.aqa_model.encoders.frame2d import Frame2DBackbone
from fdpose.aqa_model.encoders.i3d import DynamicVisualEncoder, InceptionI3D, load_kinetics_i3d
from fdpose.aqa_model.encoders.skeletal import HierarchicalSkeletalEncoder, hierarchy_adjacency, skeletal_adjacency
from fdpose.aqa_model.encoders.static import ResNet, StaticVisualEncoder, load_torchvision_resnet

__all__ = [
    "DynamicVisualEncoder", "Frame2DBackbone", "HierarchicalSkeletalEncoder", "InceptionI3D", "ResNet",
    "StaticVisualEncoder", "hierarchy_adjacency", "load_kinetics_i3d", "load_torchvision_resnet",
    "skeletal_adjacency",
]
