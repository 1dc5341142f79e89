"""An output that cannot be written is one ``error:`` line naming it and a non-zero exit, in every command.

The tests run as root here, where a read-only folder is still writable: the unwritable output is a path
under a regular file (``BLOCK/x``), which fails for root too (ENOTDIR / EEXIST).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli


def _ok(args: list[str]) -> None:
    res = CliRunner().invoke(cli, ["-q", *args])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-clip synth world, a tiny AQA run on it and a track-and-estimate output (~20 s)."""
    pytest.importorskip("mediapipe")
    root = tmp_path_factory.mktemp("wf")
    _ok(["synth", str(root / "W"), "-n", "3", "--frames", "30", "--no-video", "--seed", "1"])
    _ok(["train-aqa", "--config", "tiny", "--annotations", str(root / "W/annotations"), "--data",
         str(root / "W/frames"), "--poses-from-gt", str(root / "W/gt"), "-o", str(root / "R"), "--epochs", "1",
         "--val-share", "0", "--threads", "1"])
    _ok(["track-and-estimate", str(root / "W/frames"), "-o", str(root / "T"), "--detections",
         str(root / "W/detections"), "--pose", "mediapipe", "--no-progress"])
    (root / "BLOCK").write_text("a regular file")
    return root


def _cases(root: Path) -> dict[str, list[str]]:
    w, block = root / "W", str(root / "BLOCK" / "x")
    clip = next(p for p in sorted((w / "frames").glob("*/*")) if p.is_dir())
    return {
        "synth": ["synth", block, "-n", "1", "--no-video"],
        "annotate init": ["annotate", "init", block],
        "annotate convert": ["annotate", "convert", str(w / "labelme"), block + ".json", "--to", "mpii",
                             "--images", str(w / "frames")],
        "finetune-hrnet": ["finetune-hrnet", str(w / "labelme"), "-o", block, "--arch", "hrnet-small", "--epochs", "1"],
        "track-and-estimate": ["track-and-estimate", str(w / "frames"), "-o", block, "--detections",
                               str(w / "detections"), "--pose", "mediapipe", "--no-progress"],
        "export": ["export", "--auto", str(root / "T"), "--annotations", str(w / "annotations"), "-o", block],
        "train-aqa": ["train-aqa", "--config", "tiny", "--annotations", str(w / "annotations"), "--data",
                      str(w / "frames"), "--poses-from-gt", str(w / "gt"), "-o", block, "--epochs", "1",
                      "--val-share", "0"],
        "eval-aqa": ["eval-aqa", str(root / "R" / "best.pt"), "--out", block, "--split", "train"],
        "score --pose-out": ["score", str(clip), "--checkpoint", str(root / "R" / "best.pt"), "--annotations",
                             str(w / "annotations"), "--exemplars", str(w / "frames"), "--poses-from-gt",
                             str(w / "gt"), "--no-dive-number", "--num-exemplars", "1", "--detections",
                             str(w / "detections"), "--pose-out", block],
        "demo": ["demo", "-o", block, "--quick"],
    }


CASES = ["synth", "annotate init", "annotate convert", "finetune-hrnet", "track-and-estimate", "export",
         "train-aqa", "eval-aqa", "score --pose-out", "demo"]


@pytest.mark.parametrize("name", CASES)
def test_unwritable_output_is_one_line(world: Path, name: str) -> None:
    res = CliRunner().invoke(cli, ["-q", *_cases(world)[name]])
    assert res.exit_code not in (0, None), res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, res.output
    assert str(world / "BLOCK") in errors[0], errors[0]
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), repr(res.exception)


def test_os_error_line_names_both_paths_and_the_size_limit() -> None:
    import errno

    from fdpose.cli.common import os_error_line

    assert os_error_line(OSError(errno.EFBIG, "File too large", "a.npz")) == \
        "a.npz: File too large (a file-size limit, e.g. ulimit -f)"
    assert os_error_line(PermissionError(errno.EACCES, "Permission denied", "src", None, "dst")) == \
        "src: dst: Permission denied"


def test_disk_full_midway_leaves_no_npz_without_its_json(world: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The clip JSON cannot be written (ENOSPC): the clip fails (exit 1, named), no npz is left behind."""
    import errno

    import fdpose.pipelines.runner as runner

    def full_disk(path: Path, clip: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(runner, "write_clip_json", full_disk)
    out = tmp_path / "T"
    res = CliRunner().invoke(cli, ["-q", "track-and-estimate", str(world / "W/frames"), "-o", str(out),
                                   "--detections", str(world / "W/detections"), "--pose", "mediapipe",
                                   "--no-progress"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "No space left on device" in res.output
    assert not list(out.rglob("*.npz")) and not list(out.rglob("*.json"))
