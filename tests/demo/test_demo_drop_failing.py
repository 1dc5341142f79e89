"""The demo's export step with ``drop_failing``: a clip over the interpolated-joints limit is left
out, reported in the step's figures and the report, and the AQA steps read split lists without it."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from fdpose.demo.plan import QUICK
from fdpose.demo.report import metric_rows
from fdpose.demo.result import DemoResult
from fdpose.demo.steps import DemoContext, step_export
from fdpose.finediving import load_annotations
from fdpose.pipelines.clip_json import read_clip_json, write_clip_json

# the export tests' fabricated track output (synth ground truth + noise), shared rather than copied
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))
from export_helpers import export_world  # type: ignore[import-not-found]  # noqa: E402


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A demo folder whose world and track output are the export tests' ones, with one test clip's
    joints made interpolated on every other frame (where it has joints)."""
    world = export_world(tmp_path_factory.mktemp("drop_world"))
    out = tmp_path_factory.mktemp("drop_demo")
    (out / "world").symlink_to(world.root, target_is_directory=True)
    track = out / "track"
    track.mkdir()
    test_keys = load_annotations(world.annotations).test
    bad = f"{test_keys[0][0]}__{test_keys[0][1]}"
    for p in sorted(world.track.glob("*.json")):
        clip = read_clip_json(p)
        if clip.clip_id == bad:
            src = clip.joint_source.copy()
            every_other = (np.arange(len(src)) % 2 == 0)[:, None] & (src != "missing")
            src[every_other] = "interpolated"
            clip = dataclasses.replace(clip, joint_source=src)
        write_clip_json(track / p.name, clip)
    return out, bad


def test_export_step_drops_reports_and_filters_the_aqa_splits(demo_dir: tuple[Path, str]) -> None:
    out, bad = demo_dir
    world_ann = load_annotations(out / "world" / "annotations")
    bad_key = (bad.split("__")[0], int(bad.split("__")[1]))

    plain = DemoContext(out, dataclasses.replace(QUICK, drop_failing=False, threads=1))
    from fdpose.errors import ValidationError

    with pytest.raises(ValidationError, match=f"dataset check failed: interpolated: clip {bad}: "):
        step_export(plain)  # without the option the demo stops, as before
    assert plain.aqa_annotations == out / "world" / "annotations"

    ctx = DemoContext(out, dataclasses.replace(QUICK, drop_failing=True, threads=1))
    res = step_export(ctx)
    assert res["check_ok"] is True and res["dropped_clips"] == 1
    assert res["clips"] == len(world_ann.train) + len(world_ann.test) - 1
    (d,) = res["dropped"]
    assert d["key"] == list(bad_key) and d["split"] == "test" and "interpolated joints > 30.0%" in d["reason"]
    # the AQA steps read the filtered copy: same records, the dropped key in no split
    assert ctx.aqa_annotations == out / "aqa_annotations"
    ann = load_annotations(ctx.aqa_annotations)
    assert ann.train == world_ann.train and ann.test == [k for k in world_ann.test if k != bad_key]
    assert set(ann.fine) == set(world_ann.fine)
    # the report says it, with the clip and its reason
    rows = {name: (value, what) for name, value, what in metric_rows(DemoResult(out, ctx.plan, steps={"export": res}))}
    value, what = rows["clips left out"]
    assert value == "1" and what.startswith("plan drop_failing (export --drop-failing") and f"{bad} (test, " in what


def test_no_drop_row_without_the_option(tmp_path: Path) -> None:
    plan = dataclasses.replace(QUICK, drop_failing=False)
    names = [name for name, _, _ in metric_rows(DemoResult(tmp_path, plan, steps={}))]
    assert "clips left out" not in names and "SRCC (test)" in names


def test_a_clip_the_tracker_skipped_is_left_out_and_named(demo_dir: tuple[Path, str], tmp_path: Path) -> None:
    """A clip track-and-estimate skipped (e.g. taken for a synchronised dive) has no track output: with
    drop_failing the export reads annotations without it and the demo names it; without, it stops."""
    import shutil

    src, bad = demo_dir
    out = tmp_path / "demo"
    out.mkdir()
    (out / "world").symlink_to((src / "world").resolve(), target_is_directory=True)
    shutil.copytree(src / "track", out / "track")
    world_ann = load_annotations(out / "world" / "annotations")
    skipped = world_ann.train[0]
    sid = f"{skipped[0]}__{skipped[1]}"
    (out / "track" / f"{sid}.json").unlink()
    track = {"refused": [{"clip_id": sid, "reason": "synchronised dive: a second diver beside the tracked one"}]}

    from fdpose.errors import InputError

    with pytest.raises(InputError, match="no track output for 1 of"):
        step_export(DemoContext(out, dataclasses.replace(QUICK, drop_failing=False, threads=1)), track)

    ctx = DemoContext(out, dataclasses.replace(QUICK, drop_failing=True, threads=1))
    res = step_export(ctx, track)
    assert res["check_ok"] is True and res["dropped_clips"] == 2
    reasons = {f"{d['key'][0]}__{d['key'][1]}": (d["split"], d["reason"]) for d in res["dropped"]}
    assert reasons[sid] == ("train", "track-and-estimate skipped it: synchronised dive: a second diver beside "
                                     "the tracked one")
    assert reasons[bad][0] == "test" and "interpolated joints" in reasons[bad][1]
    ann = load_annotations(ctx.aqa_annotations)
    assert skipped not in ann.train and len(ann.train) == len(world_ann.train) - 1
    assert len(ann.test) == len(world_ann.test) - 1
    # the dataset's own split lists leave the skipped clip out; its card names the source
    manifest = json.loads((out / "dataset" / "manifest.json").read_text())
    assert [skipped[0], skipped[1]] not in manifest["splits"]["train"]
    assert manifest["sources"]["annotations"] == str(out / "export_annotations")
