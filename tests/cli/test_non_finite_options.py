"""NaN, infinities and out-of-range numbers in float options: a usage error (exit 2, one line), never a
check silently switched off, a traceback, or a run that trains on an infinite step.

Found by the issue-13 audit: ``export --max-interpolated nan`` / ``--min-agreement nan`` (and ``export check``)
exported with every comparison against NaN false, so the interpolation and agreement checks passed anything;
``train-aqa --weight-decay nan`` or ``-1`` gave torch's ValueError traceback, ``--lr inf`` /
``--weight-decay inf`` trained with exit 0; ``score --difficulty nan|inf|-1`` and ``annotate review
--threshold inf`` were taken (review keeps its own one-line errors: exit 2, ``error: threshold must be ...``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.cli.main import cli

CASES = [
    (["export", "--auto", "T", "-o", "D", "--max-interpolated", "{v}"], "--max-interpolated"),
    (["export", "--auto", "T", "-o", "D", "--min-agreement", "{v}"], "--min-agreement"),
    (["export", "check", "{tmp}", "--max-interpolated", "{v}"], "--max-interpolated"),
    (["export", "check", "{tmp}", "--min-agreement", "{v}"], "--min-agreement"),
    (["train-aqa", "-o", "R", "--lr", "{v}"], "--lr"),
    (["train-aqa", "-o", "R", "--weight-decay", "{v}"], "--weight-decay"),
    (["train-aqa", "-o", "R", "--val-share", "{v}"], "--val-share"),
    (["score", "{tmp}", "--checkpoint", "{tmp}", "--difficulty", "{v}"], "--difficulty"),
]


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
@pytest.mark.parametrize("args,option", CASES, ids=[" ".join(a[:2]) + " " + o for a, o in CASES])
def test_bad_float_is_a_usage_error(tmp_path: Path, args: list[str], option: str, value: str) -> None:
    argv = [a.format(v=value, tmp=tmp_path) for a in args]
    res = CliRunner().invoke(cli, ["-q", *argv])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and not isinstance(res.exception, (ValueError, TypeError)), res.output
    assert f"Invalid value for '{option}'" in res.output, res.output


@pytest.mark.parametrize("args", [["train-aqa", "-o", "R", "--weight-decay", "0", "--lr", "1e-3", "--val-share", "0"],
                                  ["annotate", "review", "{tmp}", "{tmp}", "--threshold", "0.5", "--min-box-iou", "0"],
                                  ["export", "check", "{tmp}", "--max-interpolated", "0", "--min-agreement", "1"]])
def test_ordinary_values_still_parse(tmp_path: Path, args: list[str]) -> None:
    """Zero and the range ends are still taken: what stops the command is something else (no data here)."""
    res = CliRunner().invoke(cli, ["-q", *[a.format(tmp=tmp_path) for a in args]])
    assert res.exit_code != 0 and "Invalid value" not in res.output and "error: " in res.output, res.output


@pytest.mark.parametrize("option,value,message", [("--threshold", "inf", "threshold must be finite, got inf"),
                                                  ("--threshold", "nan", "threshold must be positive, got nan"),
                                                  ("--min-box-iou", "nan", "min_box_iou must be in [0, 1], got nan"),
                                                  ("--min-box-iou", "inf", "min_box_iou must be in [0, 1], got inf")])
def test_review_refuses_non_finite_limits(tmp_path: Path, option: str, value: str, message: str) -> None:
    res = CliRunner().invoke(cli, ["-q", "annotate", "review", str(tmp_path), str(tmp_path), option, value])
    assert res.exit_code == 2 and res.output.strip() == f"error: {message}", res.output
