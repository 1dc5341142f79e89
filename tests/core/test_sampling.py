"""The 96 aligned indices (loader rule) and pred_comp npz files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import InputError, ValidationError
from fdpose.sampling import (
    NUM_SAMPLED_FRAMES, aligned_indices, fill_nonfinite, gather_sampled, pred_comp_path, read_pred_comp,
    split_clip_id, write_pred_comp,
)


def loader_positions(first: int, count: int) -> np.ndarray:
    """What the public FineDiving / HP-MCoRe loaders compute from file names first..first+count-1."""
    end = first + count - 1
    frame_list = np.linspace(first, end, 96).astype(int)
    return np.array([frame_list[i] - first for i in range(96)])


@pytest.mark.parametrize("count", [1, 2, 50, 95, 96, 97, 103, 250, 1001])
def test_video_indices_follow_linspace(count: int) -> None:
    idx = aligned_indices(count)
    assert idx.shape == (NUM_SAMPLED_FRAMES,) and idx.dtype == np.int64
    np.testing.assert_array_equal(idx, np.linspace(0, count - 1, 96).astype(int))
    assert idx[0] == 0 and idx[-1] == count - 1
    assert np.all(np.diff(idx) >= 0)


def test_frame_numbers_reproduce_the_loader_exactly() -> None:
    # With a large first frame number the float arithmetic differs from linspace(0, T-1):
    differs = [t for t in range(90, 400) if not np.array_equal(loader_positions(16858, t),
                                                              np.linspace(0, t - 1, 96).astype(int))]
    assert differs  # the premise: the offset matters for some lengths
    for count in differs[:5] + [96, 130]:
        nums = list(range(16858, 16858 + count))
        np.testing.assert_array_equal(aligned_indices(count, nums), loader_positions(16858, count))


def test_non_consecutive_numbers_fall_back_to_positions() -> None:
    nums = [0, 1, 2, 5, 6]
    np.testing.assert_array_equal(aligned_indices(5, nums), np.linspace(0, 4, 96).astype(int))
    with pytest.raises(ValidationError, match="3 frame numbers for a clip of 5"):
        aligned_indices(5, [1, 2, 3])
    with pytest.raises(ValidationError, match="empty clip"):
        aligned_indices(0)


def test_gather_and_npz(tmp_path: Path, rng: np.random.Generator) -> None:
    seq = rng.uniform(0, 400, (130, 16, 3))
    idx = aligned_indices(130)
    pred = gather_sampled(seq, idx)
    assert pred.shape == (96, 16, 3)
    np.testing.assert_array_equal(pred[10], seq[idx[10]])
    path = pred_comp_path(tmp_path / "pose", "MatchA_2021", 7)
    assert path == tmp_path / "pose" / "MatchA_2021" / "pred_comp_7.npz"
    write_pred_comp(path, pred)
    with np.load(path) as data:
        assert data.files == ["pred"]
        assert data["pred"].shape == (96, 16, 3) and data["pred"].dtype == np.float32
    back = read_pred_comp(path)
    np.testing.assert_allclose(back, pred.astype(np.float32))
    assert not list(path.parent.glob(".*.tmp"))  # atomic write leaves no temp file


def test_npz_checks(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"\(96, 16, 3\) or \(96, 16, 2\), got \(95, 16, 3\)"):
        write_pred_comp(tmp_path / "a.npz", np.zeros((95, 16, 3)))
    bad = np.zeros((96, 16, 3))
    bad[4, 2, 0] = np.nan
    with pytest.raises(ValidationError, match="non-finite values \\(first at frame 4, joint 2\\)"):
        write_pred_comp(tmp_path / "a.npz", bad)
    np.savez(tmp_path / "b.npz", other=np.zeros(3))
    with pytest.raises(ValidationError, match="no 'pred' array"):
        read_pred_comp(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a readable .npz"):
        read_pred_comp(tmp_path / "c.npz")
    with pytest.raises(InputError, match="pose file not found"):
        read_pred_comp(tmp_path / "d.npz")
    with pytest.raises(ValidationError, match="sampled indices"):
        gather_sampled(np.zeros((5, 16, 3)), np.array([0, 5]))


def test_fill_nonfinite() -> None:
    pred = np.ones((6, 16, 3))
    pred[..., 0] = np.arange(6)[:, None]
    pred[1:3, 4, :2] = np.nan
    pred[:, 9, :2] = np.nan
    out = fill_nonfinite(pred)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[1, 4], [0, 1, 0])  # nearest frame 0, confidence 0
    np.testing.assert_allclose(out[2, 4], [3, 1, 0])  # nearest frame 3
    np.testing.assert_allclose(out[:, 9], 0.0)  # never seen
    np.testing.assert_allclose(out[0, 0], pred[0, 0])


def test_split_clip_id() -> None:
    assert split_clip_id("FINA_Men_10m__12") == ("FINA_Men_10m", "12")
    with pytest.raises(ValidationError):
        split_clip_id("just_a_video")


def test_resample_rows_picks_the_nearest_sampled_frame() -> None:
    from fdpose.sampling import resample_rows

    T, first = 137, 16858
    numbers = list(range(first, first + T))
    pos96 = aligned_indices(T, numbers, 96)
    # each row carries its own clip position, so the result shows which frame it came from
    pred = np.repeat(pos96.astype(np.float32)[:, None, None], 16, axis=1).repeat(3, axis=2)
    out = resample_rows(pred, T, numbers, 32)
    want = aligned_indices(T, numbers, 32)
    assert out.shape == (32, 16, 3)
    got = out[:, 0, 0].astype(int)
    assert np.all(np.abs(got - want) <= np.diff(pos96).max() / 2)  # here: at most one frame off
    shared = np.isin(want, pos96)
    assert shared.any() and np.array_equal(got[shared], want[shared])  # exact where the grids meet
    assert np.array_equal(resample_rows(pred, T, numbers, 96), pred)
    with pytest.raises(ValidationError, match=r"must be \(m, 16, C\)"):
        resample_rows(pred[:, :5], T, numbers, 32)
