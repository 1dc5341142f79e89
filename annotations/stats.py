"""Progress and content statistics of LabelMe annotation folders (``fdpose annotate stats``).

One row per folder (a folder holds the frames of one dive/video): images, labelled frames,
unreadable label files, joints visible / occluded / absent; per-joint visibility over all
frames; diver box sizes. Files that cannot be read are counted, not raised
(``fdpose annotate validate`` says why).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from fdpose.errors import FdposeError, InputError
from fdpose.skeleton import JOINT_NAMES, NUM_JOINTS
from fdpose.video import IMAGE_SUFFIXES

from fdpose.annotations.labelme import read_labelme
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE, doc_to_label

log = logging.getLogger(__name__)

_VIS_NAMES = {VIS_VISIBLE: "visible", VIS_OCCLUDED: "occluded", VIS_ABSENT: "absent"}


@dataclass
class FolderStats:
    """Counts of one folder. ``visibility``: (16, 3) int64 counts of absent/occluded/visible per joint."""

    folder: str
    images: int = 0
    labelled: int = 0
    unreadable: int = 0
    with_box: int = 0
    visibility: np.ndarray = field(default_factory=lambda: np.zeros((NUM_JOINTS, 3), dtype=np.int64))
    box_wh: list[tuple[float, float]] = field(default_factory=list)

    def joint_totals(self) -> dict[str, int]:
        """Joint counts over all labelled frames of the folder by visibility name."""
        col = self.visibility.sum(axis=0)
        return {name: int(col[v]) for v, name in _VIS_NAMES.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "images": self.images,
            "frames_labelled": self.labelled,
            "unreadable": self.unreadable,
            "with_box": self.with_box,
            "joints": self.joint_totals(),
        }


def _spread(values: list[float]) -> Optional[dict[str, float]]:
    if not values:
        return None
    arr = np.asarray(values, dtype=np.float64)
    return {"min": float(arr.min()), "median": float(np.median(arr)), "max": float(arr.max())}


@dataclass
class AnnotationStats:
    """Statistics over all folders, in folder order."""

    folders: list[FolderStats]

    @property
    def frames_labelled(self) -> int:
        return sum(f.labelled for f in self.folders)

    @property
    def images(self) -> int:
        return sum(f.images for f in self.folders)

    @property
    def unreadable(self) -> int:
        return sum(f.unreadable for f in self.folders)

    def visibility(self) -> np.ndarray:
        """(16, 3) counts of absent / occluded / visible per joint over all folders."""
        total = np.zeros((NUM_JOINTS, 3), dtype=np.int64)
        for f in self.folders:
            total += f.visibility
        return total

    def box_sizes(self) -> dict[str, Optional[dict[str, float]]]:
        """min/median/max of the diver box width and height (None when no box was drawn)."""
        wh = [s for f in self.folders for s in f.box_wh]
        return {"width": _spread([w for w, _ in wh]), "height": _spread([h for _, h in wh])}

    def to_dict(self) -> dict[str, Any]:
        vis = self.visibility()
        return {
            "folders": [f.to_dict() for f in self.folders],
            "joints": {name: {n: int(vis[j, v]) for v, n in _VIS_NAMES.items()} for j, name in enumerate(JOINT_NAMES)},
            "box": self.box_sizes(),
            "frames_labelled": self.frames_labelled,
            "images": self.images,
            "unreadable": self.unreadable,
        }


def _add_label_file(fs: FolderStats, path: Path) -> None:
    try:
        label = doc_to_label(read_labelme(path), strict=False)
    except FdposeError as err:
        log.debug("skipping %s", err)
        fs.unreadable += 1
        return
    fs.labelled += 1
    fs.visibility[np.arange(NUM_JOINTS), label.visibility.astype(np.int64)] += 1
    if label.box is not None:
        fs.with_box += 1
        fs.box_wh.append((label.box.width, label.box.height))


def collect_stats(roots: Iterable[str | os.PathLike[str]]) -> AnnotationStats:
    """Scan each root folder recursively; every folder with images or label files is one row.

    Folder names are shown relative to their root (``.`` for the root itself), prefixed with
    the root when several roots are given. Raises :class:`InputError` for a root that is not
    a folder.
    """
    roots = [Path(r) for r in roots]
    by_folder: dict[Path, FolderStats] = {}
    for root in roots:
        if not root.is_dir():
            raise InputError("not a folder", root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            folder = Path(dirpath)
            rel = folder.relative_to(root).as_posix()
            name = rel if len(roots) == 1 else (root / rel).as_posix()
            fs = FolderStats(name)
            for fname in sorted(filenames):
                if fname.startswith("."):
                    continue
                suffix = Path(fname).suffix.lower()
                if suffix in IMAGE_SUFFIXES:
                    fs.images += 1
                elif suffix == ".json":
                    _add_label_file(fs, folder / fname)
            if fs.images or fs.labelled or fs.unreadable:
                by_folder[folder] = fs
    return AnnotationStats(list(by_folder.values()))


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """Plain aligned text table: first column left-aligned, the others right-aligned."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for r in cells:
        parts = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(parts).rstrip())
    return lines


def format_stats(stats: AnnotationStats) -> str:
    """Human-readable tables: per folder, per joint, box sizes, totals."""
    out: list[str] = []
    rows = []
    for f in stats.folders:
        t = f.joint_totals()
        rows.append([f.folder, f.images, f.labelled, f.unreadable, f.with_box, t["visible"], t["occluded"], t["absent"]])
    vis = stats.visibility()
    totals = {n: int(vis[:, v].sum()) for v, n in _VIS_NAMES.items()}
    rows.append(["total", stats.images, stats.frames_labelled, stats.unreadable, sum(f.with_box for f in stats.folders),
                 totals["visible"], totals["occluded"], totals["absent"]])
    out += _table(["folder", "images", "labelled", "unreadable", "boxes", "visible", "occluded", "absent"], rows)
    out.append("")
    jrows = []
    for j, name in enumerate(JOINT_NAMES):
        n = int(vis[j].sum())
        pct = f"{100.0 * vis[j, VIS_VISIBLE] / n:.1f}" if n else "-"
        jrows.append([name, int(vis[j, VIS_VISIBLE]), int(vis[j, VIS_OCCLUDED]), int(vis[j, VIS_ABSENT]), pct])
    out += _table(["joint", "visible", "occluded", "absent", "visible %"], jrows)
    out.append("")
    sizes = stats.box_sizes()
    brows = []
    for key in ("width", "height"):
        s = sizes[key]
        brows.append([f"box {key}"] + (["-", "-", "-"] if s is None else [f"{s['min']:.1f}", f"{s['median']:.1f}", f"{s['max']:.1f}"]))
    out += _table(["px", "min", "median", "max"], brows)
    out.append("")
    out.append(f"{stats.frames_labelled} frames labelled in {len(stats.folders)} folders"
               f" ({stats.images} images, {stats.unreadable} unreadable label files)")
    return "\n".join(out) + "\n"
