"""The manual labelling protocol: one ``diver`` rectangle + 16 named points per frame.

Visibility (COCO convention, used by every converter):

* 2 visible: the point is present and not flagged.
* 1 occluded: the point is present with the shape flag ``occluded: true`` (the annotator
  placed the joint where it must be, but cannot see it). Exported as MPII ``joints_vis`` 0.
* 0 absent: no point with that label; coordinates are NaN. Exported as MPII ``[-1, -1]``
  with ``joints_vis`` 0 and COCO ``(0, 0, 0)``.

Both occluded and absent joints have visibility 0 in the MPII sense and survive every
conversion round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from fdpose.errors import ValidationError
from fdpose.records import Boxes
from fdpose.skeleton import BOX_LABEL, JOINT_INDEX, JOINT_NAMES, NUM_JOINTS

from fdpose.annotations.labelme import LabelmeDoc, LabelmeShape

#: The LabelMe shape flag that marks an occluded joint.
OCCLUDED_FLAG = "occluded"

VIS_ABSENT, VIS_OCCLUDED, VIS_VISIBLE = 0, 1, 2

#: Labels offered to the annotator, in this order (``labelme --labels labels.txt``).
LABELS: tuple[str, ...] = (BOX_LABEL, *JOINT_NAMES)


def labels_file_text() -> str:
    """Content of the labels file handed to labelme: the box label, then the 16 joints in MPII order."""
    return "\n".join(LABELS) + "\n"


@dataclass
class ManualLabel:
    """One manually labelled frame.

    xy: (16, 2) float64 pixel coordinates (NaN where the joint is absent).
    visibility: (16,) int8 in {0 absent, 1 occluded, 2 visible}.
    box: the diver box, a one-box :class:`~fdpose.records.Boxes` (None when not drawn).
    image_path: ``imagePath`` as written in the LabelMe file (relative to the JSON).
    """

    xy: np.ndarray
    visibility: np.ndarray
    box: Optional[Boxes]
    image_path: str
    image_height: Optional[int] = None
    image_width: Optional[int] = None
    json_path: Optional[Path] = None
    extra_shapes: list[LabelmeShape] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=np.float64).reshape(NUM_JOINTS, 2)
        self.visibility = np.asarray(self.visibility, dtype=np.int8).reshape(NUM_JOINTS)
        if self.box is not None and len(self.box) != 1:
            raise ValidationError(f"a label has one diver box, got {len(self.box)}", self.json_path)

    @property
    def present(self) -> np.ndarray:
        """(16,) bool: joints that have a point (visible or occluded)."""
        return self.visibility > VIS_ABSENT


def doc_to_label(doc: LabelmeDoc, strict: bool = True) -> ManualLabel:
    """Extract the protocol's box and joints from a LabelMe document.

    strict: raise :class:`ValidationError` on a duplicated joint/box or a wrong shape type
    (``fdpose annotate validate`` reports all problems instead of raising on the first).
    Shapes with other labels are kept in ``extra_shapes`` (and written back by :func:`label_to_doc`).
    """
    xy = np.full((NUM_JOINTS, 2), np.nan)
    vis = np.zeros(NUM_JOINTS, dtype=np.int8)
    box: Optional[Boxes] = None
    extra: list[LabelmeShape] = []
    for i, s in enumerate(doc.shapes):
        loc = f"shape[{i}] {s.label}"
        if s.label == BOX_LABEL:
            if s.shape_type != "rectangle" or len(s.points) != 2:
                if strict:
                    raise ValidationError(
                        f"diver box must be a rectangle of 2 points, got {s.shape_type} with {len(s.points)}", doc.path, loc
                    )
                continue
            if box is not None and strict:
                raise ValidationError("more than one diver box", doc.path, loc)
            if box is None:
                box = Boxes.from_rows(np.array(s.points, dtype=np.float64).reshape(4))  # (any corner first)
        elif s.label in JOINT_INDEX:
            j = JOINT_INDEX[s.label]
            if s.shape_type != "point" or len(s.points) != 1:
                if strict:
                    raise ValidationError(f"joint must be a single point, got {s.shape_type} with {len(s.points)}", doc.path, loc)
                continue
            if vis[j] != VIS_ABSENT:
                if strict:
                    raise ValidationError("joint labelled twice", doc.path, loc)
                continue
            xy[j] = s.points[0]
            vis[j] = VIS_OCCLUDED if s.flags.get(OCCLUDED_FLAG, False) else VIS_VISIBLE
        else:
            extra.append(s)
    return ManualLabel(xy, vis, box, doc.image_path, doc.image_height, doc.image_width, doc.path, extra)


def label_to_shapes(label: ManualLabel) -> list[LabelmeShape]:
    """The protocol's shapes for ``label``: the box first, then present joints in MPII order."""
    shapes: list[LabelmeShape] = []
    if label.box is not None:
        x1, y1, x2, y2 = label.box.xyxy[0]
        shapes.append(LabelmeShape(BOX_LABEL, [[x1, y1], [x2, y2]], "rectangle"))
    for j, name in enumerate(JOINT_NAMES):
        if label.visibility[j] == VIS_ABSENT:
            continue
        if not np.all(np.isfinite(label.xy[j])):
            raise ValidationError(f"joint {name} is marked present but has coordinates {label.xy[j].tolist()}", label.json_path)
        flags = {OCCLUDED_FLAG: True} if label.visibility[j] == VIS_OCCLUDED else {}
        shapes.append(LabelmeShape(name, [[float(label.xy[j, 0]), float(label.xy[j, 1])]], "point", flags=flags))
    return shapes


def label_to_doc(label: ManualLabel, base: Optional[LabelmeDoc] = None) -> LabelmeDoc:
    """A LabelMe document for ``label``.

    With ``base`` (the document the label was read from) everything that is not the protocol's
    box/joints is kept: unknown top-level keys, file flags, other shapes, image data.
    """
    shapes = label_to_shapes(label) + list(label.extra_shapes)
    if base is None:
        return LabelmeDoc(shapes, label.image_path, label.image_height, label.image_width, path=label.json_path)
    return LabelmeDoc(
        shapes,
        label.image_path,
        label.image_height if label.image_height is not None else base.image_height,
        label.image_width if label.image_width is not None else base.image_width,
        base.image_data,
        base.version,
        dict(base.flags),
        dict(base.extra),
        base.path,
    )
