"""Plausibility checks on labelled joints: points on one spot and left/right sides that look swapped.

Pure array functions (no files, no messages) used by :mod:`fdpose.annotations.validate`;
they return findings, the validator turns them into warnings. Joint arrays are MPII-16
pixel coordinates with NaN for joints that are absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from fdpose.skeleton import BONES, FLIP_PAIRS, JOINT_INDEX, NUM_JOINTS, side

_SHOULDERS = (JOINT_INDEX["r_shoulder"], JOINT_INDEX["l_shoulder"])
_HIPS = (JOINT_INDEX["r_hip"], JOINT_INDEX["l_hip"])
_CENTRE = tuple(j for j in range(NUM_JOINTS) if side(j) == "c")


#: Joint pairs that legitimately project onto one spot: left/right pairs of a diver seen side-on,
#: and the two ends of a bone pointing at the camera (e.g. a shoulder in front of the thorax).
_MAY_COINCIDE: frozenset[frozenset[int]] = frozenset(frozenset(p) for p in (*FLIP_PAIRS, *BONES))


def near_duplicates(xy: np.ndarray, order: np.ndarray, max_px: float) -> list[tuple[int, int, float]]:
    """Pairs of different joints at most ``max_px`` apart (left/right pairs and bone ends excluded).

    xy: (16, 2) coordinates (NaN = absent). order: (16,) sort key per joint (e.g. the shape
    index), so that each pair is reported as (earlier joint, later joint, distance).
    """
    present = [j for j in np.argsort(order, kind="stable") if np.all(np.isfinite(xy[j]))]
    out: list[tuple[int, int, float]] = []
    for b in range(len(present)):
        for a in range(b):
            if frozenset((int(present[a]), int(present[b]))) in _MAY_COINCIDE:
                continue
            d = float(np.linalg.norm(xy[present[a]] - xy[present[b]]))
            if d <= max_px:
                out.append((int(present[a]), int(present[b]), d))
    return out


def shoulder_hip_angle(xy: np.ndarray, min_rel_width: float = 0.25) -> Optional[float]:
    """Angle in degrees between the r->l shoulder and r->l hip directions, or None when not judged.

    A torso twists far less than 120 degrees between hips and shoulders, so a larger angle
    means one of the two pairs has its sides swapped. Not judged when a joint is absent or
    when either pair is closer than ``min_rel_width`` x torso length (a diver seen side-on has
    both pairs foreshortened and their direction is noise).
    """
    rs, ls, rh, lh = xy[_SHOULDERS[0]], xy[_SHOULDERS[1]], xy[_HIPS[0]], xy[_HIPS[1]]
    if not np.all(np.isfinite([rs, ls, rh, lh])):
        return None
    torso = float(np.linalg.norm((rs + ls) / 2 - (rh + lh) / 2))
    sh, hp = ls - rs, lh - rh
    ns, nh = float(np.linalg.norm(sh)), float(np.linalg.norm(hp))
    if torso <= 0 or ns < min_rel_width * torso or nh < min_rel_width * torso:
        return None
    cos = max(-1.0, min(1.0, float(sh @ hp) / (ns * nh)))
    return math.degrees(math.acos(cos))


@dataclass(frozen=True)
class SideSwitch:
    """Between frames ``frame - 1`` and ``frame`` the labels of a left/right pair trade places.

    same: summed motion (px) of the two points when labels are kept; swapped: when exchanged
    (both after removing the whole-body motion).
    """

    frame: int
    same: float
    swapped: float


@dataclass(frozen=True)
class SwapFinding:
    """Frame ``frame`` has pair ``pair`` (right, left joint) on the minority side; ``switch``
    is the switch that bounds its run of frames."""

    frame: int
    pair: tuple[int, int]
    switch: SideSwitch


def _anchors(xy: np.ndarray) -> np.ndarray:
    """(10, 2) swap-invariant points of a frame: the 4 centre-line joints and the 6 pair midpoints."""
    mids = np.array([(xy[r] + xy[l]) / 2 for r, l in FLIP_PAIRS])
    return np.concatenate([xy[list(_CENTRE)], mids])


def _fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[complex, complex]:
    """Least-squares ``w = a z + b`` (rotation, scale, shift; no reflection) mapping src onto dst.

    src, dst: (n, 2) with NaN rows ignored. Identity when fewer than 2 common points.
    """
    ok = np.all(np.isfinite(src), axis=1) & np.all(np.isfinite(dst), axis=1)
    if ok.sum() < 2:
        return 1 + 0j, 0j
    z = src[ok, 0] + 1j * src[ok, 1]
    w = dst[ok, 0] + 1j * dst[ok, 1]
    zc, wc = z - z.mean(), w - w.mean()
    denom = float(np.sum(np.abs(zc) ** 2))
    a = complex(np.sum(np.conj(zc) * wc) / denom) if denom > 1e-9 else 1 + 0j
    return a, complex(w.mean() - a * z.mean())


def _switch(prev: np.ndarray, cur: np.ndarray, frame: int, ratio: float, min_px: float, min_sep: float) -> Optional[SideSwitch | bool]:
    """prev/cur: (2, 2) right and left point, prev already mapped into the current frame.

    None when a point is absent (the chain breaks); False when the labels clearly stay or the
    evidence is too weak to say (points too close together).
    """
    if not (np.all(np.isfinite(prev)) and np.all(np.isfinite(cur))):
        return None
    sep = min(float(np.linalg.norm(prev[0] - prev[1])), float(np.linalg.norm(cur[0] - cur[1])))
    if sep < min_sep:
        # Side-on, or mid-twist: the pair is foreshortened and a twist passing through this
        # point reverses the left/right vector just as a label swap does; do not judge.
        return False
    same = float(np.linalg.norm(cur[0] - prev[0]) + np.linalg.norm(cur[1] - prev[1]))
    swapped = float(np.linalg.norm(cur[0] - prev[1]) + np.linalg.norm(cur[1] - prev[0]))
    # The exchanged assignment must also be unambiguous: its residual smaller than the gap
    # between the two points (else noise on a nearly overlapping pair could fake a switch).
    if swapped < ratio * same and same - swapped > min_px and swapped < sep:
        return SideSwitch(frame, same, swapped)
    return False


def _minority(chain: list[int], parity: list[int], switches: dict[int, SideSwitch], pair: tuple[int, int]) -> list[SwapFinding]:
    if len(chain) < 2 or not switches:
        return []
    ones = sum(parity)
    bad = 1 if ones <= len(parity) - ones else 0  # tie: blame the frames after the first switch
    out: list[SwapFinding] = []
    for k, frame in enumerate(chain):
        if parity[k] != bad:
            continue
        start, end = k, k
        while start > 0 and parity[start - 1] == bad:
            start -= 1
        while end + 1 < len(chain) and parity[end + 1] == bad:
            end += 1
        # A minority run is bounded by a switch into it or out of it (or both).
        sw = switches.get(start) or switches[end + 1]
        out.append(SwapFinding(frame, pair, sw))
    return out


def side_swaps(joints: np.ndarray, ratio: float = 0.5, min_px: float = 4.0, min_sep: float = 0.5) -> list[SwapFinding]:
    """Frames whose left/right labels look swapped relative to the rest of their sequence.

    joints: (T, 16, 2) coordinates of consecutive frames of one sequence (NaN = absent).
    Between consecutive frames the whole-body motion (rotation, scale, shift; a somersault
    turns the body by tens of degrees per frame) is removed with a similarity fitted on
    swap-invariant points (centre-line joints, pair midpoints). Then per flip pair, the
    labels "switch" when exchanging them explains the motion much better than keeping them
    (``swapped < ratio * same``, ``same - swapped > min_px`` and ``swapped`` below the gap
    between the two points). A step is not judged when
    the pair is closer than ``min_sep`` x its typical separation (90th percentile over the
    sequence) in either frame: a twist turns the left/right vector through zero, which looks
    like a swap only when the pair is foreshortened. Each switch flips the pair's parity; along each
    unbroken chain of frames holding both joints, frames whose parity differs from most
    frames of the chain are returned (one finding per frame and pair), sorted by frame.
    """
    joints = np.asarray(joints, dtype=np.float64)
    n = joints.shape[0]
    # moved[t]: frame t-1 mapped into frame t (the first frame has no predecessor).
    moved = np.full_like(joints, np.nan)
    for t in range(1, n):
        a, b = _fit_similarity(_anchors(joints[t - 1]), _anchors(joints[t]))
        z = (joints[t - 1, :, 0] + 1j * joints[t - 1, :, 1]) * a + b
        moved[t] = np.column_stack([z.real, z.imag])
    pairs = np.array(FLIP_PAIRS)
    with np.errstate(invalid="ignore"):
        seps = np.linalg.norm(joints[:, pairs[:, 0]] - joints[:, pairs[:, 1]], axis=2)  # (T, 6)
    typical = np.array([np.percentile(c[np.isfinite(c)], 90) if np.isfinite(c).any() else 0.0 for c in seps.T])
    findings: list[SwapFinding] = []
    for p, (r, l) in enumerate(FLIP_PAIRS):
        chain: list[int] = []
        parity: list[int] = []
        switches: dict[int, SideSwitch] = {}  # position in chain -> switch into that frame
        for t in range(n):
            cur = joints[t, [r, l]]
            res = _switch(moved[t, [r, l]], cur, t, ratio, min_px, min_sep * typical[p]) if chain else None
            if res is None:
                findings.extend(_minority(chain, parity, switches, (r, l)))
                chain, parity, switches = ([t], [0], {}) if np.all(np.isfinite(cur)) else ([], [], {})
                continue
            chain.append(t)
            parity.append(parity[-1] ^ int(res is not False))
            if isinstance(res, SideSwitch):
                switches[len(chain) - 1] = res
        findings.extend(_minority(chain, parity, switches, (r, l)))
    return sorted(findings, key=lambda f: (f.frame, f.pair))
