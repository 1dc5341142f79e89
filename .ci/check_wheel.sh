#!/usr/bin/env bash
# Build the wheel and import every fdpose.* module from it in a scratch venv (catches subpackages
# or data files missing from setup.cfg, which an editable install would hide).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FDPOSE_VENV:-.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$VENV/bin/python" -m pip wheel --no-deps --no-build-isolation -q -w "$work/dist" . >&2
wheel=$(ls "$work"/dist/fdpose-*.whl)
echo "built $(basename "$wheel")" >&2
# Scratch venv: its own site-packages holds only the wheel; dependencies come from the project venv
# through a .pth line (which does not activate the editable install's finder there).
"$VENV/bin/python" -m venv --without-pip "$work/venv"
site=$("$work/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
deps=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
"$VENV/bin/python" -m pip --python "$work/venv/bin/python" install --no-deps -q "$wheel" 2>/dev/null \
  || "$VENV/bin/python" - "$wheel" "$site" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
echo "$deps" > "$site/zz_fdpose_deps.pth"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import importlib, pkgutil, sys, os
import fdpose
root = os.path.dirname(fdpose.__file__)
assert "site-packages" in root and "/venv/" in root, f"fdpose imported from {root}, not from the wheel"
names = ["fdpose"] + [m.name for m in pkgutil.walk_packages(fdpose.__path__, "fdpose.")]
failed = []
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:  # report every failing module, not only the first
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
for f in failed:
    print("IMPORT FAILED", f, file=sys.stderr)
# Every source module of the repo must be in the wheel.
print(f"wheel import check: {len(names) - len(failed)} of {len(names)} modules imported from {root}")
sys.exit(1 if failed else 0)
PY
# Compare against the source tree: every .py in the domain folders must be in the wheel.
cd - >/dev/null
"$VENV/bin/python" - "$wheel" <<'PY'
import sys, zipfile, pathlib
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
mapping = {"fdpose": "fdpose", "annotations": "fdpose/annotations", "pipelines": "fdpose/pipelines",
           "hrnet_finetune": "fdpose/hrnet_finetune", "aqa_model": "fdpose/aqa_model"}
missing = []
for src, dst in mapping.items():
    for f in pathlib.Path(src).rglob("*"):
        if f.suffix not in (".py", ".json", ".yaml", ".yml") or "__pycache__" in f.parts:
            continue
        target = dst + "/" + f.relative_to(src).as_posix()
        if target not in names:
            missing.append(f"{f} -> {target}")
for m in missing:
    print("MISSING FROM WHEEL", m, file=sys.stderr)
print(f"wheel content check: {len(missing)} source files missing")
sys.exit(1 if missing else 0)
PY
