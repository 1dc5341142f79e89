"""Ground truth of the synthetic world: boxes, joints, LabelMe files, stages, detections, video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from fdpose.annotations.labelme import read_labelme
from fdpose.annotations.protocol import doc_to_label
from fdpose.finediving import load_annotations, transits_from_labels
from fdpose.finediving_checks import validate
from fdpose.skeleton import JOINT_NAMES, NUM_JOINTS
from fdpose.synth.detections import parse_mot_line


def _gts(root: Path) -> list[dict]:
    files = sorted((root / "gt").glob("*/*.json"))
    assert len(files) == 3
    return [json.loads(p.read_text()) for p in files]


def _iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_layout_and_world_json(small_world):
    root, world = small_world
    assert world["totals"]["clips"] == 3 and world["seed"] == 7
    assert json.loads((root / "world.json").read_text()) == json.loads(json.dumps(world))
    for clip in world["clips"]:
        m, i = clip["match"], clip["idx"]
        assert m.startswith("Synth") and "_final_r" in m and isinstance(i, int)
        n = clip["num_frames"]
        jpgs = sorted((root / "frames" / m / str(i)).glob("*.jpg"))
        assert [p.name for p in jpgs] == [f"{f:05d}.jpg" for f in range(n)]
        assert cv2.imread(str(jpgs[0])).shape == (256, 455, 3)
        assert (root / "gt" / m / f"{i}.json").is_file()
        assert (root / "detections" / m / f"{i}.txt").is_file()
        cap = cv2.VideoCapture(str(root / "videos" / f"{m}__{i}.mp4"))
        count = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (256, 455, 3)
            count += 1
        cap.release()
        assert count == n
    assert "penalties" in world["scoring"] and world["scoring"]["judges"]["count"] == 7


def test_boxes_and_joints_are_consistent(small_world):
    root, _ = small_world
    seen_vis = set()
    drawn_frames = 0
    for gt in _gts(root):
        W, H = gt["image_width"], gt["image_height"]
        assert gt["joint_names"] == list(JOINT_NAMES)
        for fr in gt["frames"]:
            joints = np.array(fr["diver"]["joints"], dtype=np.float64)
            assert joints.shape == (NUM_JOINTS, 3)
            vis = joints[:, 2].astype(int)
            seen_vis.update(vis.tolist())
            inside = (joints[:, 0] >= 0) & (joints[:, 0] <= W - 1) & (joints[:, 1] >= 0) & (joints[:, 1] <= H - 1)
            assert np.all((vis == 0) == ~inside), fr["frame_index"]  # 0 exactly when off-image
            box = fr["diver"]["box"]
            roles = [p["role"] for p in fr["persons"]]
            if box is None:
                assert not np.any(vis == 2)
                assert "diver" not in roles
                continue
            drawn_frames += 1
            assert roles.count("diver") == 1
            x1, y1, x2, y2 = box
            assert 0 <= x1 < x2 <= W - 1 and 0 <= y1 < y2 <= H - 1
            v = joints[vis == 2]
            assert np.all((v[:, 0] >= x1) & (v[:, 0] <= x2) & (v[:, 1] >= y1) & (v[:, 1] <= y2)), fr["frame_index"]
            for p in fr["persons"]:
                b = p["box"]
                assert p["role"] in ("diver", "spectator", "judge")
                assert 0 <= b[0] < b[2] <= W - 1 and 0 <= b[1] < b[3] <= H - 1
    assert seen_vis == {0, 1, 2} or seen_vis == {1, 2}
    assert drawn_frames > 60


def test_labelme_files_equal_ground_truth(small_world):
    root, _ = small_world
    checked = 0
    for gt in _gts(root):
        m, i = gt["match"], gt["idx"]
        for fr in gt["frames"]:
            f = fr["frame_index"]
            path = root / "labelme" / m / str(i) / f"{f:05d}.json"
            if fr["diver"]["box"] is None:
                assert not path.exists()
                continue
            doc = read_labelme(path)
            assert doc.image_path == f"../../../frames/{m}/{i}/{f:05d}.jpg"
            assert doc.image_file().resolve() == (root / fr["image"]).resolve() and doc.image_file().is_file()
            assert doc.image_data is None and (doc.image_height, doc.image_width) == (256, 455)
            label = doc_to_label(doc)
            assert label.box is not None and np.allclose(label.box.xyxy[0], fr["diver"]["box"])
            joints = np.array(fr["diver"]["joints"])
            assert np.array_equal(label.visibility, joints[:, 2].astype(np.int8))
            present = joints[:, 2] > 0
            assert np.array_equal(label.xy[present], joints[present, :2])
            assert np.all(np.isnan(label.xy[~present]))
            checked += 1
    assert checked > 60


def test_stage_labels_follow_transits(small_world):
    root, _ = small_world
    ann = load_annotations(root / "annotations")
    assert validate(ann) == []
    for gt in _gts(root):
        rec = ann.fine[(gt["match"], gt["idx"])]
        labels = np.array(gt["stages"]["frames_labels"])
        assert np.array_equal(labels, rec.frames_labels)
        t = gt["stages"]["steps_transit_frames"]
        assert t == rec.steps_transit_frames.tolist() == transits_from_labels(labels).tolist()
        assert len(t) == 2
        assert [fr["stage_label"] for fr in gt["frames"]] == labels.tolist()
        assert [fr["stage"] for fr in gt["frames"]] == [int(np.searchsorted(t, f)) for f in range(len(labels))]
        assert labels[-1] == 36 and rec.sub_action_types[36] == "Entry"
        # The diver is on the board at the first frame and gone below the water by the end.
        assert gt["frames"][0]["diver"]["box"] is not None
        assert gt["frames"][-1]["diver"]["box"] is None


def test_detections_file_format_and_difficulty(small_world):
    root, _ = small_world
    diver_found = diver_frames = outscored = 0
    for gt in _gts(root):
        lines = (root / "detections" / gt["match"] / f"{gt['idx']}.txt").read_text().splitlines()
        per_frame: dict[int, list] = {}
        for line in lines:
            parts = line.split(",")
            assert len(parts) == 10 and parts[1] == "-1" and parts[7:] == ["-1", "-1", "-1"]
            f, box, score = parse_mot_line(line)
            assert 1 <= f + 1 <= gt["num_frames"]  # written 1-based
            assert 0 <= box[0] < box[2] <= 454 and 0 <= box[1] < box[3] <= 255 and 0 < score < 1
            per_frame.setdefault(f, []).append((box, score))
        for fr in gt["frames"]:
            box = fr["diver"]["box"]
            if box is None:
                continue
            diver_frames += 1
            dets = per_frame.get(fr["frame_index"], [])
            match = [s for b, s in dets if _iou(b, box) > 0.5]
            if match:
                diver_found += 1
                others = [p["box"] for p in fr["persons"] if p["role"] != "diver"]
                best_other = max((s for b, s in dets if any(_iou(b, o) > 0.5 for o in others)), default=0.0)
                outscored += best_other > max(match)
    assert diver_found / diver_frames > 0.6
    assert outscored >= 3  # spectators/judges beat the blurred, contorted diver on some frames
    assert outscored < diver_found
