"""Joint interpolation over time (method.md 2.2 step 5, Eq. 27) and an optional smoother.

For each joint separately, a frame is *good* when its coordinates are finite, its confidence
is at least ``min_confidence`` and its source is not ``missing``. A bad frame t between the
nearest good frames i < t < j is filled linearly,

    p_t = p_i + (t - i) / (j - i) * (p_j - p_i),

(the confidence is interpolated the same way), provided the run of bad frames is at most
``max_gap`` long. Runs at the start or end of the clip hold the nearest good value, with the
same length limit (``max_end_hold``, default ``max_gap``). Longer runs are not invented: their
coordinates become NaN, confidence 0 and source ``missing``. Good frames keep their values
and their source (``estimated`` or ``manual``); filled frames become ``interpolated``.

Linear filling is a weak model of a somersault, so gaps are kept short, and the optional Gaussian
smoother (``smooth_sigma``) is off by default: it flattens the rotation more than it removes
jitter. The figures behind both choices are in ``docs/interpolation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from fdpose.errors import ConfigError, ValidationError
from fdpose.records import JointSource
from fdpose.skeleton import NUM_JOINTS

_EST, _INTERP, _MISSING = JointSource.ESTIMATED.value, JointSource.INTERPOLATED.value, JointSource.MISSING.value


@dataclass(frozen=True)
class InterpolationConfig:
    """Rule parameters; ``smooth_sigma`` 0 leaves the temporal smoother off (the default)."""

    min_confidence: float = 0.3  #: joints below this confidence are re-estimated from neighbours
    max_gap: int = 12  #: longest run of bad frames that is filled (about half a second at 25 fps)
    max_end_hold: Optional[int] = None  #: longest run held at clip ends (None: same as max_gap)
    smooth_sigma: float = 0.0  #: Gaussian sigma in frames of the optional smoother (0: off)

    def __post_init__(self) -> None:
        if self.max_gap < 0 or (self.max_end_hold is not None and self.max_end_hold < 0):
            raise ConfigError("interpolation max_gap / max_end_hold must be >= 0")
        if self.smooth_sigma < 0:
            raise ConfigError(f"smooth_sigma must be >= 0, got {self.smooth_sigma}")


@dataclass
class InterpolationResult:
    """keypoints: (T, 16, 3) ``[x, y, conf]`` (NaN x, y where missing); joint_source: (T, 16) str."""

    keypoints: np.ndarray
    joint_source: np.ndarray

    def counts(self) -> dict[str, int]:
        """Joints per source over the clip."""
        values, counts = np.unique(self.joint_source.astype(str), return_counts=True)
        return {str(v): int(c) for v, c in zip(values, counts)}


def _check(keypoints: np.ndarray, joint_source: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, 3):
        raise ValidationError(f"keypoints must be (T, {NUM_JOINTS}, 3) [x, y, conf], got {kp.shape}")
    if joint_source is None:
        src = np.full(kp.shape[:2], _EST, dtype=object)
    else:
        src = np.asarray(joint_source, dtype=object)
        if src.shape != kp.shape[:2]:
            raise ValidationError(f"joint_source must be {kp.shape[:2]}, got {src.shape}")
        allowed = {s.value for s in JointSource}
        bad = set(map(str, np.unique(src.astype(str)))) - allowed
        if bad:
            raise ValidationError(f"unknown joint_source values {sorted(bad)}")
    return kp, src


def good_mask(keypoints: np.ndarray, joint_source: Optional[np.ndarray], min_confidence: float) -> np.ndarray:
    """(T, 16) bool: joints that are finite, confident enough and not marked missing."""
    kp, src = _check(keypoints, joint_source)
    return np.isfinite(kp[..., :2]).all(axis=-1) & (np.nan_to_num(kp[..., 2], nan=-1.0) >= min_confidence) \
        & (src != _MISSING)


def interpolate_joints(keypoints: np.ndarray, joint_source: Optional[np.ndarray] = None,
                       config: Optional[InterpolationConfig] = None) -> InterpolationResult:
    """Apply Eq. 27 to a clip's poses (vectorised over frames and joints).

    keypoints: (T, 16, 3) ``[x, y, conf]`` in pixels (NaN for joints never estimated).
    joint_source: optional (T, 16) sources; default ``estimated`` everywhere.
    """
    cfg = config or InterpolationConfig()
    kp, src = _check(keypoints, joint_source)
    n = kp.shape[0]
    out_kp = kp.copy()
    out_src = src.copy()
    if n == 0:
        return InterpolationResult(out_kp, out_src)
    good = good_mask(kp, src, cfg.min_confidence)
    t = np.arange(n)[:, None].repeat(NUM_JOINTS, axis=1)  # (T, 16)
    # Nearest good frame at or before / at or after each t (-1 / n when there is none).
    prev = np.maximum.accumulate(np.where(good, t, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(good, t, n)[::-1], axis=0)[::-1]
    has_prev, has_next = prev >= 0, nxt < n
    bad = ~good
    run = nxt - prev - 1  # length of the bad run containing t (inner gaps)
    end_limit = cfg.max_gap if cfg.max_end_hold is None else cfg.max_end_hold
    inner = bad & has_prev & has_next & (run <= cfg.max_gap)
    head = bad & ~has_prev & has_next & (nxt <= end_limit)  # frames 0..j-1: a run of j frames
    tail = bad & has_prev & ~has_next & (n - 1 - prev <= end_limit)
    filled = inner | head | tail

    pi = np.clip(prev, 0, n - 1)
    ni = np.clip(nxt, 0, n - 1)
    joints = np.arange(NUM_JOINTS)[None, :]
    p_prev = kp[pi, joints]  # (T, 16, 3)
    p_next = kp[ni, joints]
    w = np.where(inner, (t - prev) / np.maximum(nxt - prev, 1), 0.0)[..., None]
    lin = p_prev + w * (p_next - p_prev)
    out_kp = np.where(inner[..., None], lin, out_kp)
    out_kp = np.where(head[..., None], p_next, out_kp)
    out_kp = np.where(tail[..., None], p_prev, out_kp)
    out_src[filled] = _INTERP

    missing = bad & ~filled
    out_kp[missing] = [np.nan, np.nan, 0.0]
    out_src[missing] = _MISSING
    if cfg.smooth_sigma > 0:
        out_kp = smooth_keypoints(out_kp, cfg.smooth_sigma)
    return InterpolationResult(out_kp, out_src)


def smooth_keypoints(keypoints: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian temporal smoothing of x, y that ignores missing (NaN) joints.

    A normalised convolution: each output is the Gaussian-weighted mean of the finite samples
    around it, so missing frames neither contribute nor get filled. Confidence is unchanged.
    keypoints: (T, 16, 3); returns a new (T, 16, 3) array.
    """
    from scipy.ndimage import gaussian_filter1d

    kp = np.asarray(keypoints, dtype=np.float64)
    if sigma <= 0 or kp.shape[0] < 2:
        return kp.copy()
    xy = kp[..., :2]
    valid = np.isfinite(xy).all(axis=-1, keepdims=True).astype(np.float64)  # (T, 16, 1)
    num = gaussian_filter1d(np.nan_to_num(xy) * valid, sigma, axis=0, mode="nearest")
    den = gaussian_filter1d(valid, sigma, axis=0, mode="nearest")
    out = kp.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out[..., :2] = np.where(valid > 0, num / np.maximum(den, 1e-12), np.nan)
    return out
