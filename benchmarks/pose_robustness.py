"""PCKh@0.5 of the no-flag ``track-and-estimate`` on the transformed labelled real dev clip.

    OMP_NUM_THREADS=1 python benchmarks/pose_robustness.py [--shared ../shared/data] [--only NAME,...]
        [--json] [--pose-set NAME=VALUE ...] [--write-doc docs/pose.md]

The pose counterpart of ``benchmarks/real_robustness.py`` (tracking): the same transforms
(``real_robustness.TRANSFORMS``: mirror, sizes, frame rates, repeated frames, JPEG, bars, zoom)
applied to the frames of ``finediving_10m_clipA`` AND to its human MPII-16 labels, then the whole
runner (``ssd`` detector, tracker, BlazePose, interpolation; ``pose_real.pipeline_poses``) on the
transformed frames, scored with the head-size proxy ``|head_top - upper_neck|`` of the
transformed label, so the figure does not depend on the picture's size.

How a label moves: every joint is carried through the transform as a tiny box (the transforms
move boxes with the image), so sizes, bars, zoom and frame selection act on joints exactly as on
the frames; a mirror also exchanges left and right joints (:func:`fdpose.skeleton.flip_permutation`);
a joint the zoom crops away is left out of the score. Transformed frames are written as JPEG at
quality 100 for the runner (it reads frame folders), which changes clip A's figure by less than
0.005 against its original files.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pose_real  # noqa: E402
import real_robustness  # noqa: E402

from fdpose.metrics.pose import pckh  # noqa: E402
from fdpose.skeleton import NUM_JOINTS, flip_permutation  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: a joint as a box for the transforms (px): small enough to stay a point, wide enough to keep a positive area
POINT = 1e-3


def transform_labels(name: str, frames: list[np.ndarray], joints: np.ndarray, vis: np.ndarray
                     ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Frames ``T x (H, W, 3)``, label joints ``(T, 16, 2)`` and visibility ``(T, 16)`` through the
    transform ``name`` -> (frames ``T' x (H', W', 3)``, joints ``(T', 16, 2)``, visibility ``(T', 16)``).

    Frame selection (stride, repeats) is read from a frame-index channel carried like the joints.
    """
    tf: Callable[[Any], Any] = real_robustness.TRANSFORMS[name]
    n = len(frames)
    under = [False] * n
    moved: list[list[Optional[np.ndarray]]] = []
    images: Optional[list[np.ndarray]] = None
    for j in range(NUM_JOINTS):
        boxes = [np.array([x, y, x + POINT, y + POINT]) for x, y in joints[:, j, :2]]
        out = tf(real_robustness.Clip(frames, boxes, under))
        images = out.images if images is None else images
        moved.append(out.gt)
    src = list(range(n))
    if _frame_selection_only(name):  # which source frame each output frame shows: a frame-index channel
        index = tf(real_robustness.Clip([np.zeros((8, 8, 3), np.uint8)] * n,
                                        [np.array([t, 0.0, t + POINT, POINT]) for t in range(n)], under))
        src = [int(round(float(g[0]))) for g in index.gt]
    assert images is not None and len(images) == len(src)
    pts = np.array([[np.full(2, np.nan) if g is None else np.asarray(g, dtype=np.float64)[:2] for g in col]
                    for col in moved])  # (16, T', 2)
    pts = np.transpose(pts, (1, 0, 2))
    if name.startswith("flip"):
        pts = pts[:, flip_permutation()]
        v = vis[src][:, flip_permutation()]
    else:
        v = vis[src]
    return images, pts, v & np.isfinite(pts[..., 0])


def _frame_selection_only(name: str) -> bool:
    """True for the transforms that choose or repeat frames (their frame-index channel is exact)."""
    return name in ("stride2", "dup2", "pulldown", "dup2+jpeg", "pulldown+jpeg")


def run(shared: Path, names: list[str], pose_options: Optional[dict[str, Any]] = None) -> dict[str, dict[str, Any]]:
    import cv2

    frames, gt, vis = pose_real.load_clip(shared / "real" / pose_real.CLIP)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        images, joints, v = transform_labels(name, frames, gt[..., :2], vis)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "clip"
            folder.mkdir()
            for t, im in enumerate(images):
                cv2.imwrite(str(folder / f"{t:05d}.jpg"), im, [cv2.IMWRITE_JPEG_QUALITY, 100])
            pred, _ = pose_real.pipeline_poses(folder, "ssd", pose_options)
        out[name] = {"frames": len(images), "width": int(images[0].shape[1]), "height": int(images[0].shape[0]),
                     "pckh": float(pckh(pred[..., :2], joints, v).mean),
                     "placed": float(np.isfinite(pred[..., 0]).mean())}
        print(f"{name}: PCKh@0.5 {out[name]['pckh']:.3f}", file=sys.stderr, flush=True)
    return out


def render(res: dict[str, dict[str, Any]], cmd: str) -> str:
    base = res.get("none", {}).get("pckh")
    lines = ["| transform | frames | size | PCKh@0.5 | vs untransformed | joints placed |", "|---|---|---|---|---|---|"]
    for name, r in res.items():
        delta = "" if base is None or name == "none" else f"{r['pckh'] - base:+.3f}"
        lines.append(f"| {name} | {r['frames']} | {r['width']}x{r['height']} | {r['pckh']:.3f} | {delta} | "
                     f"{r['placed']:.0%} |")
    return f"    {cmd}\n\n" + "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--only", default=",".join(real_robustness.TRANSFORMS), help="comma-separated transforms")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pose-set", action="append", default=[], metavar="NAME=VALUE",
                    help="a mediapipe pose setting, as track-and-estimate --pose-set (repeatable)")
    ap.add_argument("--write-doc", type=Path, default=None,
                    help="replace the table between '<!-- pose-robustness -->' markers of this markdown file")
    args = ap.parse_args(argv)
    names = args.only.split(",")
    unknown = [n for n in names if n not in real_robustness.TRANSFORMS]
    if unknown:
        raise SystemExit(f"error: unknown transform(s) {', '.join(unknown)}")
    if not (args.shared / "real" / pose_real.CLIP).is_dir():
        raise SystemExit(f"error: no labelled dev clip under {args.shared / 'real'}")
    from fdpose.pipelines.pose.options import parse_pose_options

    res = run(args.shared, names, parse_pose_options("mediapipe", args.pose_set))
    if args.json:
        print(json.dumps(res, indent=1))
    sets = "".join(f" --pose-set {a}" for a in args.pose_set)
    table = render(res, f"OMP_NUM_THREADS=1 python benchmarks/pose_robustness.py{sets} --write-doc docs/pose.md")
    if args.write_doc:
        text = args.write_doc.read_text()
        start, end = "<!-- pose-robustness -->", "<!-- /pose-robustness -->"
        if start not in text or end not in text:
            raise SystemExit(f"error: {args.write_doc} has no {start} ... {end} markers")
        head, rest = text.split(start, 1)
        args.write_doc.write_text(head + start + "\n" + table + rest[rest.index(end):])
    elif not args.json:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
