"""Annotation pickles are read with a restricted unpickler; atomic writes respect the umask."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import InputError
from fdpose.io import atomic_write_text, read_pickle, write_json, write_pickle


class _Payload:
    """Would create ``marker`` when unpickled by a plain ``pickle.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_refused_without_running_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "FineDiving_fine-grained_annotation.pkl"
    bad.write_bytes(pickle.dumps({("01", 1): _Payload(marker)}))
    with pytest.raises(InputError) as err:
        read_pickle(bad)
    msg = str(err.value)
    assert "\n" not in msg and str(bad) in msg and "refused" in msg and "system" in msg
    assert not marker.exists()
    # the plain unpickler would have run it: the test's payload is live
    pickle.loads(bad.read_bytes())
    assert marker.exists()


def test_annotation_like_objects_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    obj = {("01", 1): {"dive_score": np.float64(71.4), "frames_labels": rng.integers(0, 5, 96),
                       "steps": ["take-off", "flight"], "difficulty": 3.2, "flag": True, "none": None,
                       "pair": (np.int64(3), np.float32(0.5)), "arr": rng.normal(size=(2, 3)).astype(np.float32)}}
    path = write_pickle(tmp_path / "a.pkl", obj)
    back = read_pickle(path)
    rec, want = back[("01", 1)], obj[("01", 1)]
    assert rec["dive_score"] == want["dive_score"] and rec["steps"] == want["steps"] and rec["flag"] is True
    np.testing.assert_array_equal(rec["frames_labels"], want["frames_labels"])
    np.testing.assert_array_equal(rec["arr"], want["arr"])
    assert rec["pair"] == want["pair"]


def test_real_finediving_pickles_load(shared_data: Path) -> None:
    from fdpose.finediving import load_annotations

    ann = load_annotations(shared_data / "finediving")
    assert (len(ann.fine), len(ann.coarse), len(ann.train), len(ann.test)) == (3000, 3000, 2251, 749)


def test_truncated_pickle_is_one_line(tmp_path: Path) -> None:
    path = write_pickle(tmp_path / "t.pkl", {"a": np.arange(10)})
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(InputError, match="not a readable annotation pickle"):
        read_pickle(path)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_respect_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        a = atomic_write_text(tmp_path / "a.txt", "x")
        b = write_json(tmp_path / "sub" / "b.json", {"k": 1})
        c = write_pickle(tmp_path / "c.pkl", [1, 2])
    finally:
        os.umask(old)
    for p in (a, b, c):
        assert p.stat().st_mode & 0o777 == mode, (p, oct(p.stat().st_mode))
    assert (tmp_path / "sub").stat().st_mode & 0o777 == 0o777 & ~umask


def test_nan_dive_score_names_the_file_and_key(tmp_path: Path) -> None:
    """A NaN score is refused when the annotations are read, not discovered as a NaN loss in training."""
    from fdpose.finediving import FINE_GRAINED_FILE, load_annotations

    rec = {"action_type": "107B", "dive_score": float("nan"), "difficulty": 3.0,
           "steps_transit_frames": np.array([10, 40]), "frames_labels": np.zeros(60, dtype=np.int64),
           "sub-action_types": {0: "take-off"}}
    folder = tmp_path / "ann"
    write_pickle(folder / FINE_GRAINED_FILE, {("01", 1): rec})
    with pytest.raises(InputError) as err:
        load_annotations(folder)
    assert str(err.value) == f"{folder / FINE_GRAINED_FILE}: ('01', 1): dive_score is nan (not a finite number)"


def test_truncated_jpeg_frame_is_decoded_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import cv2

    from fdpose.video import jpeg_is_truncated, read_image

    rng = np.random.default_rng(0)
    good = tmp_path / "00000.jpg"
    cv2.imwrite(str(good), rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))
    cut = tmp_path / "00001.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert not jpeg_is_truncated(good) and jpeg_is_truncated(cut)
    with caplog.at_level("WARNING", logger="fdpose.video"):
        assert read_image(good).shape == (64, 80, 3)
        assert not caplog.records
        assert read_image(cut).shape == (64, 80, 3)
    assert len(caplog.records) == 1 and str(cut) in caplog.records[0].getMessage()
    assert "truncated JPEG" in caplog.records[0].getMessage()


def test_failed_write_names_the_output_and_leaves_nothing(tmp_path: Path) -> None:
    import errno

    def full_disk(fh: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    from fdpose.io import _atomic_write

    with pytest.raises(OSError) as err:
        _atomic_write(tmp_path / "out.bin", full_disk)  # type: ignore[arg-type]
    assert err.value.filename == str(tmp_path / "out.bin") and err.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
