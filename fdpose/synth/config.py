"""Generator parameters and the output layout of a synthetic world (the names other stages read)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from fdpose.errors import ConfigError

#: Version of the world format/generator, written to world.json (bump when outputs change).
WORLD_VERSION = "1.0"
GT_SCHEMA_VERSION = 1

IMAGE_WIDTH = 455
IMAGE_HEIGHT = 256
VIDEO_FPS = 25.0


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines a world (with the seed).

    frames: mean clip length; stage lengths scale with it (take-off ~30%, flight ~35%,
    entry ~35%, with per-clip variation as in real FineDiving).
    twist_stages: split the flight of twisting dives into somersault and twist stages
    (3 transits, as many real twisting records do); default keeps 2 transits (3 stages).
    dive_numbers: restrict the dive table to these numbers (lower case, e.g. ``("107b", "407c")``;
    their real-frequency weights are kept) so a small world has many clips per dive number,
    which same-dive-number exemplar training needs; empty = the whole table (the default).
    At least one of them must be allowed on springboard (armstands need a platform).

    Detector (:mod:`fdpose.synth.detections`): ``detector_miss_rate`` is the diver's base miss
    rate; the miss rate rises by ``detector_miss_difficulty`` x the frame's difficulty (blur,
    grouping, occlusion, cut by the border). With ``detector_miss_overall`` the base is solved
    per clip so that the diver's miss rate over the frames where he is drawn equals
    ``detector_miss_rate`` (the figure a real detector's evaluation gives). ``person_miss_rate``:
    how often another person in view is missed. ``false_positive_rate``: mean false boxes per
    frame anywhere in the image (uniform clutter).

    Broadcast features (:mod:`fdpose.synth.broadcast`), all off by default; a world with all of
    them off is byte-identical to one made before they existed. Raising each one:

    - ``zoom``: the camera zooms in or out smoothly during the dive, by up to this fraction of
      the focal length (0.4: the diver's size changes by up to 40% within a clip).
    - ``cut_probability``: more clips get a hard cut during the flight to a second camera with
      another framing and zoom (camera motion is discontinuous there).
    - ``replay_probability``: more clips end with a slow-motion replay (half speed, a tighter
      camera) of the flight and the entry after the live entry; replay frames carry the last
      stage's label and ``"segment": "replay"`` in the ground truth.
    - ``walkers``: more officials and coaches walking along the pool deck (Poisson mean per
      clip; upright, moving 0.6-1.5 m/s).
    - ``foreground_probability``: more clips with one or two people near the camera at the
      entry (large, cut by the image border, in front of the pool and the splash).
    - ``graphics``: on-screen graphics at fixed screen positions (broadcaster logo, a
      lower-third name / score bar, a REPLAY tag); they hide what is behind them.
    - ``splash_false_positive_rate`` / ``graphics_false_positive_rate``: mean false detections
      per frame on the splash (while it is in view) and on the graphics (while shown).
    - ``detector_profile``: a simulated detector calibrated on a real one
      (:data:`fdpose.synth.detections.PROFILES`; ``"ssd-dev"``: the default ``ssd`` detector on the
      real dev clips, docs/detector.md) replaces the miss / person / score model above: the
      diver's misses per phase, boxes on the other people at the measured rate and persistence,
      duplicate boxes on the diver, measured scores. ``detector_miss_overall`` then replaces the
      per-phase miss rates by ``detector_miss_rate`` over all the frames where the diver is drawn.

    ``form_faults`` (off by default; not a broadcast feature): wider in-flight body-position faults
    (leg separation, knee bend) tied more to the diver's quality, and a diver who lines up for the
    entry, so more of the judges' score is in the poses (:mod:`fdpose.synth.scoring`; the demo turns
    it on, docs/demo_aqa.md). Off, a world is byte-identical to one made before it existed.
    """

    videos: int = 20
    seed: int = 0
    frames: int = 100
    train_share: float = 0.75
    detector_miss_rate: float = 0.08
    detector_jitter: float = 0.04
    false_positive_rate: float = 0.15
    occluder_probability: float = 0.35
    twist_stages: bool = False
    write_video: bool = True
    jpeg_quality: int = 90
    dive_numbers: tuple[str, ...] = ()
    person_miss_rate: float = 0.05
    detector_miss_difficulty: float = 0.35
    detector_miss_overall: bool = False
    zoom: float = 0.0
    cut_probability: float = 0.0
    replay_probability: float = 0.0
    walkers: float = 0.0
    foreground_probability: float = 0.0
    graphics: bool = False
    splash_false_positive_rate: float = 0.0
    graphics_false_positive_rate: float = 0.0
    detector_profile: str = ""
    form_faults: bool = False

    def __post_init__(self) -> None:
        from fdpose.synth.dives import DIVE_TABLE

        known = {number: allowed for number, _, _, allowed in DIVE_TABLE}
        numbers = tuple(n.strip().lower() for n in self.dive_numbers)
        object.__setattr__(self, "dive_numbers", numbers)
        unknown = [n for n in numbers if n not in known]
        if unknown:
            raise ConfigError(f"--dive-numbers: unknown dive number(s) {', '.join(unknown)} "
                              f"(known: {', '.join(known)})")
        if len(set(numbers)) != len(numbers):
            raise ConfigError(f"--dive-numbers: repeated dive number in {','.join(numbers)}")
        if numbers and all(known[n] == "platform" for n in numbers):
            raise ConfigError("--dive-numbers: armstand dives need a platform; add at least one dive "
                              "allowed on springboard")
        if self.videos < 1:
            raise ConfigError(f"--videos must be at least 1, got {self.videos}")
        if not 30 <= self.frames <= 400:
            raise ConfigError(f"--frames must be within 30..400, got {self.frames}")
        if not 0.0 <= self.train_share <= 1.0:
            raise ConfigError(f"--train-share must be within 0..1, got {self.train_share}")
        if not 0.0 <= self.detector_miss_rate <= 1.0:
            raise ConfigError(f"--detector-miss-rate must be within 0..1, got {self.detector_miss_rate}")
        if not 0.0 <= self.occluder_probability <= 1.0:
            raise ConfigError(f"occluder probability must be within 0..1, got {self.occluder_probability}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg quality must be within 1..100, got {self.jpeg_quality}")
        for name in ("person_miss_rate", "detector_miss_difficulty", "cut_probability", "replay_probability",
                     "foreground_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be within 0..1, got {getattr(self, name)}")
        if not 0.0 <= self.zoom <= 1.0:
            raise ConfigError(f"zoom must be within 0..1 (a fraction of the focal length), got {self.zoom}")
        from fdpose.synth.detections import PROFILES

        if self.detector_profile and self.detector_profile not in PROFILES:
            raise ConfigError(f"detector_profile: unknown profile {self.detector_profile!r} "
                              f"(known: {', '.join(sorted(PROFILES))}, or empty for the plain model)")
        for name in ("walkers", "false_positive_rate", "splash_false_positive_rate", "graphics_false_positive_rate"):
            if not 0.0 <= getattr(self, name) <= 20.0:
                raise ConfigError(f"{name} must be within 0..20 per clip/frame, got {getattr(self, name)}")

    @property
    def broadcast(self) -> bool:
        """True when any broadcast feature (or detector field added with them) differs from off."""
        return any(getattr(self, k) != v for k, v in _OFF.items())

    def to_dict(self) -> dict[str, Any]:
        """The fields as written to world.json; the fields added with the broadcast features are
        left out while they all keep their off values, so older worlds' world.json stays the same."""
        out = asdict(self)
        out["dive_numbers"] = list(self.dive_numbers)
        if not self.broadcast:
            for k in _OFF:
                del out[k]
        for k, off in _ADDED_LATER.items():  # broadcast worlds made before these fields keep their world.json
            if out.get(k, off) == off:
                out.pop(k, None)
        return out


#: Values of the fields added with the broadcast features that reproduce the worlds made before them.
_OFF: dict[str, Any] = {
    "person_miss_rate": 0.05, "detector_miss_difficulty": 0.35, "detector_miss_overall": False, "zoom": 0.0,
    "cut_probability": 0.0, "replay_probability": 0.0, "walkers": 0.0, "foreground_probability": 0.0,
    "graphics": False, "splash_false_positive_rate": 0.0, "graphics_false_positive_rate": 0.0,
    "detector_profile": "",
}

#: Fields added after the first broadcast features, left out of world.json while off.
_ADDED_LATER: dict[str, Any] = {"detector_profile": "", "form_faults": False}

#: ``fdpose synth --broadcast``: every broadcast feature on, at the strength below.
#: Scene features (zoom .. graphics) are design choices meant to be frequent enough that every
#: small world exercises them; they are not measured on real video.
#: The detector is the ``ssd-dev`` profile, calibrated on the real ``ssd`` detector on the dev
#: clips (docs/detector.md, ``benchmarks/detector_real.py --fp-only``): the diver's misses per
#: phase, boxes on people that persist and walk with them, duplicate boxes on the diver, measured
#: scores. Its false positives on the splash and on the graphics: none in the dev clips, so 0;
#: no box on nothing there either, so no uniform clutter. ``fdpose synth --broadcast
#: --detector-miss-rate R`` replaces the per-phase miss rates by R overall.
BROADCAST_PRESET: dict[str, Any] = {
    "zoom": 0.4,
    "cut_probability": 0.3,
    "replay_probability": 0.3,
    "walkers": 1.5,
    "foreground_probability": 0.6,
    "graphics": True,
    "detector_profile": "ssd-dev",
    "false_positive_rate": 0.0,  # measured: no box on nothing in the 55 dev frames
    "splash_false_positive_rate": 0.0,  # measured: 0 in 4 frames of splash (seen from under water)
    "graphics_false_positive_rate": 0.0,  # measured: 0 in 21 frames with a broadcaster logo
}


@dataclass(frozen=True)
class ClipPlan:
    """One clip to render: its key, event and the seeds of its match (venue) and of itself."""

    number: int
    match: str
    idx: int
    event: str
    venue_seed: tuple[int, ...]
    clip_seed: tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    """Paths of a world's files under ``root`` (see the package docstring)."""

    root: Path

    def frame(self, match: str, idx: int, frame: int) -> Path:
        return self.root / "frames" / match / str(idx) / f"{frame:05d}.jpg"

    def video(self, match: str, idx: int) -> Path:
        return self.root / "videos" / f"{match}__{idx}.mp4"

    def labelme(self, match: str, idx: int, frame: int) -> Path:
        return self.root / "labelme" / match / str(idx) / f"{frame:05d}.json"

    @staticmethod
    def labelme_image_path(match: str, idx: int, frame: int) -> str:
        """``imagePath`` of a LabelMe file, relative to the JSON."""
        return f"../../../frames/{match}/{idx}/{frame:05d}.jpg"

    def gt(self, match: str, idx: int) -> Path:
        return self.root / "gt" / match / f"{idx}.json"

    def detections(self, match: str, idx: int) -> Path:
        return self.root / "detections" / match / f"{idx}.txt"

    @property
    def annotations(self) -> Path:
        return self.root / "annotations"

    @property
    def world_json(self) -> Path:
        return self.root / "world.json"

    #: Top-level entries a world consists of (what --overwrite removes).
    ENTRIES: ClassVar[tuple[str, ...]] = ("frames", "videos", "labelme", "gt", "detections", "annotations", "world.json")
