"""Files written by labelme itself (6.3.1 API) and 5.x / 7.x-style files validate clean and read exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.skeleton import JOINT_INDEX, JOINT_NAMES
from fdpose.annotations.labelme import read_labelme, write_labelme
from fdpose.annotations.protocol import VIS_OCCLUDED, VIS_VISIBLE, doc_to_label, label_to_doc
from fdpose.annotations.validate import validate_file, validate_paths

from test_validate import BOX, H, W, base_xy, good_obj, write_doc, write_image

OCCLUDED = ("l_elbow", "l_wrist")


def expected_visibility() -> np.ndarray:
    return np.array([VIS_OCCLUDED if n in OCCLUDED else VIS_VISIBLE for n in JOINT_NAMES], dtype=np.int8)


def app_shapes(xy: np.ndarray) -> list[dict]:
    """Shapes as labelme's app builds them (``_shape_to_dict``): points as tuples, every joint
    with the label-flags default ``occluded: false`` unless ticked."""
    shapes = [dict(label="diver", points=[tuple(p) for p in BOX], group_id=None, description="",
                   shape_type="rectangle", flags={}, mask=None)]
    for j, name in enumerate(JOINT_NAMES):
        shapes.append(dict(label=name, points=[(float(xy[j, 0]), float(xy[j, 1]))], group_id=None, description="",
                           shape_type="point", flags={"occluded": name in OCCLUDED}, mask=None))
    return shapes


def check_reads_exactly(path: Path, xy: np.ndarray) -> None:
    label = doc_to_label(read_labelme(path))
    np.testing.assert_array_equal(label.xy, xy)
    np.testing.assert_array_equal(label.visibility, expected_visibility())
    np.testing.assert_array_equal(label.box.xyxy[0], np.array(BOX).reshape(4))
    assert (label.image_width, label.image_height) == (W, H)


def subpixel_xy() -> np.ndarray:
    # labelme stores the float the click produced: keep awkward binary fractions
    return base_xy() + np.random.default_rng(7).uniform(-0.5, 0.5, (16, 2))


@pytest.fixture
def label_file_module():
    return pytest.importorskip("labelme._label_file", reason="labelme 6.3.1 not installed")


@pytest.mark.parametrize("with_image_data", [False, True])
def test_labelme_labelfile_save_validates_and_reads(tmp_path, label_file_module, with_image_data):
    img = write_image(tmp_path / "00000.jpg")
    xy = subpixel_xy()
    lf = label_file_module.LabelFile()
    data = label_file_module.LabelFile.load_image_file(str(img)) if with_image_data else None
    lf.save(str(tmp_path / "00000.json"), shapes=app_shapes(xy), image_path="00000.jpg",
            image_height=H, image_width=W, image_data=data, other_data={"reviewer": "a"}, flags={})
    if with_image_data:
        img.unlink()  # the embedded copy is what labelme shows
    fc = validate_file(tmp_path / "00000.json")
    assert [p.code for p in fc.problems] == (["image-file-missing"] if with_image_data else [])
    check_reads_exactly(tmp_path / "00000.json", xy)
    assert read_labelme(tmp_path / "00000.json").extra == {"reviewer": "a"}


def test_labelme_write_label_file_and_reader_agree(tmp_path, label_file_module):
    write_image(tmp_path / "00000.jpg")
    xy = subpixel_xy()
    label_file_module.write_label_file(str(tmp_path / "00000.json"), shapes=app_shapes(xy), image_path="00000.jpg",
                                       image_height=H, image_width=W)
    assert validate_file(tmp_path / "00000.json").problems == []
    check_reads_exactly(tmp_path / "00000.json", xy)
    # and labelme reads what we write (after a round trip through our writer)
    label = doc_to_label(read_labelme(tmp_path / "00000.json"))
    ours = write_labelme(label_to_doc(label, read_labelme(tmp_path / "00000.json")), tmp_path / "ours.json")
    loaded = label_file_module.LabelFile(str(ours))
    by_label = {s["label"]: s for s in loaded.shapes}
    for j, name in enumerate(JOINT_NAMES):
        assert by_label[name]["points"] == [[xy[j, 0], xy[j, 1]]]
        assert by_label[name]["flags"].get("occluded", False) == (name in OCCLUDED)
    assert validate_file(ours).problems == []


def test_labelme_5x_style_file(tmp_path):
    """labelme 5.x (and older): no description, some shapes without shape_type, colour keys."""
    xy = subpixel_xy()
    shapes = [{"label": "diver", "points": BOX, "group_id": None, "shape_type": "rectangle", "flags": {}}]
    for j, name in enumerate(JOINT_NAMES):
        s = {"label": name, "points": [xy[j].tolist()], "group_id": None, "flags": {"occluded": True} if name in OCCLUDED else {}}
        if j % 2:
            s["shape_type"] = "point"
        shapes.append(s)
    obj = {"version": "5.0.1", "flags": {}, "shapes": shapes, "imagePath": "00000.jpg", "imageData": None,
           "imageHeight": H, "imageWidth": W, "lineColor": [0, 255, 0, 128], "fillColor": [255, 0, 0, 128]}
    path = write_doc(tmp_path, obj)
    assert validate_file(path).problems == []
    check_reads_exactly(path, xy)


def test_labelme_7x_style_file(tmp_path):
    """7.x-style: full key set, a newer version string and keys this code does not know."""
    xy = subpixel_xy()
    obj = good_obj(xy=xy, occluded=OCCLUDED)
    obj["version"] = "7.1.0"
    obj["imageMeta"] = {"camera": "pool-2"}
    for s in obj["shapes"]:
        s["score"] = None
    path = write_doc(tmp_path, obj)
    assert validate_file(path).problems == []
    check_reads_exactly(path, xy)
    doc = read_labelme(path)
    assert doc.extra == {"imageMeta": {"camera": "pool-2"}} and doc.shapes[3].extra == {"score": None}


def test_our_writer_output_validates_clean(tmp_path):
    write_image(tmp_path / "00000.jpg")
    path = write_doc(tmp_path, good_obj(xy=subpixel_xy(), occluded=OCCLUDED), image=False)
    label = doc_to_label(read_labelme(path))
    out = write_labelme(label_to_doc(label, read_labelme(path)), tmp_path / "00000.json")
    assert validate_paths([tmp_path]).problems == []
    check_reads_exactly(out, subpixel_xy())
    raw = json.loads(out.read_text())
    assert raw["shapes"][1 + JOINT_INDEX["l_wrist"]]["flags"] == {"occluded": True}
