"""Per-video encoders of HP-MCoRe / MCoRe (method.md 3.1, 4).

static.py (SVE: ResNet + multi-branch downsampling), i3d.py (DVE: Inception-I3D over clips +
mixed temporal convolutions), skeletal.py (HSE: hierarchical graph convolutions + EdgeConv),
regnet.py (RegNetY-002 with gate-shift modules: the per-frame encoder of MCoRe's and HP-MCoRe's
code), frame2d.py (a gate-less temporal-shift 2D CNN, the former ``mcore``), hdgcn.py (the code's
HD-GCN). Each maps one batch of videos or poses to per-frame features (B, T, C). weights.py maps
public pretrained state dicts onto them; pretrained.py checks a config's weight files up front.
"""

from fdpose.aqa_model.encoders.frame2d import Frame2DBackbone
from fdpose.aqa_model.encoders.i3d import DynamicVisualEncoder, InceptionI3D, load_kinetics_i3d
from fdpose.aqa_model.encoders.regnet import RegNetGSMEncoder, RegNetYGSM
from fdpose.aqa_model.encoders.skeletal import HierarchicalSkeletalEncoder, hierarchy_adjacency, skeletal_adjacency
from fdpose.aqa_model.encoders.static import ResNet, StaticVisualEncoder, load_torchvision_resnet

__all__ = [
    "DynamicVisualEncoder", "Frame2DBackbone", "HierarchicalSkeletalEncoder", "InceptionI3D", "RegNetGSMEncoder",
    "RegNetYGSM", "ResNet", "StaticVisualEncoder", "hierarchy_adjacency", "load_kinetics_i3d", "load_torchvision_resnet",
    "skeletal_adjacency",
]
