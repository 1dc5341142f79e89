"""Seeded random LabelMe folders for the conversion / review / dataset tests (not a test module)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from fdpose.records import Boxes
from fdpose.skeleton import NUM_JOINTS
from fdpose.annotations.labelme import LabelmeShape, write_labelme
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE, ManualLabel, label_to_doc

WIDTH, HEIGHT = 455, 256


def random_label(rng: np.random.Generator, absent: int = 1, occluded: int = 2, box: bool = True) -> ManualLabel:
    """A label with non-integer coordinates, ``absent`` absent and ``occluded`` occluded joints."""
    x1, y1 = rng.uniform(20, 200), rng.uniform(10, 80)
    x2, y2 = x1 + rng.uniform(60, 200), y1 + rng.uniform(80, 160)
    xy = np.column_stack([rng.uniform(x1, x2, NUM_JOINTS), rng.uniform(y1, y2, NUM_JOINTS)])
    # Head size of at least ~15 px so the review's normalised distances are meaningful.
    xy[9] = xy[8] + [rng.uniform(-4, 4), -rng.uniform(15, 25)]
    vis = np.full(NUM_JOINTS, VIS_VISIBLE, dtype=np.int8)
    order = rng.permutation([j for j in range(NUM_JOINTS) if j not in (8, 9)])
    vis[order[:absent]] = VIS_ABSENT
    vis[order[absent : absent + occluded]] = VIS_OCCLUDED
    xy[vis == VIS_ABSENT] = np.nan
    return ManualLabel(xy, vis, Boxes.from_rows(np.array([x1, y1, x2, y2])) if box else None, "", HEIGHT, WIDTH)


def write_image(path: Path, seed: int = 0) -> Path:
    """A small 455x256 RGB JPEG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, quality=80)
    return path


def write_frame(
    root: Path, rel_json: str, label: ManualLabel, image: bool = True, extra: Optional[list[LabelmeShape]] = None
) -> Path:
    """Write ``label`` at ``root/rel_json`` with its image next to it (same stem, .jpg)."""
    json_path = root / rel_json
    img = json_path.with_suffix(".jpg")
    if image:
        write_image(img, seed=abs(hash(rel_json)) % 1000)
    label.image_path = img.name
    label.extra_shapes = list(extra or [])
    write_labelme(label_to_doc(label), json_path)
    return json_path


def make_folder(root: Path, seed: int = 0, sequences: tuple[str, ...] = ("01/clip_a", "02"), per_seq: int = 3) -> dict[str, ManualLabel]:
    """A labelled folder; returns id -> label. One frame has no box, one has an extra polygon."""
    rng = np.random.default_rng(seed)
    labels: dict[str, ManualLabel] = {}
    k = 0
    for seq in sequences:
        for f in range(per_seq):
            lab = random_label(rng, absent=int(rng.integers(0, 3)), occluded=int(rng.integers(0, 4)), box=k != 1)
            extra = [LabelmeShape("board", [[1.5, 2.5], [30.0, 2.5], [30.0, 9.25]], "polygon")] if k == 2 else None
            write_frame(root, f"{seq}/{f:05d}.json", lab, extra=extra)
            labels[f"{seq}/{f:05d}"] = lab
            k += 1
    return labels
