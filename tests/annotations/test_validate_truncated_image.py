"""``annotate validate``: a frame image cut short (a JPEG without its end-of-image marker, e.g. a failed
copy) is an error: its header reads fine and OpenCV decodes the missing rows as grey, so the label's
points were placed on (or will train on) half a picture. It was not reported at all."""

from __future__ import annotations

from pathlib import Path

from test_validate import good_obj, write_doc

from fdpose.annotations.problems import Severity
from fdpose.annotations.validate import validate_file


def test_truncated_jpeg_is_an_error(tmp_path: Path) -> None:
    path = write_doc(tmp_path, good_obj())
    image = tmp_path / "00000.jpg"
    whole = image.read_bytes()
    fc = validate_file(path)
    assert not [p for p in fc.problems if p.severity is Severity.ERROR]
    image.write_bytes(whole[: len(whole) // 2])
    fc = validate_file(path)
    errors = [p for p in fc.problems if p.severity is Severity.ERROR]
    assert [p.code for p in errors] == ["image-truncated"], fc.problems
    assert errors[0].line() == (f"{path}: error: image file 00000.jpg is a truncated JPEG (no end-of-image marker: "
                                "only its first rows are real; extract the frame again)")
    assert fc.image_size == (455, 256)  # the header still gives the size the points are checked against
