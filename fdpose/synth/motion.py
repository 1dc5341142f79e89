"""Dive kinematics: the diver's 3D joints at any (fractional) frame time.

World metres: board/platform tip at x = 0 (the board extends to -x), water surface y = 0,
the diver flies toward +x. Three stages (frames are integers 0..N-1):

* take-off, frames 0..t0 (t0 = ``steps_transit_frames[0]``): standing take-off (arm swing,
  crouch with springboard press, extension) or an armstand (handstand balance, push). The clip
  shows the last ``n0`` frames of a longer choreography, as real clips start at varying times.
  The feet leave the board at t = t0 + 0.5.
* flight, frames t0+1..t1: ballistic centre of mass (apex set by ``takeoff_height_m``),
  somersaults about the world z axis (faster when grouped), tuck / pike / straight grouping,
  optional twists about the body's long axis, kick-out to a straight, arms-overhead entry line.
  The lowest joint reaches the water at t = t1 + 0.5 with the body ``rotation_error_deg`` away
  from vertical.
* entry, frames t1+1..N-1: the body goes under, decelerating; joints below y = 0 are hidden.

Execution faults (:mod:`fdpose.synth.scoring`) change the motion: take-off height -> apex,
rotation error -> entry angle, kick-out delay -> opening time, leg separation -> scissor
angle of the legs, knee bend -> bent knees in pike/straight/entry.

``line_up`` (the synth option ``form_faults``; off by default): after the kick-out the somersault
slows to a tenth of its straight-body speed, as a diver who has opened lines up for the entry, so
the entry angle (and its rotation error) holds over the last flight frames instead of appearing
only between the last flight frame and water contact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fdpose.synth.body import (
    ARMS_UP, CROUCH, ENTRY, LAYOUT, PIKE, STAND, TUCK, TWIST_STRAIGHT,
    Posture, body_joints, center_of_mass, place,
)
from fdpose.synth.dives import DiveSpec
from fdpose.synth.scoring import Execution

G = 9.81
FOOT = 0.06  # ankle height above the sole


def smoothstep(x: float) -> float:
    x = float(np.clip(x, 0.0, 1.0))
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class Apparatus:
    """Springboard (3 m, flexes) or platform (10 m, rigid). ``length``: board length in metres."""

    kind: str
    height: float
    length: float

    @classmethod
    def for_event(cls, event: str) -> "Apparatus":
        return cls("platform", 10.0, 6.0) if "10m" in event else cls("springboard", 3.0, 4.8)


@dataclass(frozen=True)
class StageFrames:
    """Frame counts of the three stages and the take-off choreography length (frames)."""

    take_off: int
    flight: int
    entry: int
    choreography: float

    @property
    def total(self) -> int:
        return self.take_off + self.flight + self.entry

    @property
    def t0(self) -> int:
        """Last take-off frame."""
        return self.take_off - 1

    @property
    def t1(self) -> int:
        """Last flight frame (the frame before the water contact)."""
        return self.take_off + self.flight - 1


@dataclass
class DiverState:
    """The diver at one time: world joints (16, 3) metres, stage 0/1/2, board tip deflection (m),
    and the grouping amount (0 straight .. 1 tuck/pike) used by the detector model."""

    joints: np.ndarray
    stage: int
    board_deflection: float
    grouping: float


class DiveMotion:
    """The whole dive of one clip; :meth:`state` evaluates it at a fractional frame time."""

    def __init__(self, dive: DiveSpec, ex: Execution, apparatus: Apparatus, frames: StageFrames,
                 twist_sign: float, height_m: float, yaw_deg: float, line_up: bool = False) -> None:
        self.dive, self.ex, self.app, self.frames = dive, ex, apparatus, frames
        self.line_up = line_up
        self.twist_sign, self.height_m, self.yaw = twist_sign, height_m, yaw_deg
        self.facing = 1.0 if dive.faces_water else -1.0
        # World somersault angle = base + spin * a, a = rotation in the dive's own direction.
        self.base = 180.0 if dive.armstand else 0.0
        self.spin = -dive.rotation * self.facing
        self.lean = 18.0 if not dive.armstand else 10.0
        self.a_end = dive.somersaults * 360.0 + ex.rotation_error_deg
        self._plan_flight()

    # ------------------------------------------------------------------ schedules
    def _plan_flight(self) -> None:
        d, ex = self.dive, self.ex
        self.group_posture = TUCK if d.position == "tuck" else (LAYOUT if d.position == "straight" else PIKE)
        tw = d.twists
        self.twist_window: tuple[float, float] | None = None
        kick = float(np.clip(0.80 + ex.kickout_delay, 0.6, 0.93))
        if tw > 0:
            span = min(0.5, 0.16 + 0.1 * tw)
            if d.twist_first:
                self.twist_window = (0.05, 0.05 + span)
                self.group_span = (0.08 + span, kick)
            else:
                self.twist_window = (kick - span, kick)
                self.group_span = (0.05, kick - span - 0.04)
        else:
            self.group_span = (0.05, kick)
        self.kick = kick
        # Angular velocity weights: grouped positions spin faster (smaller moment of inertia).
        k = {"tuck": 3.0, "pike": 2.0, "free": 2.0, "straight": 0.6}[d.position]
        u = np.linspace(0.0, 1.0, 801)
        w = 1.0 + k * np.array([self.grouping(x) for x in u])
        if self.line_up:
            w = w * (1.0 - 0.9 * np.array([smoothstep((x - kick) / 0.08) for x in u]))
        cum = np.concatenate([[0.0], np.cumsum((w[1:] + w[:-1]) / 2)])
        self._u, self._rot_frac = u, cum / cum[-1]
        # Take-off end state (continuity into the flight).
        end = self._takeoff_world(1.0)
        self.p0 = center_of_mass(end)
        self.v0 = np.sqrt(2 * G * self.ex.takeoff_height_m)
        # Contact: lowest joint at y = 0 in the final orientation.
        final = self._flight_body(1.0)
        rel = final - center_of_mass(final)
        self.contact_com_y = -rel[:, 1].min()
        dy = self.p0[1] - self.contact_com_y
        self.tau_c = (self.v0 + np.sqrt(self.v0**2 + 2 * G * dy)) / G
        self.drift = 0.9 + 0.35 * self.ex.takeoff_height_m

    def grouping(self, u: float) -> float:
        """0 straight .. 1 fully grouped, over the flight share u."""
        a, b = self.group_span
        if b - a < 0.05:
            return 0.0
        return smoothstep((u - a) / 0.1) * (1.0 - smoothstep((u - b) / 0.09))

    def twist_angle(self, u: float) -> float:
        if self.twist_window is None:
            return 0.0
        a, b = self.twist_window
        return self.twist_sign * 360.0 * self.dive.twists * smoothstep((u - a) / (b - a))

    def _faults(self, p: Posture, amount: float) -> Posture:
        """Apply leg separation and knee bend (``amount`` 0..1 of the fault shown)."""
        sep = self.ex.leg_separation_deg * amount / 2
        bend = self.ex.knee_bend_deg * amount
        return p.with_(hip_r=p.hip_r + sep, hip_l=p.hip_l - sep, knee_r=p.knee_r + bend, knee_l=p.knee_l + bend)

    def _flight_posture(self, u: float) -> Posture:
        g = self.grouping(u)
        base = ENTRY if u > self.kick else ARMS_UP.with_(shoulder_r=170, shoulder_l=170)
        if self.twist_window is not None:
            a, b = self.twist_window
            tw = smoothstep((u - a + 0.04) / 0.06) * (1.0 - smoothstep((u - b) / 0.05))
            base = base.blend(TWIST_STRAIGHT, tw)
        p = base.blend(self.group_posture, g)
        fault = 1.0 if self.dive.position != "tuck" else (1.0 - g)
        return self._faults(p, fault)

    def _flight_body(self, u: float) -> np.ndarray:
        """World joints with the centre of mass at the origin, at flight share u."""
        j = body_joints(self._flight_posture(u), self.height_m)
        a = self.lean + (self.a_end - self.lean) * float(np.interp(u, self._u, self._rot_frac))
        return place(j, self.facing, self.twist_angle(u), self.base + self.spin * a, self.yaw, center_of_mass(j), np.zeros(3))

    # ------------------------------------------------------------------ take-off
    def _takeoff_posture(self, c: float) -> tuple[Posture, float]:
        """Posture and lean (deg, in the rotation direction) at choreography share c."""
        if self.dive.armstand:
            sway = 6.0 * np.sin(2 * np.pi * 1.5 * c)
            p = ARMS_UP.with_(hip_r=sway, hip_l=sway, arm_abd=6.0)
            push = smoothstep((c - 0.7) / 0.15) * (1.0 - smoothstep((c - 0.88) / 0.12))
            p = p.with_(elbow_r=30.0 * push, elbow_l=30.0 * push, hip_r=p.hip_r + 25 * push, hip_l=p.hip_l + 25 * push)
            return p, self.lean * smoothstep((c - 0.8) / 0.2)
        if c < 0.3:
            p = STAND.blend(ARMS_UP, smoothstep(c / 0.3))
        elif c < 0.65:
            p = ARMS_UP.blend(CROUCH, smoothstep((c - 0.3) / 0.35))
        else:
            p = CROUCH.blend(ARMS_UP.with_(shoulder_r=165, shoulder_l=165), smoothstep((c - 0.65) / 0.35))
        return p, self.lean * smoothstep((c - 0.75) / 0.25)

    def board_deflection(self, c: float) -> float:
        """Springboard tip deflection (metres, negative = down) at choreography share c."""
        if self.app.kind != "springboard" or self.dive.armstand:
            return 0.0
        depth = 0.18 + 0.15 * self.ex.takeoff_height_m
        x = (c - 0.6) / 0.38
        return -depth * float(np.sin(np.pi * x)) if 0.0 < x < 1.0 else 0.0

    def _takeoff_world(self, c: float) -> np.ndarray:
        p, lean = self._takeoff_posture(c)
        j = body_joints(p, self.height_m)
        w = place(j, self.facing, 0.0, self.base + self.spin * lean, self.yaw, np.zeros(3), np.zeros(3))
        surface = self.app.height + self.board_deflection(c)
        if self.dive.armstand:
            hands = w[[10, 15]]
            shift = np.array([-0.3 - hands[:, 0].mean(), surface + 0.03 - hands[:, 1].min(), 0.0])
        else:
            feet = w[[0, 5]]
            shift = np.array([-0.18 - feet[:, 0].mean(), surface + FOOT - feet[:, 1].min(), 0.0])
        return w + shift

    # ------------------------------------------------------------------ public
    def state(self, t: float) -> DiverState:
        """The diver at frame time ``t`` (fractional for motion-blur sub-frames)."""
        f = self.frames
        t_off = f.t0 + 0.5
        if t <= t_off:
            c = 1.0 + (t - t_off) / f.choreography
            return DiverState(self._takeoff_world(c), 0, self.board_deflection(c), 0.0)
        t_contact = f.t1 + 0.5
        if t <= t_contact:
            u = (t - t_off) / (t_contact - t_off)
            tau = u * self.tau_c
            com = np.array([self.p0[0] + self.drift * u, self.p0[1] + self.v0 * tau - 0.5 * G * tau**2, 0.0])
            return DiverState(self._flight_body(u) + com, 1, 0.0, self.grouping(u))
        # Entry: keep the final body and sink along the entry line, decelerating in the water
        # toward a final depth where the whole body (feet included) is under the surface.
        dt = self.tau_c / (t_contact - t_off)  # seconds per frame
        s = (t - t_contact) * dt
        v_c = abs(self.v0 - G * self.tau_c)  # speed at contact
        final_depth = 3.5
        depth = final_depth * (1.0 - np.exp(-s * v_c / final_depth))
        body = self._flight_body(1.0)
        com = np.array([self.p0[0] + self.drift, self.contact_com_y - depth, 0.0])
        return DiverState(body + com, 2, 0.0, 0.0)

    @property
    def seconds_per_frame(self) -> float:
        return float(self.tau_c / (self.frames.t1 - self.frames.t0))
