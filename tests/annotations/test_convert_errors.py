"""Bad inputs to conversion give one-line errors naming the file and record; the CLI never shows a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fdpose.errors import InputError, ValidationError
from fdpose.annotations.convert import convert

from cli_group import annotate_group as _group
from label_factory import make_folder


def _mpii_export(tmp_path: Path) -> tuple[Path, list[dict]]:
    make_folder(tmp_path / "src", seed=3, sequences=("s",), per_seq=2)
    convert(tmp_path / "src", tmp_path / "m" / "a.json", "mpii")
    path = tmp_path / "m" / "a.json"
    return path, json.loads(path.read_text())


def test_unknown_format_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text('{"foo": 1}')
    with pytest.raises(InputError) as exc:
        convert(p, tmp_path / "out", "labelme")
    assert str(exc.value).startswith(f"{p}: unknown annotation format")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.update(joints=r["joints"][:15]), "record[1]: joints must be 16 finite [x, y] pairs"),
        (lambda r: r.update(joints_vis=[2] * 16), "record[1]: joints_vis must be 16 values 0/1"),
        (lambda r: r.pop("center"), "record[1]: missing key 'center'"),
        (lambda r: r.update(bbox=[1, 2, 3]), "record[1]: bbox must be [x1, y1, x2, y2] numbers or null"),
        (lambda r: r.update(label_file="../../etc/x.json"), "record[1]: label_file must be a relative path inside the dataset"),
    ],
)
def test_malformed_mpii_record(tmp_path: Path, mutate, message: str) -> None:
    path, records = _mpii_export(tmp_path)
    mutate(records[1])
    path.write_text(json.dumps(records))
    with pytest.raises(ValidationError) as exc:
        convert(path, tmp_path / "out", "labelme")
    assert str(exc.value).startswith(f"{path}: {message}")
    assert not (tmp_path / "out").exists()  # nothing written before validation passed


def test_malformed_coco(tmp_path: Path) -> None:
    make_folder(tmp_path / "src", seed=4, sequences=("s",), per_seq=2)
    convert(tmp_path / "src", tmp_path / "c.json", "coco")
    path = tmp_path / "c.json"
    obj = json.loads(path.read_text())
    obj["annotations"][1]["keypoints"][2] = 3
    path.write_text(json.dumps(obj))
    with pytest.raises(ValidationError, match=r"c\.json: annotations\[1\]: visibility flags must be 0, 1 or 2, got \[.*3\.0\]"):
        convert(path, tmp_path / "out", "labelme")
    obj["annotations"][1]["keypoints"][2] = 2
    obj["categories"][0]["keypoints"] = obj["categories"][0]["keypoints"][:-1]
    path.write_text(json.dumps(obj))
    with pytest.raises(ValidationError, match="no category with 16 keypoints"):
        convert(path, tmp_path / "out", "labelme")


def test_mpii_export_needs_images(tmp_path: Path) -> None:
    make_folder(tmp_path / "src", seed=5, sequences=("s",), per_seq=2)
    (tmp_path / "src" / "s" / "00001.jpg").unlink()
    with pytest.raises(InputError) as exc:
        convert(tmp_path / "src", tmp_path / "m" / "a.json", "mpii")
    assert str(exc.value).startswith(f"{tmp_path / 'src' / 's' / '00001.json'}: image not found")
    assert not (tmp_path / "m").exists()


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text("[1, 2")
    res = CliRunner().invoke(_group(), ["convert", str(p), str(tmp_path / "o.json"), "--to", "coco"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [f"error: {p}: invalid JSON at line 1 column 6: Expecting ',' delimiter"]
    assert "Traceback" not in res.output


def test_cli_convert_help_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(_group(), ["convert", "--help"])
    assert res.exit_code == 0 and "--to [labelme|mpii|coco]" in res.output and "--images" in res.output
    make_folder(tmp_path / "src", seed=6, sequences=("s",), per_seq=2)
    res = runner.invoke(_group(), ["convert", str(tmp_path / "src"), str(tmp_path / "c.json"), "--to", "coco", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["frames"] == 2 and out["source_format"] == "labelme" and out["target_format"] == "coco"
    res = runner.invoke(_group(), ["convert", str(tmp_path / "c.json"), str(tmp_path / "back"), "--to", "labelme",
                                   "--images", str(tmp_path / "src")])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("2 frame(s): coco ") and "images linked/copied: 2" in res.stdout
    assert sorted(p.name for p in (tmp_path / "back" / "s").iterdir()) == ["00000.jpg", "00000.json", "00001.jpg", "00001.json"]


def test_root_cli_exposes_both_commands(tmp_path: Path) -> None:
    from fdpose.cli.main import cli

    runner = CliRunner()
    for name in ("convert", "review"):
        res = runner.invoke(cli, ["annotate", name, "--help"])
        assert res.exit_code == 0 and f"Usage: cli annotate {name}" in res.output
    make_folder(tmp_path / "src", seed=8, sequences=("s",), per_seq=1)
    res = runner.invoke(cli, ["annotate", "convert", str(tmp_path / "src"), str(tmp_path / "m" / "a.json"), "--to", "mpii", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["outputs"][1] == str(tmp_path / "m" / "image_ids.json")
    res = runner.invoke(cli, ["annotate", "convert", str(tmp_path / "src"), str(tmp_path / "m" / "a.json"), "--to", "mpii"])
    assert res.exit_code == 2 and res.output.strip() == f"error: {tmp_path / 'm' / 'a.json'}: output exists (use --overwrite to replace it)"
