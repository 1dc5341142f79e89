"""Precomputed detections: MOT det lines and JSON, lookup by clip id, malformed-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import InputError
from fdpose.pipelines.detectors import Boxes, PersonDetector
from fdpose.pipelines.detectors.file import (
    FileDetector, parse_mot_text, read_detection_json, write_detection_json, write_mot,
)

MOT = """\
# frame,id,x,y,w,h,score,x,y,z
1,-1,10.0,20.0,30.0,60.0,0.9,-1,-1,-1
1,-1,100,20,20,50,0.95,-1,-1,-1

3,7,12.5,22,30,58,0.4
"""


def test_parse_mot_is_one_based_and_xywh() -> None:
    dets = parse_mot_text(MOT, "x.txt")
    assert sorted(dets) == [0, 2] and all(isinstance(b, Boxes) for b in dets.values())
    assert dets[0].rows().tolist() == [[10.0, 20.0, 40.0, 80.0, 0.9], [100.0, 20.0, 120.0, 70.0, 0.95]]
    assert dets[2].rows().tolist() == [[12.5, 22.0, 42.5, 80.0, 0.4]]  # (the id column 7 is dropped)


@pytest.mark.parametrize("line, message", [
    ("1,-1,10,20,30", "line 2: expected at least 7"),
    ("1,-1,10,abc,30,60,0.9", "line 2: not a number: 'abc'"),
    ("0,-1,10,20,30,60,0.9", "line 2: frame must be an integer >= 1"),
    ("1.5,-1,10,20,30,60,0.9", "line 2: frame must be an integer >= 1"),
    ("1,-1,10,20,-3,60,0.9", "line 2: negative box size"),
    ("1,-1,10,20,nan,60,0.9", "line 2: non-finite value"),
])
def test_malformed_mot_line_names_file_and_line(line: str, message: str) -> None:
    with pytest.raises(InputError, match=f"det.txt: {message}"):
        parse_mot_text("1,-1,1,1,5,5,0.5\n" + line + "\n", "det.txt")


def test_file_detector_lookup_and_protocol(tmp_path: Path) -> None:
    root = tmp_path / "detections"
    (root / "MatchA").mkdir(parents=True)
    (root / "MatchA" / "3.txt").write_text(MOT)
    det = FileDetector(root)
    clip = det.for_clip("MatchA__3")
    assert isinstance(clip, PersonDetector)
    out = clip.detect([np.zeros((4, 4, 3), np.uint8)] * 3, [0, 1, 2])
    assert all(isinstance(o, Boxes) for o in out) and [len(o) for o in out] == [2, 0, 1]
    np.testing.assert_allclose(out[2].xyxy, [[12.5, 22, 42.5, 80]])
    np.testing.assert_allclose(out[2].score, [0.4])
    assert clip.info.name == "file" and clip.info.checkpoint.endswith("3.txt")
    assert len(clip.all_frames(5)) == 5
    with pytest.raises(InputError, match="no detections for clip 'MatchA__4'"):
        det.for_clip("MatchA__4")
    # a video clip id (file stem) is looked up at the root
    write_mot(root / "myvideo.txt", [Boxes(np.array([[1, 2, 11, 22]]), np.array([0.5])), Boxes.empty()])
    np.testing.assert_allclose(det.for_clip("myvideo").boxes(0).rows(), [[1, 2, 11, 22, 0.5]])


def test_mot_and_json_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    per_frame = []
    for k in [2, 0, 3]:
        xy = rng.uniform(0, 200, (k, 2))
        wh = rng.uniform(5, 50, (k, 2))
        per_frame.append(Boxes(np.concatenate([xy, xy + wh], axis=1), rng.uniform(0, 1, k)))
    write_mot(tmp_path / "mot" / "a.txt", per_frame)
    write_detection_json(tmp_path / "json" / "a.json", per_frame, clip_id="a")
    for sub in ("mot", "json"):
        got = FileDetector(tmp_path / sub).for_clip("a")
        for t, ref in enumerate(per_frame):
            assert len(got.boxes(t)) == len(ref)
            np.testing.assert_allclose(got.boxes(t).rows(), ref.rows(), atol=2e-3)


def test_json_errors(tmp_path: Path) -> None:
    p = tmp_path / "d.json"
    p.write_text('{"frames": [{"frame_index": 0, "boxes": [[1, 2, 3]]}]}')
    with pytest.raises(InputError, match=r"d.json: frames\[0\]: boxes: expected \(K, 5\)"):
        read_detection_json(p)
    p.write_text('{"frames": [{"frame_index": -1, "boxes": []}]}')
    with pytest.raises(InputError, match="frame_index must be an integer >= 0"):
        read_detection_json(p)
    p.write_text('[1, 2]')
    with pytest.raises(InputError, match='expected an object with a "frames" list'):
        read_detection_json(p)

