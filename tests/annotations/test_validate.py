"""``fdpose annotate validate`` library: a corpus of broken files, clean files, all-problems reporting."""

from __future__ import annotations

import base64
import copy
import io
import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pytest
from PIL import Image

from fdpose.skeleton import JOINT_INDEX, JOINT_NAMES
from fdpose.annotations.problems import Severity
from fdpose.annotations.validate import ValidateConfig, validate_file, validate_paths

W, H = 455, 256

#: A frontal diver standing on the board (diver's right on the image left), inside BOX.
BASE_POSE = {
    "head_top": (230.0, 65.0), "upper_neck": (230.0, 85.0), "thorax": (230.0, 95.0), "pelvis": (230.0, 140.0),
    "r_shoulder": (215.0, 95.0), "l_shoulder": (245.0, 95.0), "r_elbow": (210.0, 118.0), "l_elbow": (250.0, 118.0),
    "r_wrist": (208.0, 138.0), "l_wrist": (252.0, 138.0), "r_hip": (220.0, 140.0), "l_hip": (240.0, 140.0),
    "r_knee": (221.0, 168.0), "l_knee": (239.0, 168.0), "r_ankle": (222.0, 195.0), "l_ankle": (238.0, 195.0),
}
BOX = [[196.0, 55.0], [266.0, 203.0]]


def base_xy() -> np.ndarray:
    """(16, 2) BASE_POSE in MPII order."""
    return np.array([BASE_POSE[n] for n in JOINT_NAMES])


def shape(label: Any, points: Any, shape_type: Any = "point", flags: Any = None, **extra: Any) -> dict[str, Any]:
    """A shape dict the way labelme 6.3.1 writes it."""
    d = {"label": label, "points": points, "group_id": None, "description": "", "shape_type": shape_type,
         "flags": {} if flags is None else flags, "mask": None}
    d.update(extra)
    return d


def good_obj(image: str = "00000.jpg", xy: Optional[np.ndarray] = None, box: Optional[list[list[float]]] = None,
             occluded: tuple[str, ...] = ()) -> dict[str, Any]:
    """A clean labelme 6.3.1 document: box first, then the 16 joints in MPII order."""
    xy = base_xy() if xy is None else xy
    shapes = [shape("diver", box or BOX, "rectangle")]
    for j, name in enumerate(JOINT_NAMES):
        shapes.append(shape(name, [[float(xy[j, 0]), float(xy[j, 1])]], "point", {"occluded": name in occluded}))
    return {"version": "6.3.1", "flags": {}, "shapes": shapes, "imagePath": image, "imageData": None,
            "imageHeight": H, "imageWidth": W}


def write_image(path: Path, size: tuple[int, int] = (W, H), fmt: str = "JPEG", seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return path


def image_bytes(size: tuple[int, int] = (W, H), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((size[1], size[0], 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def write_doc(folder: Path, obj: Any, name: str = "00000.json", image: bool = True) -> Path:
    """Write ``obj`` (dict -> JSON, bytes/str as is) at folder/name with a 455x256 image beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    if isinstance(obj, bytes):
        p.write_bytes(obj)
    elif isinstance(obj, str):
        p.write_text(obj, encoding="utf-8")
    else:
        p.write_text(json.dumps(obj, indent=1), encoding="utf-8")
    if image:
        write_image(folder / (Path(name).stem + ".jpg"))
    return p


def joint_pos(name: str) -> int:
    """Shape index of a joint in good_obj (the box is shape 0)."""
    return 1 + JOINT_INDEX[name]


# ----------------------------------------------------------------------------------------- corpus

Mutator = Callable[[dict[str, Any]], Any]


def _set(path: list[Any], value: Any) -> Mutator:
    def f(obj: dict[str, Any]) -> dict[str, Any]:
        cur: Any = obj
        for k in path[:-1]:
            cur = cur[k]
        cur[path[-1]] = value
        return obj
    return f


def _drop(path: list[Any]) -> Mutator:
    def f(obj: dict[str, Any]) -> dict[str, Any]:
        cur: Any = obj
        for k in path[:-1]:
            cur = cur[k]
        del cur[path[-1]]
        return obj
    return f


def _text(mutate: Callable[[str], str]) -> Mutator:
    return lambda obj: mutate(json.dumps(obj, indent=1)).encode("utf-8")


def _append(s: dict[str, Any]) -> Mutator:
    def f(obj: dict[str, Any]) -> dict[str, Any]:
        obj["shapes"].append(s)
        return obj
    return f


def _no_box(obj: dict[str, Any]) -> dict[str, Any]:
    obj["shapes"] = obj["shapes"][1:]
    return obj


K = joint_pos("r_knee")
LW = joint_pos("l_wrist")

# (id, mutator, code, message fragment, shape index or None)
CORPUS: list[tuple[str, Mutator, str, str, Optional[int]]] = [
    ("empty", lambda o: b"", "empty", "empty file", None),
    ("whitespace", lambda o: b"  \n\t\n", "empty", "only whitespace", None),
    ("truncated", _text(lambda t: t[: len(t) // 2]), "bad-json", "(file truncated?)", None),
    ("trailing-comma", _text(lambda t: t.replace('"flags": {}', '"flags": {},', 1).replace("}\n}", "},\n}")), "bad-json",
     "invalid JSON at line", None),
    ("binary-garbage", lambda o: bytes(range(256)) * 4, "not-utf8", "not UTF-8 text (binary data at byte 128)", None),
    ("nan-literal", _text(lambda t: t.replace("230.0", "NaN", 1)), "non-standard-number", "NaN is not valid JSON", None),
    ("infinity-literal", _text(lambda t: t.replace("230.0", "-Infinity", 1)), "non-standard-number", "-Infinity is not valid JSON", None),
    ("top-level-list", lambda o: [o], "not-object", "top level must be a JSON object, got list", None),
    ("shapes-missing", _drop(["shapes"]), "shapes-missing", "no 'shapes' list", None),
    ("shapes-string", _set(["shapes"], "diver,r_knee"), "shapes-type", "'shapes' must be a list, got string", None),
    ("shape-not-object", _set(["shapes", K], "r_knee"), "shape-type", "shape must be a JSON object, got string", K),
    ("label-number", _set(["shapes", K, "label"], 7), "label-type", "label must be a string, got integer 7", K),
    ("label-missing", _drop(["shapes", K, "label"]), "label-missing", "shape has no label", K),
    ("points-missing", _drop(["shapes", K, "points"]), "points-missing", "shape has no points", K),
    ("points-string", _set(["shapes", K, "points"], "221,168"), "points-type", 'points must be a list of [x, y], got string "221,168"', K),
    ("point-strings", _set(["shapes", K, "points"], [["221", "168"]]), "point-format", 'point 0 is not [x, y] numbers: ["221", "168"]', K),
    ("point-three-values", _set(["shapes", K, "points"], [[221.0, 168.0, 1.0]]), "point-format", "point 0 is not [x, y] numbers: [221.0, 168.0, 1.0]", K),
    ("point-bool", _set(["shapes", K, "points"], [[True, 168.0]]), "point-format", "point 0 is not [x, y] numbers: [true, 168.0]", K),
    ("points-empty", _set(["shapes", K, "points"], []), "points-empty", "points is empty", K),
    ("point-overflow", _text(lambda t: t.replace("221.0", "1e400", 1)), "point-nonfinite", "point 0 has non-finite coordinates", K),
    ("shape-type-number", _set(["shapes", K, "shape_type"], 3), "shape-type-field", "shape_type must be a string, got integer 3", K),
    ("flags-not-bool", _set(["shapes", K, "flags"], {"occluded": "yes"}), "flags-type", 'flags must map names to true/false, got {"occluded": "yes"}', K),
    ("flags-list", _set(["shapes", K, "flags"], ["occluded"]), "flags-type", 'flags must map names to true/false, got ["occluded"]', K),
    ("group-id-string", _set(["shapes", K, "group_id"], "1"), "group-id-type", "group_id must be an integer or null", K),
    ("description-number", _set(["shapes", K, "description"], 5), "description-type", "description must be a string or null", K),
    ("mask-number", _set(["shapes", K, "mask"], 1), "mask-type", "mask must be a string or null", K),
    ("unknown-label-case", _set(["shapes", K, "label"], "R_Knee"), "label-unknown", "unknown label 'R_Knee' (did you mean 'r_knee'?)", K),
    ("unknown-label-typo", _set(["shapes", K, "label"], "r_kne"), "label-unknown", "(did you mean 'r_knee'?)", K),
    ("unknown-label-other", _set(["shapes", K, "label"], "judge"), "label-unknown", "unknown label 'judge'", K),
    ("box-missing", _no_box, "box-missing", "no diver box", None),
    ("box-twice", _append(shape("diver", [[200.0, 60.0], [260.0, 200.0]], "rectangle")), "box-multiple",
     "more than one diver box (the first is shape[0])", 17),
    ("box-polygon", _set(["shapes", 0, "shape_type"], "polygon"), "box-shape",
     "diver box must be a rectangle with 2 points, got polygon with 2 points", 0),
    ("box-zero-area", _set(["shapes", 0, "points"], [[196.0, 55.0], [196.0, 203.0]]), "box-empty", "diver box has no area", 0),
    ("box-outside", _set(["shapes", 0, "points"], [[196.0, -30.0], [266.0, 203.0]]), "box-outside",
     "extends outside the 455x256 image", 0),
    ("joint-rectangle", _set(["shapes", K, "shape_type"], "rectangle"), "joint-shape",
     "joint must be a point shape with 1 point, got rectangle with 1 points", K),
    ("joint-two-points", _set(["shapes", K, "points"], [[221.0, 168.0], [222.0, 169.0]]), "joint-shape",
     "got point with 2 points", K),
    ("joint-twice", _append(shape("r_knee", [[223.0, 166.0]])), "joint-duplicate",
     f"joint labelled more than once (first at shape[{K}])", 17),
    ("joint-outside-image", _set(["shapes", LW, "points"], [[470.0, 138.0]]), "joint-outside-image",
     "point (470.0, 138.0) is outside the 455x256 image", LW),
    ("joint-negative", _set(["shapes", LW, "points"], [[-3.5, 138.0]]), "joint-outside-image", "is outside the 455x256 image", LW),
    ("joint-outside-box", _set(["shapes", LW, "points"], [[300.0, 138.0]]), "joint-outside-box",
     "point (300.0, 138.0) is outside the diver box (enlarged by 10%)", LW),
    ("image-path-missing", _drop(["imagePath"]), "image-path", "imagePath must be a non-empty string, got missing", None),
    ("image-path-number", _set(["imagePath"], 12), "image-path", "imagePath must be a non-empty string, got integer 12", None),
    ("image-missing", _set(["imagePath"], "nothere.jpg"), "image-missing", "image file nothere.jpg not found", None),
    ("image-path-is-dir", _set(["imagePath"], "."), "image-missing", "image path . is not a file", None),
    ("image-data-number", _set(["imageData"], 42), "image-data-type", "imageData must be a base64 string or null, got integer", None),
    ("image-data-bad-base64", _set(["imageData"], "not base64 at all!!"), "image-data-base64", "imageData is not valid base64", None),
    ("image-data-not-image", _set(["imageData"], base64.b64encode(b"hello, not an image").decode()), "image-data-corrupt",
     "imageData is not a readable image", None),
    ("size-mismatch", _set(["imageWidth"], 640), "size-mismatch", "declared size 640x256 (imageWidth x imageHeight) but the image is 455x256", None),
    ("size-string", _set(["imageHeight"], "256"), "image-size-type", 'imageHeight must be a positive integer, got string "256"', None),
    ("size-zero", _set(["imageWidth"], 0), "image-size-type", "imageWidth must be a positive integer, got integer 0", None),
    ("file-flags-list", _set(["flags"], ["x"]), "file-flags-type", "flags must be an object, got list", None),
]


def test_corpus_is_large_and_distinct():
    assert len(CORPUS) >= 25
    assert len({c[0] for c in CORPUS}) == len(CORPUS)
    assert len({(c[2], c[3]) for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case_id,mutate,code,fragment,index", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_reports_specific_error(tmp_path, case_id, mutate, code, fragment, index):
    path = write_doc(tmp_path, mutate(copy.deepcopy(good_obj())))
    fc = validate_file(path)
    matching = [p for p in fc.problems if p.code == code]
    assert matching, [p.line() for p in fc.problems]
    prob = matching[0]
    assert prob.severity is Severity.ERROR
    assert fragment in prob.message, prob.message
    assert prob.shape_index == index
    assert prob.path == str(path)
    line = prob.line()
    assert line.startswith(f"{path}: ") and "\n" not in line and "error: " in line
    if index is not None:
        assert f"shape[{index}]" in line


def test_image_corrupt(tmp_path):
    path = write_doc(tmp_path, good_obj(), image=False)
    (tmp_path / "00000.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a full JPEG" + bytes(100))
    fc = validate_file(path)
    codes = {p.code: p for p in fc.problems}
    assert "image-corrupt" in codes and "image file 00000.jpg is not a readable image" in codes["image-corrupt"].message
    # the declared size still bounds the points: no further errors
    assert [p.code for p in fc.problems if p.severity is Severity.ERROR] == ["image-corrupt"]


def test_directory_named_json(tmp_path):
    d = tmp_path / "frame.json"
    d.mkdir()
    fc = validate_file(d)
    assert [(p.code, p.message) for p in fc.problems] == [("not-a-file", "is a directory, not a LabelMe JSON file")]


def test_huge_file_refused_before_reading(tmp_path):
    path = write_doc(tmp_path, good_obj())
    fc = validate_file(path, ValidateConfig(max_bytes=1000))
    assert fc.problems[0].code == "too-large"
    assert f"({path.stat().st_size} bytes > limit 1000)" in fc.problems[0].message


def test_unreadable_file(tmp_path, monkeypatch):
    path = write_doc(tmp_path, good_obj())
    real = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    fc = validate_file(path)
    assert [(p.code, p.message) for p in fc.problems] == [("unreadable", "cannot read file (Permission denied)")]


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_permissions(tmp_path):
    path = write_doc(tmp_path, good_obj())
    path.chmod(0)
    try:
        assert validate_file(path).problems[0].code == "unreadable"
    finally:
        path.chmod(0o644)


def test_broken_symlink(tmp_path):
    link = tmp_path / "gone.json"
    link.symlink_to(tmp_path / "missing.json")
    fc = validate_file(link)
    assert [p.code for p in fc.problems] == ["unreadable"]
    assert "No such file or directory" in fc.problems[0].message


def test_require_all_joints_makes_absent_joints_errors(tmp_path):
    obj = good_obj()
    obj["shapes"] = [s for s in obj["shapes"] if s["label"] not in ("r_ankle", "l_ankle")]
    path = write_doc(tmp_path, obj)
    soft = [p for p in validate_file(path).problems if p.code == "joints-missing"]
    hard = [p for p in validate_file(path, ValidateConfig(require_all_joints=True)).problems if p.code == "joints-missing"]
    assert soft[0].severity is Severity.WARNING and hard[0].severity is Severity.ERROR
    assert "2 joint(s) absent (no point): r_ankle, l_ankle" in hard[0].message


def test_tolerance_and_box_margin_are_configurable(tmp_path):
    obj = good_obj()
    obj["shapes"][LW]["points"] = [[456.5, 138.0]]  # 1.5 px right of the image
    obj["shapes"][0]["points"] = [[196.0, 55.0], [455.0, 203.0]]
    path = write_doc(tmp_path, obj)
    assert "joint-outside-image" in {p.code for p in validate_file(path).problems}
    assert "joint-outside-image" not in {p.code for p in validate_file(path, ValidateConfig(tolerance_px=2.0)).problems}
    obj = good_obj()
    obj["shapes"][LW]["points"] = [[270.0, 138.0]]  # 4 px right of the box (70 px wide)
    path = write_doc(tmp_path, obj, "00001.json")
    assert "joint-outside-box" not in {p.code for p in validate_file(path).problems}  # margin 10% = 3.5 px a side + 1 px
    assert "joint-outside-box" in {p.code for p in validate_file(path, ValidateConfig(box_margin=0.0)).problems}
    assert "joint-outside-box" not in {p.code for p in validate_file(path, ValidateConfig(box_margin=0.2)).problems}


def test_all_problems_of_a_file_are_reported(tmp_path):
    obj = good_obj(image="missing.jpg")
    obj["shapes"][2]["points"] = [["x", "y"]]
    obj["shapes"][5]["label"] = 42
    obj["shapes"][7]["label"] = "elbow"
    obj["shapes"][9]["flags"] = "occluded"
    obj["shapes"].append("garbage")
    path = write_doc(tmp_path, obj, image=False)
    fc = validate_file(path)
    got = {(p.code, p.shape_index) for p in fc.problems if p.severity is Severity.ERROR}
    assert got == {("image-missing", None), ("point-format", 2), ("label-type", 5), ("label-unknown", 7),
                   ("flags-type", 9), ("shape-type", 17)}
    # joints of shapes 2, 5 and 7 are unusable, so they are reported absent (a warning)
    absent = [p for p in fc.problems if p.code == "joints-missing"][0]
    assert absent.message.startswith("3 joint(s) absent (no point): r_knee, l_knee, pelvis")


def test_validate_file_never_raises_on_random_garbage(tmp_path):
    rng = np.random.default_rng(0)
    text = json.dumps(good_obj())
    for k in range(60):
        raw = bytearray(text.encode())
        for pos in rng.integers(0, len(raw), size=int(rng.integers(1, 12))):
            raw[pos] = int(rng.integers(0, 256))
        p = write_doc(tmp_path, bytes(raw), name=f"g{k}.json", image=k % 2 == 0)
        fc = validate_file(p)
        assert all("\n" not in pr.line() for pr in fc.problems)


def test_wrongly_typed_values_everywhere_never_raise(tmp_path):
    weird: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], [1], {}, {"a": 1}, [[None]], [[1, 2], "3"]]
    keys = ["version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"]
    skeys = ["label", "points", "shape_type", "flags", "group_id", "description", "mask"]
    n = 0
    for value in weird:
        for key in keys:
            obj = good_obj()
            obj[key] = value
            validate_file(write_doc(tmp_path, obj, f"t{n}.json", image=False))
            n += 1
        for key in skeys:
            obj = good_obj()
            obj["shapes"][3][key] = value
            validate_file(write_doc(tmp_path, obj, f"t{n}.json", image=False))
            n += 1
    assert n == len(weird) * (len(keys) + len(skeys))


# ----------------------------------------------------------------------------------------- clean


def test_clean_file_has_no_problems(tmp_path):
    path = write_doc(tmp_path, good_obj(occluded=("l_elbow", "l_wrist")))
    assert validate_file(path).problems == []


def test_embedded_image_data_is_checked(tmp_path):
    obj = good_obj()
    obj["imageData"] = base64.b64encode(image_bytes()).decode()
    path = write_doc(tmp_path, obj, image=False)
    probs = validate_file(path).problems
    assert [(p.code, p.severity) for p in probs] == [("image-file-missing", Severity.WARNING)]
    obj["imageWidth"] = 456
    probs = validate_file(write_doc(tmp_path, obj, "e.json", image=False)).problems
    assert "size-mismatch" in {p.code for p in probs}


def test_exif_rotated_image_size_is_the_displayed_one(tmp_path):
    img = Image.fromarray(np.zeros((W, H, 3), dtype=np.uint8))  # stored 256 wide x 455 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: labelme shows 455x256
    img.save(tmp_path / "00000.jpg", exif=exif)
    path = write_doc(tmp_path, good_obj(), image=False)
    assert validate_file(path).problems == []


def test_windows_image_path_and_subfolder(tmp_path):
    write_image(tmp_path / "imgs" / "a.jpg")
    path = write_doc(tmp_path, good_obj(image="imgs\\a.jpg"), image=False)
    assert validate_file(path).problems == []


def test_validate_paths_counts_and_orders(tmp_path):
    write_doc(tmp_path / "seq", good_obj(), "00000.json")
    bad = good_obj(image="00001.jpg")
    bad["shapes"][4]["label"] = "knee"
    write_doc(tmp_path / "seq", bad, "00001.json")
    (tmp_path / "seq" / ".hidden.json").write_text("garbage")
    report = validate_paths([tmp_path, tmp_path / "nope"])
    assert report.files_checked == 2
    assert [p.code for p in report.problems] == ["no-such-path", "joints-missing", "label-unknown"]
    assert report.errors == 2 and report.warnings == 1 and not report.ok
    assert report.summary() == "2 files checked, 2 errors, 1 warnings"
    d = report.to_dict()
    assert d["files_checked"] == 2 and d["errors"] == 2 and d["problems"][2]["shape_index"] == 4
    assert d["problems"][2]["path"] == str(tmp_path / "seq" / "00001.json")


def test_empty_folder_is_an_error(tmp_path):
    report = validate_paths([tmp_path])
    assert [(p.code, p.message) for p in report.problems] == [("no-files", "no LabelMe JSON files found")]
    assert report.files_checked == 0 and not report.ok


def test_malformed_box_is_not_also_reported_missing(tmp_path):
    obj = good_obj()
    obj["shapes"][0]["shape_type"] = "polygon"
    codes = [p.code for p in validate_file(write_doc(tmp_path, obj)).problems]
    assert codes == ["box-shape"]


@pytest.mark.parametrize("image_path,message", [
    ("a\x00b.jpg", 'image path "a\\u0000b.jpg" is not a valid path'),
    ("x" * 300 + ".jpg", "is not a valid path"),
])
def test_impossible_image_paths(tmp_path, image_path, message):
    fc = validate_file(write_doc(tmp_path, good_obj(image=image_path)))
    assert [p.code for p in fc.problems] == ["image-missing"] and message in fc.problems[0].message


def test_absurd_nesting_and_symlink_loops(tmp_path):
    obj = good_obj()
    nested: Any = [1.0, 2.0]
    for _ in range(500):
        nested = [nested]
    obj["shapes"][K]["points"] = nested
    fc = validate_file(write_doc(tmp_path, obj))
    assert [p.code for p in fc.problems if p.severity is Severity.ERROR] == ["point-format"]
    (tmp_path / "loop1.json").symlink_to(tmp_path / "loop2.json")
    (tmp_path / "loop2.json").symlink_to(tmp_path / "loop1.json")
    report = validate_paths([tmp_path])
    assert report.files_checked == 3
    assert [p.code for p in report.problems if Path(p.path).name.startswith("loop")] == ["unreadable", "unreadable"]


def test_occluded_joint_outside_box_is_only_a_warning(tmp_path):
    obj = good_obj()
    obj["shapes"][LW]["points"] = [[300.0, 138.0]]
    obj["shapes"][LW]["flags"] = {"occluded": True}  # e.g. under water while the box frames the visible diver
    problems = validate_file(write_doc(tmp_path, obj)).problems
    assert [(p.code, p.severity) for p in problems] == [("occluded-joint-outside-box", Severity.WARNING)]
    assert problems[0].message == "point (300.0, 138.0) is outside the diver box (enlarged by 10%) (occluded joint)"


def test_summary_names_the_dominant_warning_kinds() -> None:
    from fdpose.annotations.problems import Problem, Severity, ValidationReport

    def warn(code: str) -> Problem:
        return Problem("a.json", Severity.WARNING, code, "m")

    probs = [warn("occluded-joint-outside-box")] * 5 + [warn("near-duplicate")] * 2 + [warn("lr-swap")] + \
        [warn("joints-missing")] + [Problem("b.json", Severity.ERROR, "box-missing", "m")]
    report = ValidationReport(probs, files_checked=4)
    assert report.warning_kinds() == {"occluded-joint-outside-box": 5, "near-duplicate": 2, "joints-missing": 1,
                                      "lr-swap": 1}
    assert report.summary() == ("4 files checked, 1 errors, 9 warnings "
                                "(5 occluded-joint-outside-box, 2 near-duplicate, 1 joints-missing, ...)")
    assert report.to_dict()["warning_kinds"]["near-duplicate"] == 2
