"""File helpers every stage uses: atomic writes (temp file + rename) and strict JSON reading.

A killed process never leaves a half-written output: data goes to a temporary file in the
destination folder, is flushed and fsynced, then renamed over the target in one step.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import io
import json
import math
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from fdpose.errors import InputError

#: Files larger than this are refused by :func:`read_json` (annotation JSONs are kilobytes;
#: a 1 GB "JSON" is a mistake, not something to parse into memory).
MAX_JSON_BYTES = 256 * 1024 * 1024


def current_umask() -> int:
    """The process umask (read by setting it and putting it back: the only portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: str | os.PathLike[str], writer: Callable[[io.BufferedWriter], object]) -> Path:
    dst = Path(path)
    dst.parent.mkdir(parents=True, exist_ok=True)
    # the writer's pid in the name lets a later run tell a killed writer's leftover from a live one's
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.{os.getpid()}.", suffix=".tmp", dir=dst.parent)
    try:
        # mkstemp creates 0600; the file gets the mode a plain open() would give, so shared datasets,
        # track outputs and checkpoints stay readable by whoever the umask lets read them.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename is None:
            # a failed write (disk full, file-size limit) names no file: name the output it was for
            raise OSError(exc.errno, exc.strerror or str(exc), str(dst)) from exc
        raise
    return dst


def _writer_pid(name: str) -> Optional[int]:
    """The pid in a temp name this package writes, else None: ``.{name}.{pid}.{random}.tmp`` (atomic writes),
    ``.{name}.{pid}.tmp`` (HRNet checkpoints), ``.{stem}.{pid}.partial.mp4`` (videos),
    ``.{name}.{pid}.{random}.partial`` (export staging), ``.{name}.old-{pid}`` (a replaced dataset)."""
    if not name.startswith("."):
        return None
    parts = name.split(".")
    if parts[-1].startswith("old-"):
        candidates = [parts[-1][4:]]
    elif name.endswith(".partial.mp4"):
        candidates = [parts[-3]] if len(parts) >= 4 else []
    elif name.endswith(".tmp") or name.endswith(".partial"):
        candidates = [parts[-3], parts[-2]] if len(parts) >= 4 else []  # pid before the random part, if any
    else:
        return None
    pids = [int(c) for c in candidates if c.isdigit()]
    return pids[0] if pids else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def remove_stale_temps(folder: str | os.PathLike[str], recursive: bool = True, prefix: str = ".") -> list[Path]:
    """Remove what killed writers left in ``folder``: temp files and staging folders whose writer process is gone.

    A SIGKILL gives an atomic write no chance to clean up; the next run of the command calls this on its
    output folder. Files of live processes (another run writing there now) are left alone; only names
    starting with ``prefix`` are considered (``.{output name}.`` for the siblings of one output). Returns
    the removed paths.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    removed = []
    for p in sorted(root.rglob(f"{glob.escape(prefix)}*") if recursive else root.glob(f"{glob.escape(prefix)}*")):
        pid = _writer_pid(p.name)
        if pid is None or _alive(pid) or not p.exists():
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; parent folders are created."""
    return _atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths, tuples and dataclass-like dicts to plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN/Inf; readers treat null as "missing"
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def dumps_json(obj: Any, indent: Optional[int] = 2) -> str:
    """Serialise ``obj`` (numpy allowed) to strict JSON text (NaN/Inf become null)."""
    return json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], obj: Any, indent: Optional[int] = 2) -> Path:
    """Atomically write ``obj`` as JSON."""
    return atomic_write_text(path, dumps_json(obj, indent=indent))


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON number {name}")


def read_json(path: str | os.PathLike[str], max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON file strictly; any failure becomes one :class:`InputError` naming the file.

    NaN/Infinity literals are rejected (they are not JSON and would poison coordinates).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", p) from None
    if size > max_bytes:
        raise InputError(f"file too large for a JSON annotation ({size} bytes > {max_bytes})", p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", p) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", p) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", p) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"invalid JSON: {exc}", p) from None


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The CSV text of a table (pandas): one row per mapping, ``columns`` in order (other keys ignored),
    None empty, every value written as Python prints it (object columns: an int column with gaps stays
    ints, floats keep full precision), ``\\n`` line ends."""
    import pandas as pd

    cols = list(columns)
    frame = pd.DataFrame([{c: row.get(c) for c in cols} for row in rows], columns=cols, dtype=object)
    return str(frame.to_csv(index=False, lineterminator="\n", na_rep=""))


def write_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> Path:
    """Atomically write an uncompressed ``.npz`` with the given named arrays."""
    buf = io.BytesIO()
    savez: Any = np.savez  # numpy's stub lets a **kwargs key bind `allow_pickle`, so mypy refuses **arrays
    savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def npz_read_error(exc: BaseException, path: str | os.PathLike[str]) -> InputError:
    """The one-line :class:`InputError` for an ``.npz`` that ``np.load(allow_pickle=False)`` refused.

    numpy's own message for a file it would have to unpickle (a text file, an object array)
    advises loading it with ``allow_pickle=True``, which runs code from the file: our files hold
    plain arrays only, so that advice never reaches the user. Other messages are cut to one
    short line.
    """
    if isinstance(exc, ValueError) and "allow_pickle" in str(exc):
        return InputError("not a readable .npz (not plain arrays: numpy would have to unpickle it; refused)", path)
    return InputError(f"not a readable .npz ({' '.join(str(exc).split())[:160]})", path)


def write_pickle(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically pickle ``obj`` (used for FineDiving-format annotation files)."""
    return atomic_write_bytes(path, pickle.dumps(obj, protocol=4))


#: The only globals an annotation pickle may name: numpy arrays, dtypes and scalars (the real FineDiving
#: files were written under numpy 1, ``numpy.core``; files written here under numpy 2 say ``numpy._core``).
#: Everything else (``os.system``, ``builtins.eval``, any class) is refused before it is called.
PICKLE_ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
})


class _AnnotationUnpickler(pickle.Unpickler):
    """Unpickler for annotation files: Python containers and numbers plus :data:`PICKLE_ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in PICKLE_ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refused: the pickle asks for {module}.{name}; annotation files may hold "
                                         "only Python containers, numbers, strings and numpy arrays/scalars")
        return super().find_class(module, name)


def read_pickle(path: str | os.PathLike[str]) -> Any:
    """Load an annotation pickle with a restricted unpickler (no code from the file ever runs).

    FineDiving annotations hold dicts, lists, tuples, strings, numbers and numpy arrays/scalars;
    a pickle naming any other global is refused with :class:`InputError`.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return _AnnotationUnpickler(fh).load()
    except FileNotFoundError:
        raise InputError("file not found", p) from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError, TypeError,
            KeyError) as exc:
        raise InputError(f"not a readable annotation pickle ({type(exc).__name__}: {exc})", p) from None


def iter_files(roots: list[str | os.PathLike[str]] | tuple, suffix: str) -> Iterator[Path]:
    """Yield files ending in ``suffix`` under each root (a file root is yielded as is), sorted."""
    for root in roots:
        r = Path(root)
        if r.is_file():
            yield r
        elif r.is_dir():
            yield from sorted(p for p in r.rglob(f"*{suffix}") if p.is_file() and not p.name.startswith("."))
        else:
            raise InputError("no such file or directory", r)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=32)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def cached_file_sha256(path: str | os.PathLike[str]) -> str:
    """:func:`file_sha256` cached per (resolved path, size, mtime): a run hashes a model file once, not per clip."""
    p = Path(path)
    st = p.stat()
    return _cached_sha256(str(p.resolve()), st.st_size, st.st_mtime_ns)
