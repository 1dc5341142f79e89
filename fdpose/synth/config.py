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

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["dive_numbers"] = list(self.dive_numbers)
        return out


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

    def frames_dir(self, match: str, idx: int) -> Path:
        return self.root / "frames" / match / str(idx)

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
