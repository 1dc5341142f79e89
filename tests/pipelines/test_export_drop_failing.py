"""``fdpose export --drop-failing``: clips over the interpolated-joints limit are left out, listed in
the manifest, the card and the summary, and the check passes; without it the same export fails."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from export_helpers import ExportWorld, export_world  # noqa: E402
from fdpose.cli.main import cli
from fdpose.pipelines.export import export_dataset
from fdpose.pipelines.export.check import check_dataset
from fdpose.pipelines.export.dataset import load_dataset


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> ExportWorld:
    return export_world(tmp_path_factory.mktemp("export_drop"))


@pytest.fixture(scope="session")
def shares(world: ExportWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """Interpolated share per clip of the plain export (no manual labels)."""
    out = tmp_path_factory.mktemp("plain") / "D"
    export_dataset(world.track, [], world.annotations, out)
    ds = load_dataset(out)
    return {c.clip_id: float(np.mean(ds.arrays(c).provenance == 2)) for c in ds.clips}


def _run(*args: str):
    return CliRunner().invoke(cli, ["-q", *args])


def test_drop_failing_leaves_out_and_reports(world: ExportWorld, shares: dict[str, float], tmp_path: Path) -> None:
    limit = sorted(shares.values())[1]  # two clips at or under the limit, two over
    over = sorted(c for c, s in shares.items() if s > limit)
    assert len(over) == 2
    args = ["export", "--auto", str(world.track), "--annotations", str(world.annotations), "--format", "hpmcore",
            "--max-interpolated", str(limit), "--check", "--no-progress"]
    # without the option: the same export fails its check (exit 1) and keeps every clip
    res = _run(*args, "-o", str(tmp_path / "plain"))
    assert res.exit_code == 1 and "result: FAILED (interpolated)" in res.stdout
    assert len(json.loads((tmp_path / "plain" / "manifest.json").read_text())["clips"]) == 4

    out = tmp_path / "D"
    res = _run(*args, "-o", str(out), "--drop-failing")
    assert res.exit_code == 0, res.output
    assert "check: ok" in res.stdout and "result: OK" in res.stdout
    for cid in over:  # each dropped clip named with its share and the limit, never silently
        line = next(x for x in res.stdout.splitlines() if x.startswith(f"dropped: {cid} "))
        assert f"{100 * shares[cid]:.1f}% interpolated joints > {100 * limit:.1f}%" in line
    assert "2 clip(s) over the" in res.stdout and "--drop-failing" in res.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(c["clip_id"] for c in manifest["clips"]) == sorted(set(shares) - set(over))
    assert sorted(f"{d['key'][0]}__{d['key'][1]}" for d in manifest["dropped"]) == over
    # the split lists stay the FineDiving ones; the dropped clips have no files at all
    assert sum(len(v) for v in manifest["splits"].values()) == 4
    for d in manifest["dropped"]:
        assert not (out / "clips" / d["key"][0] / f"{d['key'][1]}.npz").exists()
        assert not (out / "Pose" / d["key"][0] / f"pred_comp_{d['key'][1]}.npz").exists()
    assert "--drop-failing" in manifest["created_by"]["command"]
    card = (out / "README.md").read_text()
    assert "Left out (`--drop-failing`): 2 clip(s)" in card and all(f"| {cid} |" in card for cid in over)
    report = check_dataset(out, limit, annotations=world.annotations)
    assert report.ok and report.totals["dropped"] == 2 and report.totals["clips"] == 2
    assert "2 dropped (listed in the manifest)" in report.check("splits").summary
    # the standalone check passes on it, and --json carries the dropped clips
    res = _run("export", "check", str(out), "--max-interpolated", str(limit), "--no-progress")
    assert res.exit_code == 0 and "result: OK" in res.stdout
    res = _run(*args, "-o", str(tmp_path / "J"), "--drop-failing", "--json")
    assert res.exit_code == 0
    assert sorted(f"{d['key'][0]}__{d['key'][1]}" for d in json.loads(res.stdout)["dropped"]) == over


def test_check_rejects_a_dropped_key_that_is_present_or_unknown(world: ExportWorld, shares: dict[str, float],
                                                               tmp_path: Path) -> None:
    out = tmp_path / "D"
    limit = sorted(shares.values())[1]
    summary = export_dataset(world.track, [], world.annotations, out, max_interpolated=limit, drop_failing=True)
    assert summary.check.ok and len(summary.dropped) == 2
    doc = json.loads((out / "manifest.json").read_text())
    kept = doc["clips"][0]
    doc["dropped"].append({"key": kept["key"], "split": kept["split"], "reason": "planted"})
    doc["dropped"].append({"key": ["NoSuchMatch", 1], "split": "test", "reason": "planted"})
    (out / "manifest.json").write_text(json.dumps(doc))
    problems = check_dataset(out, limit).check("splits").problems
    assert f"clip {kept['clip_id']}: listed as dropped but present" in problems
    assert "dropped key NoSuchMatch/1 (test) is not in the dataset's test split" in problems


def test_every_clip_dropped_is_a_one_line_error(world: ExportWorld, tmp_path: Path) -> None:
    res = _run("export", "--auto", str(world.track), "--annotations", str(world.annotations), "-o",
               str(tmp_path / "D"), "--max-interpolated", "0", "--drop-failing", "--no-progress")
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "every clip (4) is over the 0.0% interpolated-joints limit: nothing left to export" in res.output
    assert not (tmp_path / "D").exists()


def test_without_drops_the_manifest_has_no_dropped_field(world: ExportWorld, tmp_path: Path) -> None:
    summary = export_dataset(world.track, [], world.annotations, tmp_path / "D", drop_failing=True)
    assert summary.dropped == [] and summary.check.ok
    assert "dropped" not in json.loads((tmp_path / "D" / "manifest.json").read_text())
