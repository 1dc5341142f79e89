"""HRNet/pose checkpoints holding Python objects torch's weights-only loader refuses: one line saying what
the file holds, never "not a torch checkpoint or damaged" (torch words a blocked module, e.g. ``posix``,
differently from a class outside the allow-list, and only the latter was recognised)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from fdpose.errors import InputError

pytest.importorskip("mmengine")


def _refusal(path: Path) -> str:
    from fdpose.hrnet_finetune.checkpoints import torch_load

    with pytest.raises(InputError) as err:
        torch_load(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text and "damaged" not in text, text
    return text


def test_blocked_module_payload_is_named_and_not_run(tmp_path: Path, mkdir_payload: tuple[object, Path]) -> None:
    payload, marker = mkdir_payload
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "meta": payload}, path)
    text = _refusal(path)
    assert f"holds an object of type {os.mkdir.__module__}.mkdir" in text and not marker.exists(), text


def test_class_outside_the_allow_list_is_named(tmp_path: Path) -> None:
    path = tmp_path / "fraction.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "meta": {"ratio": Fraction(1, 3)}}, path)
    assert "holds an object of type fractions.Fraction" in _refusal(path)


def test_damaged_file_is_still_called_damaged(tmp_path: Path) -> None:
    from fdpose.hrnet_finetune.checkpoints import torch_load

    path = tmp_path / "text.pth"
    path.write_text("this is not a checkpoint")
    with pytest.raises(InputError, match="not a torch checkpoint or damaged"):
        torch_load(path)
