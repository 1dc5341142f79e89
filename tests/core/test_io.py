import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from fdpose.errors import InputError
from fdpose.io import atomic_write_text, dumps_json, iter_files, read_json, read_pickle, write_json, write_npz, write_pickle


def test_write_json_is_strict_and_numpy_aware(tmp_path):
    p = write_json(tmp_path / "sub" / "a.json", {"a": np.float32(1.5), "b": np.arange(3), "c": float("nan"), "d": (1, 2)})
    assert json.loads(p.read_text()) == {"a": 1.5, "b": [0, 1, 2], "c": None, "d": [1, 2]}
    assert not [f for f in p.parent.iterdir() if f.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "invalid JSON at line 1"),
        (b'{"a": 1', "invalid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"a": NaN}', "non-standard JSON number NaN"),
        (b'{"a": Infinity}', "non-standard JSON number Infinity"),
    ],
)
def test_read_json_errors_name_the_file(tmp_path, content, message):
    p = tmp_path / "x.json"
    p.write_bytes(content)
    with pytest.raises(InputError) as exc:
        read_json(p)
    assert str(p) in str(exc.value) and message in str(exc.value) and "\n" not in str(exc.value)


def test_read_json_refuses_huge_and_missing(tmp_path):
    p = tmp_path / "big.json"
    p.write_text("[" + "0," * 1000 + "0]")
    with pytest.raises(InputError, match="too large"):
        read_json(p, max_bytes=100)
    with pytest.raises(InputError, match="cannot read"):
        read_json(tmp_path / "nope.json")


def test_npz_and_pickle_roundtrip(tmp_path):
    arr = np.random.default_rng(1).normal(size=(96, 16, 3)).astype(np.float32)
    loaded = np.load(write_npz(tmp_path / "p.npz", pred=arr))["pred"]
    assert loaded.dtype == np.float32 and np.array_equal(loaded, arr)
    obj = {("m", np.int64(1)): {"x": np.arange(4)}}
    back = read_pickle(write_pickle(tmp_path / "a.pkl", obj))
    assert np.array_equal(back[("m", 1)]["x"], np.arange(4))
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="bad.pkl"):
        read_pickle(tmp_path / "bad.pkl")


def test_iter_files_sorted_and_missing_root(tmp_path):
    for name in ["b/2.json", "a/1.json", "a/.hidden.json", "c.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    assert [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path], ".json")] == ["a/1.json", "b/2.json"]
    with pytest.raises(InputError, match="no such file"):
        list(iter_files([tmp_path / "missing"], ".json"))


def test_killed_writer_leaves_old_file_intact(tmp_path):
    """kill -9 during a large atomic write: the target keeps its old complete content."""
    target = tmp_path / "out.json"
    atomic_write_text(target, '{"old": true}\n')
    code = (
        "import sys; from fdpose.io import _atomic_write\n"
        "def slow(fh):\n"
        "    fh.write(b'{\"new\": ['); fh.flush(); print('writing', flush=True)\n"
        "    import time; time.sleep(30)\n"
        f"_atomic_write({str(target)!r}, slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads(target.read_text()) == {"old": True}


def test_dumps_json_rejects_nothing_numpy():
    assert dumps_json({"x": np.bool_(True)}, indent=None).strip() == '{"x": true}'
