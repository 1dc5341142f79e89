"""Any file that is not an AQA checkpoint is one :class:`InputError` naming it, whatever bytes it holds.

Arbitrary bytes drive torch's weights-only unpickler into IndexError/KeyError/... (text starting with
``t``: "pop from empty list"), which ``eval-aqa``, ``score`` and ``train-aqa --resume`` printed as a
traceback; and torch's own message advises ``weights_only=False``, which fdpose never does.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from fdpose.aqa_model.checkpoint import load_checkpoint, save_checkpoint
from fdpose.errors import InputError

BODIES = {
    "text": b"this is not a checkpoint",  # IndexError inside torch's unpickler
    "random": bytes(random.Random(0).getrandbits(8) for _ in range(3000)),
    "empty": b"",
    "json": b'{"format": "fdpose-aqa-checkpoint"}',
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_unreadable_bytes_are_one_input_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.pt"
    path.write_bytes(BODIES[name])
    with pytest.raises(InputError) as err:
        load_checkpoint(path)
    text = str(err.value)
    assert text.startswith(f"{path}: not a readable checkpoint"), text
    assert "\n" not in text and "weights_only" not in text, text


def test_a_pickled_object_is_refused_without_running_it(tmp_path: Path, mkdir_payload: tuple[object, Path]) -> None:
    payload, marker = mkdir_payload
    path = tmp_path / "evil.pt"
    torch.save({"format": "fdpose-aqa-checkpoint", "model": payload}, path)
    with pytest.raises(InputError, match="not a readable checkpoint") as err:
        load_checkpoint(path)
    assert "weights_only" not in str(err.value) and not marker.exists()


def test_truncated_checkpoint_is_refused_and_a_whole_one_loads(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"config": {"preset": "tiny"}, "model": {"w": torch.arange(4.0)}})
    assert torch.equal(load_checkpoint(good)["model"]["w"], torch.arange(4.0))
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match=f"^{cut}: not a readable checkpoint"):
        load_checkpoint(cut)


@pytest.mark.parametrize("name", ["text", "random"])
def test_official_checkpoint_reader_gives_the_same_short_reasons(tmp_path: Path, name: str) -> None:
    from fdpose.aqa_model.official_checkpoint import read_official_checkpoint

    path = tmp_path / f"{name}.pth"
    path.write_bytes(BODIES[name])
    with pytest.raises(InputError) as err:
        read_official_checkpoint(path)
    assert str(err.value) == f"{path}: cannot read the official checkpoint: not a torch checkpoint or damaged"
