"""annotations/dataset.py: reading a labelled LabelMe folder with stable ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import FdposeError, InputError, ValidationError
from fdpose.annotations.dataset import (
    REVIEW_REPORT_NAME,
    find_label_files,
    frames_by_id,
    load_frame,
    load_labelme_folder,
)

from label_factory import make_folder, random_label, write_frame


def test_folder_is_read_recursively_sorted_with_sequence_and_frame(tmp_path: Path) -> None:
    labels = make_folder(tmp_path, seed=1, sequences=("b/clip", "a"), per_seq=2)
    write_frame(tmp_path, "top.json", random_label(np.random.default_rng(5)))
    frames = load_labelme_folder(tmp_path)
    assert [f.id for f in frames] == ["a/00000", "a/00001", "b/clip/00000", "b/clip/00001", "top"]
    top = frames[-1]
    assert (top.sequence, top.frame, top.rel_json) == ("", "top", "top.json")
    clip = frames[2]
    assert (clip.sequence, clip.frame) == ("b/clip", "00000")
    np.testing.assert_array_equal(clip.label.visibility, labels["b/clip/00000"].visibility)
    np.testing.assert_allclose(clip.label.xy, labels["b/clip/00000"].xy, equal_nan=True)
    assert clip.image_rel() == "b/clip/00000.jpg"
    assert clip.image_file() == tmp_path / "b/clip/00000.jpg"
    assert frames_by_id(frames)["a/00001"] is frames[1]


def test_hidden_files_and_review_report_are_skipped(tmp_path: Path) -> None:
    make_folder(tmp_path, sequences=("s",), per_seq=1)
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "x.json").write_text("{}")
    (tmp_path / REVIEW_REPORT_NAME).write_text('{"summary": {}}')
    assert [p.relative_to(tmp_path).as_posix() for p in find_label_files(tmp_path)] == ["s/00000.json"]


def test_single_file_root_and_images_root(tmp_path: Path) -> None:
    path = write_frame(tmp_path, "seq/00007.json", random_label(np.random.default_rng(2)))
    frames = load_labelme_folder(path)
    assert len(frames) == 1 and frames[0].id == "00007" and frames[0].sequence == ""
    fr = load_frame(tmp_path, path)
    other = tmp_path / "mirror"
    assert fr.image_file(other) == other / "seq" / "00007.jpg"
    assert fr.image_rel(other) == "seq/00007.jpg"


def test_image_outside_root_falls_back_to_label_layout(tmp_path: Path) -> None:
    lab = random_label(np.random.default_rng(3))
    path = write_frame(tmp_path / "labels", "s/00001.json", lab)
    text = path.read_text().replace('"imagePath": "00001.jpg"', '"imagePath": "../../../frames/00001.jpg"')
    path.write_text(text)
    fr = load_frame(tmp_path / "labels", path)
    assert fr.image_file() == tmp_path / "labels" / "s" / "../../../frames/00001.jpg"
    assert fr.image_rel() == "s/00001.jpg" and fr.image_outside_root()
    assert fr.image_rel(tmp_path / "frames") == "s/00001.jpg" and not fr.image_outside_root(tmp_path / "frames")


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        load_labelme_folder(tmp_path / "missing")
    make_folder(tmp_path, sequences=("s",), per_seq=1)
    bad = tmp_path / "s" / "00009.json"
    bad.write_text('{"shapes": [{"label": "r_knee", "points": [[1, 2], [3, 4]], "shape_type": "point"}], "imagePath": "x.jpg"}')
    with pytest.raises(ValidationError) as exc:
        load_labelme_folder(tmp_path)
    assert str(exc.value).startswith(f"{bad}: shape[0] r_knee: joint must be a single point")
    bad.write_text("{not json")
    with pytest.raises(FdposeError, match="invalid JSON"):
        load_labelme_folder(tmp_path)
