"""Progress and content statistics of LabelMe annotation folders (``fdpose annotate stats``).

One row per folder (a folder holds the frames of one dive/video): images, labelled frames,
unreadable label files, joints visible / occluded / absent; per-joint visibility over all
frames; diver box sizes. Files that cannot be read are counted, not raised
(``fdpose annotate validate`` says why). The three tables are pandas DataFrames
(:meth:`AnnotationStats.folder_table`, :meth:`~AnnotationStats.joint_table`,
:meth:`~AnnotationStats.box_table`), for analysis beyond the printed text.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

import numpy as np

from fdpose.errors import FdposeError, InputError
from fdpose.skeleton import JOINT_NAMES, NUM_JOINTS
from fdpose.video import IMAGE_SUFFIXES

from fdpose.annotations.labelme import read_labelme
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE, doc_to_label

if TYPE_CHECKING:
    import pandas as pd

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


#: Columns of :meth:`AnnotationStats.folder_table` (the order of the printed table).
FOLDER_COLUMNS = ("images", "labelled", "unreadable", "boxes", "visible", "occluded", "absent")


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

    def folder_table(self) -> "pd.DataFrame":
        """One row per folder (index: folder name), int columns :data:`FOLDER_COLUMNS`."""
        import pandas as pd

        rows = [{"images": f.images, "labelled": f.labelled, "unreadable": f.unreadable, "boxes": f.with_box,
                 **f.joint_totals()} for f in self.folders]
        index = pd.Index([f.folder for f in self.folders], name="folder")
        return pd.DataFrame(rows, index=index, columns=list(FOLDER_COLUMNS)).astype("int64")

    def joint_table(self) -> "pd.DataFrame":
        """One row per joint in MPII order: visible / occluded / absent counts and the visible share (NaN: no frame)."""
        import pandas as pd

        vis = self.visibility()
        table = pd.DataFrame({n: vis[:, v] for n, v in (("visible", VIS_VISIBLE), ("occluded", VIS_OCCLUDED),
                                                         ("absent", VIS_ABSENT))},
                             index=pd.Index(JOINT_NAMES, name="joint"))
        frames = table.sum(axis=1)
        table["visible_share"] = (table["visible"] / frames).where(frames > 0)
        return table

    def box_table(self) -> "pd.DataFrame":
        """min / median / max of the diver box width and height in px (rows width, height; empty without boxes)."""
        import pandas as pd

        wh = pd.DataFrame([s for f in self.folders for s in f.box_wh], columns=["width", "height"], dtype="float64")
        return wh.agg(["min", "median", "max"]).T

    def box_sizes(self) -> dict[str, Optional[dict[str, float]]]:
        """min/median/max of the diver box width and height (None when no box was drawn)."""
        table = self.box_table()
        return {key: None if table.loc[key].isna().all() else {k: float(v) for k, v in table.loc[key].items()}
                for key in ("width", "height")}

    def to_dict(self) -> dict[str, Any]:
        joints = self.joint_table()
        return {
            "folders": [f.to_dict() for f in self.folders],
            "joints": {name: {n: int(row[n]) for n in _VIS_NAMES.values()} for name, row in joints.iterrows()},
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
        fs.box_wh.append((float(label.box.widths[0]), float(label.box.heights[0])))


def collect_stats(roots: Iterable[str | os.PathLike[str]]) -> AnnotationStats:
    """Scan each root folder recursively; every folder with images or label files is one row.

    Folder names are shown relative to their root (``.`` for the root itself), prefixed with
    the root when several roots are given. Raises :class:`InputError` for a root that is not
    a folder.
    """
    paths = [Path(r) for r in roots]
    by_folder: dict[Path, FolderStats] = {}
    for root in paths:
        if not root.is_dir():
            raise InputError("not a folder", root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            folder = Path(dirpath)
            rel = folder.relative_to(root).as_posix()
            name = rel if len(paths) == 1 else (root / rel).as_posix()
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
    """Human-readable tables: per folder (with a total row), per joint, box sizes, totals."""
    out: list[str] = []
    folders = stats.folder_table()
    rows: list[list[Any]] = [[name, *map(int, row)] for name, row in folders.iterrows()]
    rows.append(["total", *map(int, folders.sum(axis=0))])
    out += _table(["folder", *FOLDER_COLUMNS], rows)
    out.append("")
    joints = stats.joint_table()
    jrows = [[name, int(r["visible"]), int(r["occluded"]), int(r["absent"]),
              "-" if np.isnan(r["visible_share"]) else f"{100.0 * r['visible_share']:.1f}"] for name, r in joints.iterrows()]
    out += _table(["joint", "visible", "occluded", "absent", "visible %"], jrows)
    out.append("")
    boxes = stats.box_table()
    brows = [[f"box {key}"] + (["-"] * 3 if boxes.loc[key].isna().all() else [f"{v:.1f}" for v in boxes.loc[key]])
             for key in ("width", "height")]
    out += _table(["px", "min", "median", "max"], brows)
    out.append("")
    out.append(f"{stats.frames_labelled} frames labelled in {len(stats.folders)} folders"
               f" ({stats.images} images, {stats.unreadable} unreadable label files)")
    return "\n".join(out) + "\n"
