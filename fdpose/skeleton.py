"""The MPII 16-joint skeleton: the one place that knows joint names, order and structure.

Every other module asks this one for indices (``JOINT_INDEX["thorax"]``, ``FLIP_PAIRS``,
``BONES`` ...); nothing else hard-codes a joint number. Order and pairs follow method.md
section 1, which is also the order of mmpose's MPII dataset and of the FineDiving-Pose files.
"""

from __future__ import annotations

from typing import Final

import numpy as np

NUM_JOINTS: Final = 16

JOINT_NAMES: Final[tuple[str, ...]] = (
    "r_ankle",  # 0
    "r_knee",  # 1
    "r_hip",  # 2
    "l_hip",  # 3
    "l_knee",  # 4
    "l_ankle",  # 5
    "pelvis",  # 6
    "thorax",  # 7
    "upper_neck",  # 8
    "head_top",  # 9
    "r_wrist",  # 10
    "r_elbow",  # 11
    "r_shoulder",  # 12
    "l_shoulder",  # 13
    "l_elbow",  # 14
    "l_wrist",  # 15
)
JOINT_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(JOINT_NAMES)}

#: The LabelMe label of the diver's bounding box (one rectangle per labelled frame).
BOX_LABEL: Final = "diver"

#: Left/right pairs swapped by a horizontal flip (right joint first).
FLIP_PAIRS: Final[tuple[tuple[int, int], ...]] = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))

#: Physical bones (parent, child), drawn and used for kinematics.
BONES: Final[tuple[tuple[int, int], ...]] = (
    (0, 1), (1, 2), (2, 6), (3, 6), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
    (7, 12), (12, 11), (11, 10), (7, 13), (13, 14), (14, 15),
)

#: Semantic levels of HP-MCoRe's hierarchical skeletal encoder (method.md 3.1), by motion amplitude.
TORSO: Final[tuple[int, ...]] = (2, 3, 6, 7, 8, 9, 12, 13)
INTERMEDIATE: Final[tuple[int, ...]] = (1, 4, 11, 14)
DISTAL: Final[tuple[int, ...]] = (0, 5, 10, 15)
SEMANTIC_LEVELS: Final[dict[str, tuple[int, ...]]] = {
    "torso": TORSO,
    "intermediate": INTERMEDIATE,
    "distal": DISTAL,
}

#: The public HP-MCoRe config's five rings around the centre joint (thorax), method.md 3.1.
CENTER_JOINT: Final = 7
RINGS: Final[tuple[tuple[int, ...], ...]] = (
    (7,),
    (6, 8, 12, 13),
    (9, 14, 2, 3, 11),
    (10, 15, 1, 4),
    (5, 0),
)

#: Joints of the head used for the PCKh head-size proxy |head_top - upper_neck|.
HEAD_TOP: Final = 9
UPPER_NECK: Final = 8

# Drawing colours (BGR, OpenCV order): right side warm, left side cool, centre line green.
_RIGHT = (0, 96, 255)
_LEFT = (255, 160, 0)
_CENTRE = (80, 200, 80)


def side(joint: int) -> str:
    """'r', 'l' or 'c' (centre) for a joint index."""
    name = JOINT_NAMES[joint]
    return name[0] if name[:2] in ("r_", "l_") else "c"


def joint_color(joint: int) -> tuple[int, int, int]:
    """BGR colour of a joint for overlays."""
    return {"r": _RIGHT, "l": _LEFT, "c": _CENTRE}[side(joint)]


def bone_color(bone: tuple[int, int]) -> tuple[int, int, int]:
    """BGR colour of a bone: the side of its child joint (centre if both are central)."""
    a, b = bone
    sb = side(b)
    return joint_color(b) if sb != "c" else joint_color(a)


def flip_permutation() -> np.ndarray:
    """Index array ``perm`` (16,) such that ``kpts[perm]`` swaps left and right joints."""
    perm = np.arange(NUM_JOINTS)
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm


def flip_keypoints(kpts: np.ndarray, image_width: float) -> np.ndarray:
    """Mirror keypoints horizontally.

    kpts: (..., 16, C) with x in channel 0, pixel coordinates (0-based, so x' = W - 1 - x).
    Returns a new array of the same shape with left/right joints swapped.
    """
    out = np.array(kpts, dtype=np.float64 if kpts.dtype.kind != "f" else kpts.dtype, copy=True)
    out[..., 0] = (image_width - 1) - out[..., 0]
    return out[..., flip_permutation(), :]


def adjacency_matrix() -> np.ndarray:
    """Symmetric (16, 16) 0/1 adjacency of the physical bones (no self loops)."""
    adj = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=np.float32)
    for a, b in BONES:
        adj[a, b] = adj[b, a] = 1.0
    return adj


def ring_of() -> np.ndarray:
    """(16,) ring index (0..4) of every joint in the five-ring hierarchy."""
    out = np.full(NUM_JOINTS, -1, dtype=np.int64)
    for level, joints in enumerate(RINGS):
        out[list(joints)] = level
    return out


def _check() -> None:
    """Internal consistency, run at import: a wrong table here would corrupt every stage."""
    assert len(JOINT_NAMES) == NUM_JOINTS == len(set(JOINT_NAMES))
    flat = sorted(j for pair in FLIP_PAIRS for j in pair)
    assert len(flat) == len(set(flat))
    for r, l in FLIP_PAIRS:
        assert JOINT_NAMES[r].startswith("r_") and JOINT_NAMES[l] == "l_" + JOINT_NAMES[r][2:]
    assert len(BONES) == NUM_JOINTS - 1  # a tree
    assert sorted(TORSO + INTERMEDIATE + DISTAL) == list(range(NUM_JOINTS))
    assert sorted(j for ring in RINGS for j in ring) == list(range(NUM_JOINTS))


_check()
