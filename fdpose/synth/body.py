"""An articulated 3D body in MPII-16 order: postures (joint angles) -> joint positions.

Body frame (metres): origin at the pelvis, X forward (where the chest faces), Y up, Z to the
body's right (right = forward x up). World frame: x right in the image, y up, z toward the
camera. A posture gives sagittal joint angles; :func:`place` turns the body frame into the
world with a facing direction, a twist about the long axis, a somersault about the world z
axis (the lateral axis the camera looks along) and a camera yaw, and :func:`project` maps the
world to image pixels orthographically (x right, y down).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from fdpose.skeleton import JOINT_INDEX, NUM_JOINTS

J = JOINT_INDEX

#: Segment lengths (metres) of a 1.75 m adult; persons are scaled from it.
HIP_HALF_WIDTH = 0.09
HIP_DROP = 0.06
THIGH = 0.44
SHANK = 0.43
SPINE = 0.50  # pelvis -> thorax (top of the sternum)
NECK = 0.09
HEAD = 0.22  # upper neck -> head top
SHOULDER_HALF_WIDTH = 0.19
SHOULDER_DROP = 0.03
UPPER_ARM = 0.30
FOREARM = 0.27

#: Limb thickness (full width, metres) used by the renderer: gives the body volume.
THICKNESS = {
    "thigh": 0.15, "shank": 0.11, "upper_arm": 0.095, "forearm": 0.075,
    "torso_depth": 0.23, "neck": 0.11, "head_w": 0.19, "head_h": 0.25,
}


@dataclass(frozen=True)
class Posture:
    """Joint angles in degrees (sagittal flexion positive forward, as a person sees it).

    hip_r/hip_l: thigh flexion (0 standing, 90 thigh horizontal forward, 150 closed pike).
    knee_r/knee_l: knee flexion (shank folds backward). shoulder_r/_l: arm flexion (0 down,
    90 forward, 180 overhead). elbow_r/_l: elbow flexion. arm_abd / leg_abd: sideways spread.
    trunk: forward bend of the upper body relative to the pelvis.
    """

    hip_r: float = 0.0
    hip_l: float = 0.0
    knee_r: float = 0.0
    knee_l: float = 0.0
    shoulder_r: float = 0.0
    shoulder_l: float = 0.0
    elbow_r: float = 0.0
    elbow_l: float = 0.0
    arm_abd: float = 8.0
    leg_abd: float = 2.0
    trunk: float = 0.0

    def blend(self, other: "Posture", w: float) -> "Posture":
        """Linear blend: w=0 gives self, w=1 gives other."""
        w = float(np.clip(w, 0.0, 1.0))
        return Posture(**{f.name: (1 - w) * getattr(self, f.name) + w * getattr(other, f.name) for f in fields(self)})

    def with_(self, **changes: float) -> "Posture":
        return replace(self, **changes)


STAND = Posture()
ARMS_UP = Posture(shoulder_r=180, shoulder_l=180, arm_abd=4)
CROUCH = Posture(hip_r=55, hip_l=55, knee_r=75, knee_l=75, shoulder_r=-35, shoulder_l=-35, trunk=25)
TUCK = Posture(hip_r=128, hip_l=128, knee_r=140, knee_l=140, shoulder_r=75, shoulder_l=75, elbow_r=70, elbow_l=70, trunk=25, arm_abd=10, leg_abd=4)
PIKE = Posture(hip_r=145, hip_l=145, shoulder_r=95, shoulder_l=95, elbow_r=15, elbow_l=15, trunk=15, arm_abd=8)
TWIST_STRAIGHT = Posture(shoulder_r=35, shoulder_l=35, elbow_r=125, elbow_l=125, arm_abd=25)
ENTRY = Posture(shoulder_r=180, shoulder_l=180, arm_abd=3, leg_abd=0)
LAYOUT = Posture(shoulder_r=90, shoulder_l=90, arm_abd=80)
SEATED = Posture(hip_r=90, hip_l=90, knee_r=90, knee_l=90, shoulder_r=30, shoulder_l=30, elbow_r=70, elbow_l=70)


def _dir(angle_deg: float, abd_deg: float, side: float) -> np.ndarray:
    """Unit limb direction: ``angle`` from straight down toward forward (X), ``abd`` sideways."""
    a, b = np.radians(angle_deg), np.radians(abd_deg)
    return np.array([np.sin(a) * np.cos(b), -np.cos(a) * np.cos(b), side * np.sin(b)])


def body_joints(p: Posture, height: float = 1.75) -> np.ndarray:
    """(16, 3) joint positions in the body frame (metres) for posture ``p``."""
    k = height / 1.75
    out = np.zeros((NUM_JOINTS, 3))
    # Trunk bends forward about the pelvis: rotate the spine direction from up toward X.
    t = np.radians(p.trunk)
    up = np.array([np.sin(t), np.cos(t), 0.0])
    fwd = np.array([np.cos(t), -np.sin(t), 0.0])
    out[J["pelvis"]] = 0.0
    thorax = up * SPINE * k
    out[J["thorax"]] = thorax
    out[J["upper_neck"]] = thorax + up * NECK * k
    out[J["head_top"]] = thorax + up * (NECK + HEAD) * k
    for side, s in (("r", 1.0), ("l", -1.0)):
        hip = np.array([0.0, -HIP_DROP * k, s * HIP_HALF_WIDTH * k])
        hip_angle, knee = getattr(p, f"hip_{side}"), getattr(p, f"knee_{side}")
        knee_pos = hip + _dir(hip_angle, p.leg_abd, s) * THIGH * k
        ankle = knee_pos + _dir(hip_angle - knee, p.leg_abd, s) * SHANK * k
        out[J[f"{side}_hip"]], out[J[f"{side}_knee"]], out[J[f"{side}_ankle"]] = hip, knee_pos, ankle
        shoulder = thorax - up * SHOULDER_DROP * k + np.array([0.0, 0.0, s * SHOULDER_HALF_WIDTH * k])
        # Arm angles are relative to the trunk: express them in the bent trunk's (fwd, up) basis.
        sh, el = getattr(p, f"shoulder_{side}"), getattr(p, f"elbow_{side}")
        d_upper = _dir(sh, p.arm_abd, s)
        d_fore = _dir(sh + el, p.arm_abd, s)
        to_world = np.stack([fwd, up, np.array([0.0, 0.0, 1.0])], axis=1)
        elbow = shoulder + to_world @ d_upper * UPPER_ARM * k
        wrist = elbow + to_world @ d_fore * FOREARM * k
        out[J[f"{side}_shoulder"]], out[J[f"{side}_elbow"]], out[J[f"{side}_wrist"]] = shoulder, elbow, wrist
    return out


def rot_y(deg: float) -> np.ndarray:
    """Rotation about the vertical axis (twist / yaw), right-handed."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_z(deg: float) -> np.ndarray:
    """Rotation about the world z axis (toward the camera): positive is counter-clockwise on screen."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def place(
    joints: np.ndarray,
    facing: float,
    twist_deg: float,
    somersault_deg: float,
    yaw_deg: float,
    pivot: np.ndarray,
    position: np.ndarray,
) -> np.ndarray:
    """Body frame -> world: (16, 3) world joints.

    facing: +1 faces +x (toward the water), -1 faces -x. twist: about the body's long axis.
    somersault: about the world z axis through ``pivot`` (a body-frame point, e.g. the centre
    of mass), positive = counter-clockwise on screen. The pivot lands at ``position`` (world).
    """
    face = rot_y(0.0 if facing > 0 else 180.0)
    local = (joints - pivot) @ rot_y(twist_deg).T @ face.T
    world = local @ rot_z(somersault_deg).T @ rot_y(yaw_deg).T
    return world + position


def center_of_mass(joints: np.ndarray) -> np.ndarray:
    """(3,) approximate centre of mass: weighted mean of segment midpoints (trunk heavy)."""
    mid = lambda a, b: (joints[J[a]] + joints[J[b]]) / 2  # noqa: E731
    parts = [
        (mid("pelvis", "thorax"), 0.50),
        (joints[J["head_top"]] * 0.5 + joints[J["upper_neck"]] * 0.5, 0.08),
        (mid("r_hip", "r_knee"), 0.10), (mid("l_hip", "l_knee"), 0.10),
        (mid("r_knee", "r_ankle"), 0.05), (mid("l_knee", "l_ankle"), 0.05),
        (mid("r_shoulder", "r_wrist"), 0.06), (mid("l_shoulder", "l_wrist"), 0.06),
    ]
    w = sum(p[1] for p in parts)
    return sum(p[0] * p[1] for p in parts) / w


def project(world: np.ndarray, scale: float, origin_px: np.ndarray) -> np.ndarray:
    """(N, 3) world metres -> (N, 2) canvas pixels: x = ox + s * x, y = oy - s * y."""
    return np.stack([origin_px[0] + scale * world[:, 0], origin_px[1] - scale * world[:, 1]], axis=1)
