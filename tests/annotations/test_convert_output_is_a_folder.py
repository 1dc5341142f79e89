"""``annotate convert --to mpii|coco`` with an existing folder as the output file: one ``error:`` line naming
it, exit 2, nothing written. It failed at the last step (``error: .../.out.<pid>.<rand>.tmp: out: Is a
directory``, exit 1) after the MPII export had already placed every image in ``images/`` beside it, with or
without ``--overwrite``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_group import annotate_group as _group
from label_factory import make_folder


@pytest.mark.parametrize("to", ["mpii", "coco"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_folder_as_json_output_is_refused_before_anything_is_written(tmp_path: Path, to: str, overwrite: bool) -> None:
    make_folder(tmp_path / "src", seed=3, sequences=("s",), per_seq=2)
    out = tmp_path / "out" / "ann"
    (out / "mine").mkdir(parents=True)
    (out / "mine" / "notes.txt").write_text("kept")
    args = ["convert", str(tmp_path / "src"), str(out), "--to", to] + (["--overwrite"] if overwrite else [])
    res = CliRunner().invoke(_group(), args)
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines() == [f"error: {out}: {to.upper()} output is a JSON file, not a folder"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ann"]  # no images/, no temp file
    assert (out / "mine" / "notes.txt").read_text() == "kept"
