"""Reading one LabelMe file for :mod:`fdpose.annotations.validate`: the JSON (size limit,
truncation, non-standard numbers) and its image (file or embedded data, declared vs real size).

Every function records problems on the file's :class:`~fdpose.annotations.problems.FrameCheck`
instead of raising (see that module's docstring).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import stat
from pathlib import Path, PureWindowsPath
from typing import Any, Optional

from fdpose.annotations.problems import FrameCheck
from fdpose.video import jpeg_is_truncated


# --------------------------------------------------------------------------- reading


class _NonStandardNumber(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonStandardNumber(name)


def _looks_truncated(text: str) -> bool:
    """True when the text ends inside a string or with brackets still open (a cut-off write)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return in_string or depth > 0


def load_json(fc: FrameCheck, max_bytes: int) -> Any:
    """The parsed JSON of ``fc.path`` or None after recording why it could not be read."""
    p = fc.path
    try:
        st = p.stat()
    except OSError as exc:
        fc.error("unreadable", f"cannot read file ({exc.strerror or exc})")
        return None
    if stat.S_ISDIR(st.st_mode):
        fc.error("not-a-file", "is a directory, not a LabelMe JSON file")
        return None
    if not stat.S_ISREG(st.st_mode):
        fc.error("not-a-file", "not a regular file")
        return None
    if st.st_size == 0:
        fc.error("empty", "empty file")
        return None
    if st.st_size > max_bytes:
        fc.error("too-large", f"file too large for a LabelMe annotation ({st.st_size} bytes > limit {max_bytes})")
        return None
    try:
        raw = p.read_bytes()
    except OSError as exc:
        fc.error("unreadable", f"cannot read file ({exc.strerror or exc})")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fc.error("not-utf8", f"not UTF-8 text (binary data at byte {exc.start})")
        return None
    if not text.strip():
        fc.error("empty", "file holds only whitespace")
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except _NonStandardNumber as exc:
        fc.error("non-standard-number", f"{exc} is not valid JSON (use null or a finite number)")
    except json.JSONDecodeError as exc:
        hint = " (file truncated?)" if _looks_truncated(text) else ""
        fc.error("bad-json", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}")
    except RecursionError:
        fc.error("bad-json", "invalid JSON: nested too deeply")
    except ValueError as exc:
        fc.error("bad-json", f"invalid JSON: {exc}")
    return None


def type_name(v: Any) -> str:
    return "null" if v is None else {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
                                     "list": "list", "dict": "object"}.get(type(v).__name__, type(v).__name__)


def show_value(v: Any, width: int = 40) -> str:
    try:
        text = json.dumps(v)
    except (RecursionError, ValueError, TypeError):  # absurdly nested values: the type says enough
        text = type_name(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------- image


def _oriented_size(im: Any) -> tuple[int, int]:
    """(width, height) as labelme shows the image: EXIF orientations 5-8 swap the axes."""
    w, h = im.size
    try:
        orientation = im.getexif().get(0x0112)
    except Exception:  # a broken EXIF block must not hide the size we already have
        orientation = None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _image_header_size(source: Any) -> tuple[int, int]:
    """(width, height) from the image header only (PIL opens lazily, pixels are not decoded)."""
    from PIL import Image

    with Image.open(source) as im:
        return _oriented_size(im)


def _image_file(obj_path: str, json_path: Path) -> Path:
    rel = Path(PureWindowsPath(obj_path).as_posix()) if "\\" in obj_path else Path(obj_path)
    return rel if rel.is_absolute() else json_path.parent / rel


def _path_kind(path: Path) -> str:
    """"file", "other" (directory, device ...), "missing" or "invalid" (NUL byte, name too long)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError):
        return "invalid"
    return "file" if stat.S_ISREG(st.st_mode) else "other"


def check_image(fc: FrameCheck, obj: dict[str, Any]) -> None:
    """Find the image (embedded or on disk), read its size, compare with the declared size."""
    declared: dict[str, Optional[int]] = {}
    for key in ("imageWidth", "imageHeight"):
        v = obj.get(key)
        if v is None:
            declared[key] = None
        elif isinstance(v, int) and not isinstance(v, bool) and v > 0:
            declared[key] = v
        else:
            fc.error("image-size-type", f"{key} must be a positive integer, got {type_name(v)} {show_value(v)}")
            declared[key] = None
    if "imageWidth" not in obj or "imageHeight" not in obj:
        fc.warn("image-size-missing", "imageWidth/imageHeight missing (labelme writes both)")

    image_path = obj.get("imagePath")
    image_data = obj.get("imageData")
    if not isinstance(image_path, str) or not image_path.strip():
        what = "missing" if image_path is None else f"{type_name(image_path)} {show_value(image_path)}"
        fc.error("image-path", f"imagePath must be a non-empty string, got {what}")
        image_path = None
    if image_data is not None and not isinstance(image_data, str):
        fc.error("image-data-type", f"imageData must be a base64 string or null, got {type_name(image_data)}")
        image_data = None

    actual: Optional[tuple[int, int]] = None
    file = _image_file(image_path, fc.path) if image_path else None
    if image_data is not None:
        try:
            blob = base64.b64decode("".join(image_data.split()), validate=True)
        except (binascii.Error, ValueError):
            fc.error("image-data-base64", "imageData is not valid base64")
            blob = None
        if blob is not None:
            try:
                actual = _image_header_size(io.BytesIO(blob))
            except Exception as exc:  # PIL raises many types on garbage; each is "not an image"
                fc.error("image-data-corrupt", f"imageData is not a readable image ({type(exc).__name__})")
        if file is not None and _path_kind(file) != "file":
            fc.warn("image-file-missing", f"image file {image_path} not found (the embedded imageData is used)")
    elif file is not None:
        kind = _path_kind(file)
        if kind == "missing":
            fc.error("image-missing", f"image file {image_path} not found (looked for {file})")
        elif kind == "invalid":
            fc.error("image-missing", f"image path {show_value(image_path)} is not a valid path")
        elif kind != "file":
            fc.error("image-missing", f"image path {image_path} is not a file")
        else:
            try:
                actual = _image_header_size(file)
            except PermissionError as exc:
                fc.error("image-unreadable", f"cannot read image file {image_path} ({exc.strerror})")
            except Exception as exc:  # corrupt/unknown formats raise OSError, SyntaxError, ValueError ...
                fc.error("image-corrupt", f"image file {image_path} is not a readable image ({type(exc).__name__})")
            else:
                if jpeg_is_truncated(file):  # the header reads, the pixels below the cut decode grey
                    fc.error("image-truncated", f"image file {image_path} is a truncated JPEG (no end-of-image "
                                                "marker: only its first rows are real; extract the frame again)")

    dw, dh = declared["imageWidth"], declared["imageHeight"]
    if actual is not None:
        aw, ah = actual
        if (dw is not None and dw != aw) or (dh is not None and dh != ah):
            fc.error("size-mismatch", f"declared size {dw}x{dh} (imageWidth x imageHeight) but the image is {aw}x{ah}")
        fc.image_size = actual
    elif dw is not None and dh is not None:
        fc.image_size = (dw, dh)  # image unusable, but the declared size still bounds the points
