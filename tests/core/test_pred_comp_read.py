"""A pose file (pred_comp npz) that is not one: one InputError naming it, and never numpy's advice to load
it "unsafely using the allow_pickle= keyword" (a text file got that advice from train-aqa, eval-aqa, score)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import InputError
from fdpose.sampling import read_pred_comp, write_pred_comp


def _refused(path: Path) -> str:
    with pytest.raises(InputError) as err:
        read_pred_comp(path, n=4)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    assert not re.search("allow_pickle|unsafe|pickle.load", text), text
    return text


def test_text_and_object_arrays_are_refused_without_unsafe_advice(tmp_path: Path) -> None:
    text = tmp_path / "text.npz"
    text.write_text("this is not a pose file")
    assert "not a readable .npz (not plain arrays" in _refused(text)
    obj = tmp_path / "object.npz"
    np.savez(obj, pred=np.array([{"x": 1}], dtype=object))
    assert "not a readable .npz (not plain arrays" in _refused(obj)


def test_truncated_archive_is_one_line_and_a_whole_one_reads(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    pred = np.random.default_rng(0).random((4, 16, 3)).astype(np.float32)
    write_pred_comp(good, pred, n=4)
    np.testing.assert_array_equal(read_pred_comp(good, n=4), pred)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert "not a readable .npz" in _refused(cut)
