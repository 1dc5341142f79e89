"""``fdpose annotate`` through click: help, exit codes, --json, and no traceback on garbage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click.testing import CliRunner, Result

from fdpose.cli.main import cli
from fdpose.annotations import folder as folder_mod

from test_validate import good_obj, write_doc

NO_DISPLAY = {"DISPLAY": None, "WAYLAND_DISPLAY": None}


def run(*args: str, env: dict | None = None) -> Result:
    res = CliRunner().invoke(cli, ["annotate", *args], env=env)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exc_info
    assert "Traceback" not in res.output
    return res


def test_help_on_every_annotate_subcommand():
    group = cli.commands["annotate"]
    assert isinstance(group, click.Group)
    assert {"init", "open", "validate", "stats"} <= set(group.commands)
    assert run("--help").exit_code == 0
    for name in group.commands:
        res = run(name, "--help")
        assert res.exit_code == 0 and f"Usage: cli annotate {name}" in res.output, res.output
    assert "--tolerance PX" in run("validate", "--help").output
    assert "--box-margin F" in run("validate", "--help").output
    assert "--frames-from VIDEO_OR_FRAME_DIR" in run("init", "--help").output


def test_init_prints_labelme_command(tmp_path):
    res = run("init", str(tmp_path / "ann"))
    assert res.exit_code == 0, res.output
    d = tmp_path / "ann"
    assert f"--labels {d / 'labels.txt'} --label-flags {d / 'label_flags.yaml'} --validate-label exact --no-sort-labels" in res.output
    assert (d / "labels.txt").is_file() and (d / "README.md").is_file()


def test_init_with_frames_json(tmp_path):
    src = tmp_path / "clip"
    for i in range(5):
        write_doc(src, {}, f"{i:05d}.json")  # writes 00000.jpg ... beside a dummy json
    res = run("init", str(tmp_path / "ann"), "--frames-from", str(src), "--every", "2", "--keep-prev", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["frames"] == 3 and out["sequence_dir"] == str(tmp_path / "ann" / "clip")
    assert out["labelme_command"][-1] == "--keep-prev" and out["labelme_command"][1] == str(tmp_path / "ann")
    assert sorted(p.name for p in (tmp_path / "ann" / "clip").iterdir()) == ["00000.jpg", "00002.jpg", "00004.jpg"]


def test_init_errors_are_one_line(tmp_path):
    res = run("init", str(tmp_path / "ann"), "--every", "3")
    assert res.exit_code == 2 and "--every and --name only apply with --frames-from" in res.output
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 64)
    res = run("init", str(tmp_path / "ann"), "--frames-from", str(tmp_path / "bad.mp4"))
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1 and "bad.mp4" in res.stderr


def test_open(tmp_path, monkeypatch):
    d = tmp_path / "ann"
    res = run("open", str(d), "--dry-run")
    assert res.exit_code == 2 and "run `fdpose annotate init` first" in res.output
    run("init", str(d))
    res = run("open", str(d), "--dry-run", "--keep-prev")
    assert res.exit_code == 0 and res.output.strip().endswith("--no-sort-labels --keep-prev")

    script = "import pathlib, sys; pathlib.Path(sys.argv[1], 'ran.txt').write_text(' '.join(sys.argv[2:])); sys.exit(3)"
    monkeypatch.setattr(folder_mod, "find_labelme", lambda: [sys.executable, "-c", script])
    if sys.platform.startswith("linux"):
        res = run("open", str(d), env=NO_DISPLAY)
        assert res.exit_code == 2 and res.output.startswith("error: no display") and "--label-flags" in res.output
        assert not (d / "ran.txt").exists()
    res = run("open", str(d), env={"DISPLAY": ":99"})
    assert res.exit_code == 3  # labelme's own exit status is passed on
    assert (d / "ran.txt").read_text().startswith(f"--labels {d / 'labels.txt'}")

    monkeypatch.setattr(folder_mod, "find_labelme", lambda: None)
    res = run("open", str(d), env={"DISPLAY": ":99"})
    assert res.exit_code == 2 and "labelme is not installed" in res.output


def test_validate_clean_and_errors(tmp_path):
    write_doc(tmp_path / "ok", good_obj())
    res = run("validate", str(tmp_path / "ok"))
    assert res.exit_code == 0 and res.output == "1 files checked, 0 errors, 0 warnings\n"

    obj = good_obj()
    obj["shapes"][3]["label"] = "R_HIP"
    del obj["shapes"][-1]  # l_wrist absent: a warning only
    bad = write_doc(tmp_path / "bad", obj)
    res = run("validate", str(tmp_path / "bad"))
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert lines == [
        f"{bad}: warning: 2 joint(s) absent (no point): r_hip, l_wrist (fine only when really out of view)",
        f"{bad}: shape[3] R_HIP: error: unknown label 'R_HIP' (did you mean 'r_hip'?)",
        "1 files checked, 1 errors, 1 warnings",
    ]
    # warnings alone keep exit status 0
    obj = good_obj()
    del obj["shapes"][-1]
    write_doc(tmp_path / "warn", obj)
    assert run("validate", str(tmp_path / "warn")).exit_code == 0
    assert run("validate", str(tmp_path / "warn"), "--require-all-joints").exit_code == 1


def test_validate_json(tmp_path):
    obj = good_obj()
    obj["shapes"][5]["points"] = [["1", "2"]]
    write_doc(tmp_path, obj)
    (tmp_path / "trunc.json").write_text('{"shapes": [')
    res = run("validate", str(tmp_path), "--json")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["files_checked"] == 2 and out["errors"] == 2 and out["ok"] is False
    assert out["warnings"] == 1  # the joint of shape 5 is unusable, so absent
    by_code = {p["code"]: p for p in out["problems"]}
    assert by_code["point-format"] == {
        "path": str(tmp_path / "00000.json"), "shape_index": 5, "label": "l_knee", "severity": "error",
        "code": "point-format", "message": 'point 0 is not [x, y] numbers: ["1", "2"]'}
    assert by_code["bad-json"]["path"] == str(tmp_path / "trunc.json") and by_code["bad-json"]["shape_index"] is None
    assert "(file truncated?)" in by_code["bad-json"]["message"]


def test_validate_garbage_never_tracebacks(tmp_path):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "empty.json").write_bytes(b"")
    (d / "binary.json").write_bytes(bytes(range(256)))
    (d / "nan.json").write_text('{"shapes": [], "imagePath": "x.jpg", "imageWidth": NaN}')
    (d / "deep.json").write_text("[" * 100000 + "]" * 100000)
    (d / "list.json").write_text("[1, 2, 3]")
    (d / "types.json").write_text(json.dumps({"shapes": "x", "imagePath": 5, "imageData": 3, "imageHeight": -1}))
    (d / "dir.json").mkdir()
    (d / "dir.json" / "inner.json").write_text("{")
    (d / "link.json").symlink_to(d / "gone.json")
    res = run("validate", str(d), str(tmp_path / "missing"), "--json")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["files_checked"] == 8
    codes = {(Path(p["path"]).name, p["code"]) for p in out["problems"]}
    assert {("missing", "no-such-path"), ("empty.json", "empty"), ("binary.json", "not-utf8"),
            ("nan.json", "non-standard-number"), ("deep.json", "bad-json"), ("list.json", "not-object"),
            ("types.json", "shapes-type"), ("types.json", "image-path"), ("inner.json", "bad-json"),
            ("link.json", "unreadable")} <= codes
    res = run("validate", str(d))
    assert res.exit_code == 1
    for line in res.output.splitlines()[:-1]:
        assert line.startswith((str(d), str(tmp_path / "missing"))), line
    assert res.output.splitlines()[-1].startswith("8 files checked, ")


def test_validate_option_checks(tmp_path):
    write_doc(tmp_path, good_obj())
    for opt, value in (("--tolerance", "nan"), ("--tolerance", "-1"), ("--box-margin", "inf"), ("--max-mb", "0")):
        res = run("validate", str(tmp_path), opt, value)
        assert res.exit_code == 2 and "Invalid value" in res.output, (opt, value, res.output)
    assert run("validate").exit_code == 2  # PATHS required
    res = run("validate", str(tmp_path), "--max-mb", "0.001")
    assert res.exit_code == 1 and "file too large" in res.output


def test_stats(tmp_path):
    write_doc(tmp_path / "a", good_obj())
    obj = good_obj(occluded=("r_knee",))
    del obj["shapes"][-1]
    write_doc(tmp_path / "b", obj)
    res = run("stats", str(tmp_path))
    assert res.exit_code == 0
    assert "2 frames labelled in 2 folders" in res.output
    assert res.output.splitlines()[1].split() == ["a", "1", "1", "0", "1", "16", "0", "0"]
    res = run("stats", str(tmp_path), "--json")
    out = json.loads(res.stdout)
    assert out["frames_labelled"] == 2 and out["joints"]["r_knee"] == {"visible": 1, "occluded": 1, "absent": 0}
    assert out["joints"]["l_wrist"] == {"visible": 1, "occluded": 0, "absent": 1}
    assert out["box"]["width"] == {"min": 70.0, "median": 70.0, "max": 70.0}
    assert run("stats", str(tmp_path / "nope")).exit_code == 2
