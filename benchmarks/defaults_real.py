"""Frames per second of ``fdpose track-and-estimate FRAMES -o OUT`` with no other flag (the ``ssd``
detector + BlazePose) on the real dev clips.

    OMP_NUM_THREADS=1 python benchmarks/defaults_real.py [--shared ../shared] [--repeats 3] [--json]

Each clip of ``../shared/data/real`` is linked into a temporary frame tree (one clip per run,
nothing copied) and the installed ``fdpose`` command runs on it as a user would, ``--repeats``
times in fresh processes. Per run it reads the command's own summary (``--json``): frames per
second of each stage and of the whole clip (``pipeline_frames_per_s``: the clip's frames over
the summed stage times, model loading excluded) and the process's wall time (model loading,
imports and start-up included). Prints the median of the runs per clip; ``--json`` every run.
Times depend on the machine's load: say how busy it was when quoting them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("finediving_10m_clipA", "mtlaqa_10m_armstand")


def run_once(clip: Path, tmp: Path) -> dict[str, Any]:
    """One no-flag run on ``clip``'s frames; its summary plus the process wall time."""
    frames = tmp / "frames" / clip.name / "0"
    frames.mkdir(parents=True)
    for p in sorted(clip.glob("*.jpg")):
        (frames / p.name).symlink_to(p)
    out = tmp / "out"
    exe = Path(sys.executable).with_name("fdpose")
    cmd = [str(exe) if exe.exists() else "fdpose", "track-and-estimate", str(tmp / "frames"), "-o", str(out),
           "--json", "--no-progress"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{clip.name}: track-and-estimate failed: {res.stderr.strip().splitlines()[-1:]}")
    summary = json.loads(res.stdout[res.stdout.index("{"):])
    shutil.rmtree(tmp / "frames")
    shutil.rmtree(out)
    return {"frames": summary["frames"], "wall_seconds": round(wall, 2),
            "pipeline_frames_per_s": summary["pipeline_frames_per_s"],
            "stages_frames_per_s": {k: v["frames_per_s"] for k, v in summary["stages"].items()},
            "models": {k: v["name"] for k, v in summary["models"].items()},
            "tracked_frames": summary["clips_detail"][0]["tracked_frames"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    runs: dict[str, list[dict[str, Any]]] = {}
    for name in CLIPS:
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                runs.setdefault(name, []).append(run_once(args.shared / "data" / "real" / name, Path(tmp)))
    if args.json:
        print(json.dumps(runs, indent=1))
        return 0
    print(f"cpus {os.cpu_count()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}, "
          f"load average {os.getloadavg()[0]:.2f} at the end; median of {args.repeats} runs\n")
    print("| clip | frames | models | pipeline frames/s | detect | track | pose | wall s (with loading) | "
          "tracked frames |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        st = {k: statistics.median(r["stages_frames_per_s"][k] for r in rs) for k in ("detect", "track", "pose")}
        fps = statistics.median(r["pipeline_frames_per_s"] for r in rs)
        wall = statistics.median(r["wall_seconds"] for r in rs)
        models = " + ".join(rs[0]["models"].values())
        print(f"| {name} | {rs[0]['frames']} | {models} | {fps:.1f} | {st['detect']:.1f} | {st['track']:.0f} | "
              f"{st['pose']:.1f} | {wall:.1f} | {rs[0]['tracked_frames']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
