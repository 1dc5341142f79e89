"""The detection files keep their bytes through the ``Boxes`` record (issue 13 B).

The hashes below were recorded with the code before ``fdpose.records.Boxes`` replaced the
``(K, 5)`` arrays and the ``Detection`` records (commit 34033b4): the seeded synth clip's MOT
file read by the ``file`` detector and written back as MOT and JSON gives the same bytes. A
hash of the synth's own file guards the input: if the simulator changes, re-record all three.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fdpose.pipelines.detectors.file import FileDetector, write_detection_json, write_mot
from fdpose.pipelines.tracking import track_diver
from fdpose.records import Boxes

CLIP = "SynthCup2026_Women10m_final_r1__1"
SYNTH_MOT = "a217f8f0474eb352eb145f7bb80654014f7bf2d696f113844b29b14c8184f8b0"
REWRITTEN = {
    f"{CLIP}.txt": "395f232d8c9e58f37a0ee907b564286c4435a056edb25d67d5bc626d82954a3f",
    f"{CLIP}.json": "b9c24746eaea039a719e0c3b686cf3dacde6830b86d58c95a026c774e5e5f6e6",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fdpose.cli.main import cli

    out = tmp_path_factory.mktemp("boxes") / "world"
    result = CliRunner().invoke(cli, ["synth", str(out), "-n", "1", "--seed", "0", "--no-video", "--json"])
    assert result.exit_code == 0, result.output
    return out


def test_detection_files_byte_identical(world: Path, tmp_path: Path) -> None:
    src = world / "detections" / "SynthCup2026_Women10m_final_r1" / "1.txt"
    assert _sha(src) == SYNTH_MOT, "the synth world changed: re-record the hashes of this test"
    gt = json.loads((world / "gt" / "SynthCup2026_Women10m_final_r1" / "1.json").read_text())
    cands = FileDetector(world / "detections").for_clip(CLIP).all_frames(gt["num_frames"])
    assert all(isinstance(c, Boxes) for c in cands) and sum(len(c) for c in cands) > 0
    write_mot(tmp_path / f"{CLIP}.txt", cands)
    write_detection_json(tmp_path / f"{CLIP}.json", cands, clip_id=CLIP)
    assert {name: _sha(tmp_path / name) for name in REWRITTEN} == REWRITTEN


def test_tracker_reads_boxes_as_its_rows(world: Path) -> None:
    gt = json.loads((world / "gt" / "SynthCup2026_Women10m_final_r1" / "1.json").read_text())
    cands = FileDetector(world / "detections").for_clip(CLIP).all_frames(gt["num_frames"])
    size = (gt["image_width"], gt["image_height"])
    a = track_diver(cands, image_size=size)
    b = track_diver([c.rows() for c in cands], image_size=size)
    assert a.found and np.isfinite(a.boxes[:, 0]).sum() > 10
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.candidate_index, b.candidate_index)
