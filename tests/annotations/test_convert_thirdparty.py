"""The exports load in the tools they are for: pycocotools (COCO) and mmpose's MpiiDataset (MPII)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from fdpose.annotations import mpii
from fdpose.annotations.coco import MPII_SIGMAS
from fdpose.annotations.convert import convert

from label_factory import make_folder


def test_pycocotools_loads_export_and_self_evaluates_to_ap_one(tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    labels = make_folder(tmp_path / "src", seed=11)
    convert(tmp_path / "src", tmp_path / "coco.json", "coco")
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / "coco.json"))
    ann_ids = gt.getAnnIds(imgIds=gt.getImgIds(), catIds=[1])
    assert len(ann_ids) == len(labels) == 6
    anns = gt.loadAnns(ann_ids)
    lab = list(labels.values())[0]
    kps = np.array(anns[0]["keypoints"]).reshape(16, 3)
    np.testing.assert_allclose(kps[lab.visibility > 0, :2], lab.xy[lab.visibility > 0], atol=1e-9)
    assert gt.loadCats(1)[0]["keypoints"][9] == "head_top"
    # Self-evaluation: detections equal to the ground truth must give AP = 1 with our sigmas.
    dets = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0} for a in anns]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.kpt_oks_sigmas = np.array(MPII_SIGMAS)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    # A detection 10 px off on every joint must score lower: the evaluation is not vacuous.
    shifted = [dict(d, keypoints=[v + 10.0 if k % 3 != 2 else v for k, v in enumerate(d["keypoints"])]) for d in dets]
    with contextlib.redirect_stdout(io.StringIO()):
        ev2 = COCOeval(gt, gt.loadRes(shifted), "keypoints")
        ev2.params.kpt_oks_sigmas = np.array(MPII_SIGMAS)
        ev2.evaluate()
        ev2.accumulate()
        ev2.summarize()
    assert ev2.stats[0] < 0.9


@pytest.mark.filterwarnings("ignore:The metainfo config file")  # mmpose finds its bundled mpii.py metainfo
def test_mmpose_mpii_dataset_reproduces_our_boxes_and_joints(tmp_path: Path) -> None:
    datasets = pytest.importorskip("mmpose.datasets", reason="mmpose (OpenMMLab stack) not installed")
    labels = make_folder(tmp_path / "src", seed=12)
    convert(tmp_path / "src", tmp_path / "mpii" / "train.json", "mpii")
    records = json.loads((tmp_path / "mpii" / "train.json").read_text())
    ds = datasets.MpiiDataset(
        ann_file="train.json",
        data_root=str(tmp_path / "mpii"),
        data_prefix=dict(img="images/"),
        test_mode=True,
        pipeline=[],
    )
    assert len(ds) == len(labels)
    for i, (lab, rec) in enumerate(zip(labels.values(), records)):
        info = ds.get_data_info(i)
        assert info["img_path"] == str(tmp_path / "mpii" / "images" / f"{i + 1:06d}.jpg")
        assert info["img_id"] == i + 1
        kp = np.asarray(info["keypoints"]).reshape(16, 2)
        vis = np.asarray(info["keypoints_visible"]).reshape(16)
        present = lab.visibility > 0
        np.testing.assert_allclose(kp[present], lab.xy[present], atol=1e-3)
        np.testing.assert_allclose(kp[~present], -1.0)
        np.testing.assert_array_equal(vis, (lab.visibility == 2).astype(float))
        # mmpose's box is the square (side = longer box side) about our box centre; its
        # float32 centre/scale arithmetic keeps it within 1e-3 px for 455x256 frames.
        box = lab.box.xyxy[0] if lab.box is not None else mpii.crop_box(lab)
        c = (box[:2] + box[2:]) / 2
        side = max(box[2] - box[0], box[3] - box[1])
        np.testing.assert_allclose(np.asarray(info["bbox_center"]).reshape(2), c, atol=1e-3)
        np.testing.assert_allclose(np.asarray(info["bbox_scale"]).reshape(2), [side, side], atol=1e-3)
        np.testing.assert_allclose(np.asarray(info["bbox"]).reshape(4), [*(c - side / 2), *(c + side / 2)], atol=1e-3)
        # Our exact (non-square) box rides along in the record for the round trip.
        if lab.box is not None:
            sq = np.asarray(info["bbox"]).reshape(4)
            assert np.all(sq[:2] <= box[:2] + 1e-3) and np.all(sq[2:] >= box[2:] - 1e-3)  # contains our box
            assert rec["bbox"] == pytest.approx(lab.box.xyxy[0].tolist())
