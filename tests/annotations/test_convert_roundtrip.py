"""annotations/convert.py: LabelMe <-> MPII <-> COCO round trips and format detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import ConfigError, InputError
from fdpose.annotations import mpii
from fdpose.annotations.convert import Format, convert, detect_format
from fdpose.annotations.dataset import load_labelme_folder
from fdpose.annotations.protocol import VIS_ABSENT, VIS_OCCLUDED, ManualLabel

from label_factory import HEIGHT, WIDTH, make_folder

TOL = 1e-3


def assert_same_labels(root: Path, expected: dict[str, ManualLabel]) -> None:
    back = {f.id: f for f in load_labelme_folder(root)}
    assert sorted(back) == sorted(expected)
    for fid, lab in expected.items():
        got = back[fid].label
        np.testing.assert_array_equal(got.visibility, lab.visibility, err_msg=fid)
        np.testing.assert_allclose(got.xy, lab.xy, atol=TOL, equal_nan=True, err_msg=fid)
        assert (got.box is None) == (lab.box is None), fid
        if lab.box is not None:
            np.testing.assert_allclose(got.box.xyxy[0], lab.box.xyxy[0], atol=TOL, err_msg=fid)
        assert (got.image_width, got.image_height) == (WIDTH, HEIGHT)
        assert back[fid].doc.image_file().is_file(), fid
        assert got.image_path == f"{back[fid].frame}.jpg"


@pytest.fixture
def labelled(tmp_path: Path) -> tuple[Path, dict[str, ManualLabel]]:
    labels = make_folder(tmp_path / "src", seed=7)
    vis = np.stack([lab.visibility for lab in labels.values()])
    # The fixture must exercise every case the round trips promise to keep.
    assert (vis == VIS_ABSENT).any() and (vis == VIS_OCCLUDED).any()
    assert any(lab.box is None for lab in labels.values())
    return tmp_path / "src", labels


def test_labelme_mpii_labelme_round_trip(tmp_path: Path, labelled) -> None:
    src, labels = labelled
    report = convert(src, tmp_path / "mpii" / "train.json", "mpii")
    assert report.frames == 6 and report.images_placed == 6
    assert report.dropped_shapes == {"board": 1} and "non-protocol" in report.warnings[0]
    records = json.loads((tmp_path / "mpii" / "train.json").read_text())
    assert [r["image"] for r in records] == [f"{i:06d}.jpg" for i in range(1, 7)]
    ids = json.loads((tmp_path / "mpii" / "image_ids.json").read_text())
    assert ids["000001.jpg"] == "01/clip_a/00000.jpg" and ids["000006.jpg"] == "02/00002.jpg"
    assert (tmp_path / "mpii" / "images" / "000004.jpg").read_bytes() == (src / "02" / "00000.jpg").read_bytes()
    # Occluded joints keep coordinates with joints_vis 0; absent joints are [-1, -1] with 0.
    first = labels["01/clip_a/00000"]
    for j, v in enumerate(first.visibility):
        assert records[0]["joints_vis"][j] == int(v == 2)
        if v == VIS_ABSENT:
            assert records[0]["joints"][j] == [-1.0, -1.0]
        else:
            assert records[0]["joints"][j] == pytest.approx(first.xy[j].tolist())
    assert records[1]["bbox"] is None  # the frame drawn without a box
    back = convert(tmp_path / "mpii" / "train.json", tmp_path / "back", "labelme")
    assert back.source_format == "mpii" and back.images_placed == 6 and not back.warnings
    assert_same_labels(tmp_path / "back", labels)


def test_labelme_coco_labelme_round_trip(tmp_path: Path, labelled) -> None:
    src, labels = labelled
    convert(src, tmp_path / "coco.json", "coco")
    obj = json.loads((tmp_path / "coco.json").read_text())
    assert [im["file_name"] for im in obj["images"]][:2] == ["01/clip_a/00000.jpg", "01/clip_a/00001.jpg"]
    ann = obj["annotations"][0]
    lab = labels["01/clip_a/00000"]
    kps = np.array(ann["keypoints"]).reshape(16, 3)
    np.testing.assert_array_equal(kps[:, 2], lab.visibility)
    assert np.all(kps[lab.visibility == 0] == 0)
    assert ann["num_keypoints"] == int((lab.visibility > 0).sum())
    x1, y1, x2, y2 = lab.box.xyxy[0]
    assert ann["bbox"] == pytest.approx([x1, y1, x2 - x1, y2 - y1]) and ann["area"] == pytest.approx((x2 - x1) * (y2 - y1))
    assert obj["annotations"][1]["fdpose_box"] is False
    cat = obj["categories"][0]
    assert cat["keypoints"][0] == "r_ankle" and len(cat["keypoints"]) == 16 and [1, 2] in cat["skeleton"]
    # Images are found through --images and linked next to the restored labels.
    back = convert(tmp_path / "coco.json", tmp_path / "back", "labelme", images=src)
    assert back.images_placed == 6 and not back.images_missing
    assert_same_labels(tmp_path / "back", labels)


def test_coco_to_labelme_without_images_warns_and_keeps_image_path(tmp_path: Path, labelled) -> None:
    src, labels = labelled
    convert(src, tmp_path / "c" / "coco.json", "coco")
    report = convert(tmp_path / "c" / "coco.json", tmp_path / "back", "labelme")
    assert len(report.images_missing) == 6 and "6 image(s) not found" in report.warnings[0]
    frames = load_labelme_folder(tmp_path / "back")
    assert [f.label.image_path for f in frames][:1] == ["00000.jpg"]
    np.testing.assert_allclose(frames[0].label.xy, labels["01/clip_a/00000"].xy, atol=TOL, equal_nan=True)


def test_mpii_coco_chain_keeps_labels(tmp_path: Path, labelled) -> None:
    src, labels = labelled
    convert(src, tmp_path / "m" / "a.json", "mpii")
    convert(tmp_path / "m" / "a.json", tmp_path / "c.json", "coco")
    obj = json.loads((tmp_path / "c.json").read_text())
    assert obj["images"][3]["file_name"] == "02/00000.jpg"  # original names, not 000004.jpg
    with pytest.raises(InputError, match=r"c.json: annotations\[0\]: image not found"):
        convert(tmp_path / "c.json", tmp_path / "m2" / "b.json", "mpii", images=tmp_path / "m" / "images")
    convert(tmp_path / "c.json", tmp_path / "m2" / "b.json", "mpii", images=src)
    convert(tmp_path / "m2" / "b.json", tmp_path / "back", "labelme")
    assert_same_labels(tmp_path / "back", labels)


def test_center_scale_arithmetic_matches_mmpose_reading() -> None:
    box = np.array([100.25, 40.5, 180.75, 210.0])
    center, scale = mpii.box_to_center_scale(box)
    assert scale == pytest.approx((210.0 - 40.5) / 200)
    assert center.tolist() == pytest.approx([140.5 + 1, 125.25 + 1 - 15 * scale])
    c0, side = mpii.mmpose_center_scale(center, scale)
    np.testing.assert_allclose(c0, [140.5, 125.25], atol=1e-9)
    assert side == pytest.approx(169.5)
    np.testing.assert_allclose(mpii.square_box(c0, side), [55.75, 40.5, 225.25, 210.0])


def test_record_without_bbox_reads_mmpose_square_box(tmp_path: Path) -> None:
    rec = {"image": "000001.jpg", "joints": [[10.0, 20.0]] * 16, "joints_vis": [1] * 16, "center": [51.0, 41.0], "scale": 0.5}
    label = mpii.record_to_label(rec, tmp_path / "x.json", 0)
    # mmpose: centre (51, 41 + 15 * 0.5) - 1 = (50, 47.5), side 100.
    np.testing.assert_allclose(label.box.xyxy[0], [0.0, -2.5, 100.0, 97.5])
    assert (label.visibility == 2).all()


def test_detect_format(tmp_path: Path, labelled) -> None:
    src, _ = labelled
    convert(src, tmp_path / "m" / "a.json", "mpii")
    convert(src, tmp_path / "c.json", "coco")
    assert detect_format(src)[0] is Format.LABELME
    assert detect_format(src / "02" / "00001.json")[0] is Format.LABELME
    assert detect_format(tmp_path / "m" / "a.json")[0] is Format.MPII
    assert detect_format(tmp_path / "c.json")[0] is Format.COCO
    with pytest.raises(ConfigError, match="already labelme"):
        convert(src, tmp_path / "again", "labelme")


def test_existing_outputs_need_overwrite(tmp_path: Path, labelled) -> None:
    src, labels = labelled
    convert(src, tmp_path / "c.json", "coco")
    with pytest.raises(InputError, match="use --overwrite") as exc:
        convert(src, tmp_path / "c.json", "coco")
    assert str(exc.value).startswith(str(tmp_path / "c.json"))
    convert(src, tmp_path / "c.json", "coco", overwrite=True)
    convert(tmp_path / "c.json", tmp_path / "back", "labelme", images=src)
    with pytest.raises(InputError, match="output exists"):
        convert(tmp_path / "c.json", tmp_path / "back", "labelme", images=src)
    convert(tmp_path / "c.json", tmp_path / "back", "labelme", images=src, overwrite=True)
    assert_same_labels(tmp_path / "back", labels)


def test_foreign_coco_and_mpii_files_convert(tmp_path: Path) -> None:
    """Files not written by fdpose: mmpose joint names, no fdpose keys, two people on one image."""
    from fdpose.annotations.coco import MMPOSE_NAMES

    kps = [float(v) for j in range(16) for v in (10.0 + j, 20.5 + j, 2)]
    small = [0.0] * 45 + [5.0, 5.0, 2]  # one visible joint: fewer than the other person
    coco = {
        "images": [{"id": 7, "file_name": "a/img.png", "width": 64, "height": 48}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "keypoints": small, "bbox": [0, 0, 9, 9]},
            {"id": 2, "image_id": 7, "category_id": 1, "keypoints": kps, "bbox": [1.5, 2.5, 30, 40]},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": list(MMPOSE_NAMES)}],
    }
    (tmp_path / "c.json").write_text(json.dumps(coco))
    convert(tmp_path / "c.json", tmp_path / "out", "labelme")
    (fr,) = load_labelme_folder(tmp_path / "out")
    assert fr.id == "a/img" and fr.label.image_path == "img.png"
    np.testing.assert_allclose(fr.label.box.xyxy[0], [1.5, 2.5, 31.5, 42.5])
    assert fr.label.xy[15].tolist() == [25.0, 35.5] and (fr.label.visibility == 2).all()
    assert (fr.label.image_width, fr.label.image_height) == (64, 48)
    rec = {"image": "000123.jpg", "joints": [[-1, -1]] * 15 + [[3.0, 4.0]], "joints_vis": [0] * 15 + [1],
           "center": [51.0, 41.0], "scale": 0.5}
    (tmp_path / "m.json").write_text(json.dumps([rec]))
    convert(tmp_path / "m.json", tmp_path / "out2", "labelme")
    (fr,) = load_labelme_folder(tmp_path / "out2")
    assert fr.id == "000123" and fr.label.visibility.tolist() == [0] * 15 + [2]
    np.testing.assert_allclose(fr.label.box.xyxy[0], [0.0, -2.5, 100.0, 97.5])


def test_images_kept_outside_the_label_folder(tmp_path: Path) -> None:
    """Labels in labels/<seq>/, images in frames/<seq>/ (imagePath ../../frames/...), as fdpose synth writes."""
    labels = make_folder(tmp_path / "labels", seed=9, sequences=("m/1",), per_seq=2)
    for p in sorted((tmp_path / "labels").rglob("*.json")):
        img = p.with_suffix(".jpg")
        dst = tmp_path / "frames" / img.relative_to(tmp_path / "labels")
        dst.parent.mkdir(parents=True, exist_ok=True)
        img.rename(dst)
        p.write_text(p.read_text().replace(f'"imagePath": "{img.name}"', f'"imagePath": "../../../frames/m/1/{img.name}"'))
    report = convert(tmp_path / "labels", tmp_path / "c.json", "coco")
    assert "2 image(s) lie outside" in report.warnings[0]
    report = convert(tmp_path / "labels", tmp_path / "c.json", "coco", images=tmp_path / "frames", overwrite=True)
    assert not report.warnings
    assert [im["file_name"] for im in json.loads((tmp_path / "c.json").read_text())["images"]] == ["m/1/00000.jpg", "m/1/00001.jpg"]
    convert(tmp_path / "labels", tmp_path / "m" / "a.json", "mpii")  # imagePath resolves the images
    convert(tmp_path / "m" / "a.json", tmp_path / "back", "labelme")
    assert_same_labels(tmp_path / "back", labels)


def test_mpii_export_killed_between_its_two_json_writes_completes_on_rerun(tmp_path: Path, labelled) -> None:
    """A kill after image_ids.json and before the MPII JSON leaves the mapping alone: the rerun (no
    --overwrite) completes the same files; an image_ids.json of another conversion is still refused."""
    src, _ = labelled
    convert(src, tmp_path / "ref" / "train.json", "mpii")
    out = tmp_path / "out"
    convert(src, out / "train.json", "mpii")
    (out / "train.json").unlink()  # the state the kill leaves: images and image_ids.json, no MPII JSON
    convert(src, out / "train.json", "mpii")
    for name in ("train.json", "image_ids.json"):
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    other = json.loads((out / "image_ids.json").read_text())
    other["000001.jpg"] = "elsewhere/00000.jpg"
    (out / "image_ids.json").write_text(json.dumps(other))
    (out / "train.json").unlink()
    with pytest.raises(InputError, match="output exists"):
        convert(src, out / "train.json", "mpii")
    with pytest.raises(InputError, match="output exists"):  # the named output itself is never replaced
        convert(src, tmp_path / "ref" / "train.json", "mpii")
