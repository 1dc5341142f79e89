"""Encoder weight files (--i3d-weights, --static-weights) with a payload from a module torch blocks outright
(os/posix, subprocess): refused in one line naming the object, without torch's advice to retry with
``weights_only=False`` (that advice leaked through when the message was not a "WeightsUnpickler error")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from fdpose.aqa_model.encoders.weights import read_state_dict
from fdpose.errors import InputError


def test_blocked_module_payload_is_refused_by_name(tmp_path: Path, mkdir_payload: tuple[object, Path]) -> None:
    payload, marker = mkdir_payload
    path = tmp_path / "evil.pth"
    torch.save({"stem.conv.weight": torch.zeros(1), "x": payload}, path)
    with pytest.raises(InputError) as err:
        read_state_dict(path, "RegNetY")
    text = str(err.value)
    assert text == f"{path}: refused to load RegNetY weights: the file holds Python objects besides tensors " \
                   f"({os.mkdir.__module__}.mkdir)", text
    assert not marker.exists()


def test_text_file_is_named_as_not_a_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "text.pth"
    path.write_text("this is not a weight file")  # drives torch's unpickler into an IndexError
    with pytest.raises(InputError, match=r"cannot load RegNetY weights: not a torch file or damaged$"):
        read_state_dict(path, "RegNetY")
