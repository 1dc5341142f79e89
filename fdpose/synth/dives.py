"""Dive numbers, their structure and the FineDiving step labels they produce.

A dive number encodes the dive (FINA rules): ``1xx`` forward, ``2xx`` back, ``3xx`` reverse,
``4xx`` inward (last digit = half somersaults); ``5GST`` twisting (group G, S half
somersaults, T half twists); ``6DS(T)`` armstand (direction D 1 forward / 2 back / 3 reverse,
S half somersaults, T half twists). The letter is the position: a straight, b pike, c tuck,
d free. The table mirrors real FineDiving dives (difficulty = the value most often seen in
the real annotation file, weight = how often the dive occurs there).

Step labels are the real ``sub-action_types`` ids: take-off group (1 Forward ... 7
Arm.Reverse), flight (pike 37/12-19, tuck 21-27; straight and free dives use the pike labels,
as the real file does), twists 29-35, entry 36.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fdpose.errors import ConfigError

#: Take-off group label id and name (real ``sub-action_types``).
TAKEOFF_LABELS: Final[dict[str, tuple[int, str]]] = {
    "forward": (1, "Forward"),
    "back": (2, "Back"),
    "reverse": (3, "Reverse"),
    "inward": (4, "Inward"),
    "arm_forward": (5, "Arm.Forward"),
    "arm_back": (6, "Arm.Back"),
    "arm_reverse": (7, "Arm.Reverse"),
}
PIKE_SOMS_LABELS: Final[dict[float, int]] = {0.5: 37, 1.0: 12, 1.5: 13, 2.0: 14, 2.5: 15, 3.0: 16, 3.5: 17, 4.5: 19}
TUCK_SOMS_LABELS: Final[dict[float, int]] = {1.5: 21, 2.0: 22, 2.5: 23, 3.0: 24, 3.5: 25, 4.5: 27}
TWIST_LABELS: Final[dict[float, int]] = {0.5: 29, 1.0: 30, 1.5: 31, 2.0: 32, 2.5: 33, 3.0: 34, 3.5: 35}
ENTRY_LABEL: Final = 36
ENTRY_NAME: Final = "Entry"

POSITIONS: Final[dict[str, str]] = {"a": "straight", "b": "pike", "c": "tuck", "d": "free"}
_GROUPS: Final[dict[str, str]] = {"1": "forward", "2": "back", "3": "reverse", "4": "inward"}
_ARM_GROUPS: Final[dict[str, str]] = {"1": "arm_forward", "2": "arm_back", "3": "arm_reverse"}

#: (dive number, degree of difficulty, relative frequency in real FineDiving, apparatus allowed).
#: apparatus: "both", "platform" (armstands need a platform).
DIVE_TABLE: Final[tuple[tuple[str, float, int, str], ...]] = (
    ("101b", 2.0, 22, "both"),
    ("103b", 1.6, 36, "both"),
    ("107b", 3.0, 324, "both"),
    ("109c", 3.7, 158, "both"),
    ("201a", 2.0, 10, "both"),
    ("201b", 2.0, 68, "both"),
    ("205b", 3.0, 204, "both"),
    ("207b", 3.6, 72, "both"),
    ("207c", 3.3, 159, "both"),
    ("301b", 2.0, 87, "both"),
    ("305b", 3.0, 84, "both"),
    ("305c", 2.8, 56, "both"),
    ("307c", 3.4, 233, "both"),
    ("401b", 2.0, 36, "both"),
    ("405b", 3.0, 133, "both"),
    ("407c", 3.2, 347, "both"),
    ("5152b", 3.0, 94, "both"),
    ("5154b", 3.4, 114, "both"),
    ("5231d", 2.0, 12, "both"),
    ("5253b", 3.2, 209, "both"),
    ("5255b", 3.6, 79, "both"),
    ("5337d", 3.5, 23, "both"),
    ("5353b", 3.3, 31, "both"),
    ("612b", 1.9, 5, "platform"),
    ("614b", 2.4, 3, "platform"),
    ("6243d", 3.2, 107, "platform"),
    ("6245d", 3.6, 32, "platform"),
    ("626b", 3.5, 25, "platform"),
    ("626c", 3.3, 53, "platform"),
    ("636c", 3.4, 5, "platform"),
)


@dataclass(frozen=True)
class DiveSpec:
    """A dive: number, group, somersaults, twists, position and difficulty."""

    number: str
    group: str
    somersaults: float
    twists: float
    position: str
    difficulty: float

    @property
    def armstand(self) -> bool:
        return self.group.startswith("arm_")

    @property
    def rotation(self) -> int:
        """+1 forward rotation (forward, inward), -1 backward (back, reverse)."""
        return +1 if self.group in ("forward", "inward", "arm_forward") else -1

    @property
    def faces_water(self) -> bool:
        """True when the diver faces the water at take-off (forward, reverse; armstand back)."""
        return self.group in ("forward", "reverse", "arm_back")

    @property
    def twist_first(self) -> bool:
        """Real FineDiving order: forward twisters somersault then twist; the others twist first."""
        return self.group != "forward"

    def flight_label(self) -> tuple[int, str]:
        """The somersault step label (id, name) of the flight."""
        s = self.somersaults
        name_s = f"{s:g} Som" if s <= 1 else f"{s:g} Soms"
        if self.position == "tuck" and s in TUCK_SOMS_LABELS:
            return TUCK_SOMS_LABELS[s], f"{name_s}.Tuck"
        return PIKE_SOMS_LABELS[s], f"{name_s}.Pike"

    def twist_label(self) -> tuple[int, str]:
        t = self.twists
        return TWIST_LABELS[t], f"{t:g} Twist" if t <= 1 else f"{t:g} Twists"

    def stage_labels(self, twist_stage: bool) -> list[tuple[int, str]]:
        """(id, name) per stage: take-off, flight (or soms + twist phases), entry."""
        takeoff = TAKEOFF_LABELS[self.group]
        entry = (ENTRY_LABEL, ENTRY_NAME)
        if twist_stage and self.twists > 0:
            phases = [self.twist_label(), self.flight_label()]
            if not self.twist_first:
                phases.reverse()
            return [takeoff, *phases, entry]
        return [takeoff, self.flight_label(), entry]


def parse_dive(number: str, difficulty: float) -> DiveSpec:
    """Decode a dive number such as '407c', '5253b' or '6243d'."""
    num = number.lower()
    digits, letter = num[:-1], num[-1:]
    if letter not in POSITIONS or not digits.isdigit() or len(digits) not in (3, 4):
        raise ConfigError(f"cannot parse dive number {number!r}")
    if digits[0] in _GROUPS and len(digits) == 3:
        group, soms, twists = _GROUPS[digits[0]], int(digits[2]) / 2, 0.0
    elif digits[0] == "5" and len(digits) == 4:
        group, soms, twists = _GROUPS[digits[1]], int(digits[2]) / 2, int(digits[3]) / 2
    elif digits[0] == "6":
        group = _ARM_GROUPS[digits[1]]
        soms = int(digits[2]) / 2
        twists = int(digits[3]) / 2 if len(digits) == 4 else 0.0
    else:
        raise ConfigError(f"cannot parse dive number {number!r}")
    return DiveSpec(num, group, soms, twists, POSITIONS[letter], float(difficulty))


def dive_table(apparatus: str) -> list[tuple[DiveSpec, int]]:
    """Dives allowed on ``apparatus`` ('springboard' or 'platform') with their weights."""
    out = []
    for number, dd, weight, allowed in DIVE_TABLE:
        if allowed == "platform" and apparatus != "platform":
            continue
        out.append((parse_dive(number, dd), weight))
    return out
