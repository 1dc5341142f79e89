"""``fdpose export``: build a FineDiving-Pose dataset from pipeline output, manual labels and the
FineDiving annotations.

For every FineDiving clip of the chosen splits that has a ``track-and-estimate`` output
(``TRACK_OUT/{match}__{idx}.json``), the 96 sampled frames are merged with the manual labels
(:mod:`.merge`), written as ``clips/{match}/{idx}.npz`` (:mod:`.dataset`) and listed in
``manifest.json`` with the FineDiving key, split, dive number, score, difficulty and judges'
scores. Optional formats (:mod:`.formats`) are written alongside; then the dataset is checked
(:mod:`.check`) and its card written (:mod:`.card`). The manifest is written after the clip
files, so a dataset folder with a manifest is complete.

``drop_failing`` (``fdpose export --drop-failing``, off by default) leaves out every clip whose
share of interpolated joints is over ``max_interpolated`` instead of exporting it and failing the
check: the clip gets no files, its key stays in the FineDiving split lists and is listed under the
manifest's ``dropped`` with the reason; the check accepts listed keys and the card names them.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from fdpose import __version__
from fdpose.annotations.interchange import FrameEntry
from fdpose.errors import ConfigError, FdposeError, InputError, ValidationError
from fdpose.finediving import FineDivingAnnotations, Key, load_annotations
from fdpose.io import atomic_write_text, current_umask, dumps_json, file_sha256, remove_stale_temps
from fdpose.progress import progress as progress_bar
from fdpose.pipelines.clip_json import read_clip_json
from fdpose.pipelines.export.card import write_card
from fdpose.pipelines.export.check import DEFAULT_MAX_INTERPOLATED, CheckReport, check_dataset
from fdpose.pipelines.export.dataset import ClipEntry, clip_file, manifest_path, write_clip_arrays
from fdpose.pipelines.export.formats import (FORMAT_DIRS, FORMATS, entries_by_split, write_hpmcore,
                                             write_manual_format)
from fdpose.pipelines.export.merge import LabelIndex, index_manual_labels, merge_clip
from fdpose.pipelines.export.schema import (FORMAT_NAME, MANIFEST_NAME, PROVENANCE_TABLE, SCHEMA_VERSION,
                                            Provenance, validate_manifest)
from fdpose.pipelines.runner import output_paths
from fdpose.sampling import NUM_SAMPLED_FRAMES, split_clip_id
from fdpose.skeleton import JOINT_NAMES

log = logging.getLogger(__name__)

SPLIT_CHOICES: tuple[str, ...] = ("all", "train", "test")


@dataclass
class ExportSummary:
    """What an export wrote (``--json`` prints :meth:`as_dict`)."""

    dataset: Path
    manifest: Path
    card: Path
    formats: list[str]
    clips: int
    clips_per_split: dict[str, int]
    frames: int
    manual_frames: int
    labelled_frames: dict[str, dict[str, int]]
    missing_keys: list[Key]
    provenance_share: dict[str, float]
    check: CheckReport
    seconds: float
    command: str
    warnings: list[str] = field(default_factory=list)
    #: clips left out by ``drop_failing``: {"key": [match, idx], "split": ..., "reason": ...}
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": str(self.dataset), "manifest": str(self.manifest), "card": str(self.card),
                "formats": list(self.formats), "clips": self.clips, "clips_per_split": dict(self.clips_per_split),
                "frames": self.frames, "manual_frames": self.manual_frames,
                "labelled_frames": self.labelled_frames, "missing_keys": [list(k) for k in self.missing_keys],
                "provenance_share": dict(self.provenance_share), "check": self.check.as_dict(),
                "seconds": round(self.seconds, 3), "command": self.command, "warnings": list(self.warnings),
                "dropped": [dict(d) for d in self.dropped]}


def _formats(fmt: str | Sequence[str]) -> list[str]:
    wanted = [fmt] if isinstance(fmt, str) else list(fmt)
    bad = [f for f in wanted if f not in FORMATS]
    if bad:
        raise ConfigError(f"unknown export format {bad[0]!r} (choose from {', '.join(FORMATS)})")
    # The fdpose manifest and arrays are the dataset itself (check and card read them): always written.
    return [f for f in FORMATS if f == "fdpose" or f in wanted]


def _split_of(ann: FineDivingAnnotations, keys: set[Key], where: Path) -> dict[Key, str]:
    out: dict[Key, str] = {}
    for name, split in (("train", ann.train), ("test", ann.test)):
        for k in split:
            if k not in keys:
                raise ValidationError(f"{name} split key {k[0]}/{k[1]} has no fine-grained or coarse record", where)
            if out.setdefault(k, name) != name:
                raise ValidationError(f"key {k[0]}/{k[1]} is in both the train and the test split", where)
    return {k: out.get(k, "none") for k in keys}


def _track_outputs(track_out: Path, keys: set[Key]) -> dict[Key, Path]:
    """Clip JSONs of TRACK_OUT by FineDiving key (unknown or malformed ids are one-line errors)."""
    if not track_out.is_dir():
        raise InputError("track-and-estimate output folder not found", track_out)
    found: dict[Key, Path] = {}
    for p in sorted(track_out.glob("*.json")):
        if p.name.startswith("."):
            continue
        try:
            match, idx = split_clip_id(p.stem)
        except FdposeError:
            raise InputError(f"clip id {p.stem!r} is not {{match}}__{{idx}}: cannot join it with FineDiving",
                             p) from None
        if not idx.isdigit():
            raise InputError(f"clip index {idx!r} of {p.stem!r} is not an integer", p)
        key: Key = (match, int(idx))
        if key not in keys:
            raise InputError(f"unknown key: clip {match}/{idx} is not in the FineDiving annotations", p)
        found[key] = p
    return found


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse to replace anything but an empty folder or (with ``overwrite``) a dataset folder."""
    if out.exists() and not out.is_dir():
        raise InputError("output exists and is not a folder", out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise InputError("output folder is not empty (use --overwrite to replace the dataset)", out)
        if not (out / MANIFEST_NAME).is_file():
            raise InputError(f"refusing to replace a folder without {MANIFEST_NAME} (not a FineDiving-Pose dataset)",
                             out)


def _move_into_place(staging: Path, out: Path) -> None:
    """Swap the finished staging folder in for ``out`` (the old dataset goes only once the new is there)."""
    old: Optional[Path] = None
    if out.is_dir():
        if any(out.iterdir()):
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        else:
            out.rmdir()
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old)


def _progress(items: list[Key], enabled: bool) -> Iterable[Key]:
    return progress_bar(items, desc="exporting clips", unit="clip", enabled=enabled, leave=True)


def manifest_text(doc: dict[str, Any]) -> str:
    """The manifest as JSON with one line per top-level field, split and clip (small, diffable)."""
    def one(v: Any) -> str:
        return dumps_json(v, indent=None).strip()

    parts = []
    for k, v in doc.items():
        if k == "clips":
            body = ",\n".join(f"    {one(c)}" for c in v)
            parts.append(f'  "clips": [\n{body}\n  ]' if v else '  "clips": []')
        elif k == "splits":
            body = ",\n".join(f"    {one(s)}: {one(keys)}" for s, keys in v.items())
            parts.append(f'  "splits": {{\n{body}\n  }}' if v else '  "splits": {}')
        else:
            parts.append(f"  {one(k)}: {one(v)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def equivalent_command(track_out: Path, manual: Sequence[Path], annotations: Path, out: Path, formats: list[str],
                       split: str, allow_missing: bool, max_interpolated: float, drop_failing: bool = False) -> str:
    """The ``fdpose export`` command line that does what a library call did (for the card)."""
    args = ["fdpose", "export", "--auto", str(track_out)]
    for m in manual:
        args += ["--manual", str(m)]
    args += ["--annotations", str(annotations), "-o", str(out)]
    for f in formats:
        if f != "fdpose":
            args += ["--format", f]
    if split != "all":
        args += ["--split", split]
    if allow_missing:
        args.append("--allow-missing")
    if max_interpolated != DEFAULT_MAX_INTERPOLATED:
        args += ["--max-interpolated", str(max_interpolated)]
    if drop_failing:
        args.append("--drop-failing")
    return shlex.join(args)


def _clip_entry(key: Key, ann: FineDivingAnnotations, split: str, rel: str, stage: Path, frame_count: int,
                manual_frames: int, provenance: dict[str, int], backends: dict[str, str]) -> ClipEntry:
    fine, coarse = ann.fine.get(key), ann.coarse.get(key)
    rec = fine if fine is not None else coarse
    if rec is None:  # keys are drawn from the records; a violation is a bug, not bad input
        raise KeyError(key)
    return ClipEntry(key=key, clip_id=f"{key[0]}__{key[1]}", split=split, dive_number=rec.action_type,
                     dive_score=float(rec.dive_score), difficulty=float(rec.difficulty),
                     judge_scores=None if coarse is None else [float(s) for s in coarse.judge_scores],
                     file=rel, sha256=file_sha256(stage / rel), source_frames=frame_count,
                     manual_frames=manual_frames, provenance=provenance, backends=backends)


def _write_clips(keys: list[Key], outputs: dict[Key, Path], labels: LabelIndex, ann: FineDivingAnnotations,
                 split_of: dict[Key, str], formats: list[str], label_entries: dict[str, list[FrameEntry]],
                 stage: Path, progress: bool, drop_over: Optional[float] = None
                 ) -> tuple[list[ClipEntry], dict[str, dict[str, int]], list[dict[str, Any]]]:
    """Merge and write every clip (and the optional formats) into ``stage``; returns the manifest
    entries, the labelled frames per split of each manual-label format and the dropped clips
    (``drop_over``: leave out clips with a larger share of interpolated joints; None keeps all)."""
    entries: list[ClipEntry] = []
    dropped: list[dict[str, Any]] = []
    for key in _progress(keys, progress):
        path = outputs[key]
        clip = read_clip_json(path)
        clip_id = f"{key[0]}__{key[1]}"
        if clip.clip_id != clip_id:
            raise ValidationError(f"clip_id {clip.clip_id!r} does not match the file name ({clip_id})", path)
        if len(clip.sampled_indices) != NUM_SAMPLED_FRAMES:
            raise ValidationError(f"{len(clip.sampled_indices)} sampled frames, the dataset needs "
                                  f"{NUM_SAMPLED_FRAMES} (rerun track-and-estimate with --frames {NUM_SAMPLED_FRAMES})",
                                  path)
        arrays, manual_frames = merge_clip(clip, labels.get(key))
        share = arrays.provenance_share(Provenance.INTERPOLATED)
        if drop_over is not None and share > drop_over:
            reason = f"{100 * share:.1f}% interpolated joints > {100 * drop_over:.1f}%"
            dropped.append({"key": [key[0], key[1]], "split": split_of[key], "reason": reason})
            log.info("dropped clip %s: %s", clip_id, reason)
            continue
        rel = clip_file(*key)
        write_clip_arrays(stage / rel, arrays, NUM_SAMPLED_FRAMES)
        if "hpmcore" in formats:
            write_hpmcore(stage, key, arrays.keypoints)
        entries.append(_clip_entry(key, ann, split_of[key], rel, stage, clip.frame_count, manual_frames,
                                   arrays.provenance_counts(), {"detector": clip.detector.name,
                                                                "pose": clip.pose.name}))
    if dropped:  # the manual-label formats cover the exported clips only
        gone = {f"{d['key'][0]}/{d['key'][1]}" for d in dropped}
        label_entries = {s: [e for e in es if "/".join(e.label_file.split("/")[:2]) not in gone]
                         for s, es in label_entries.items()}
    labelled = {f: write_manual_format(f, stage, label_entries, True, progress)
                for f in formats if f in ("mpii", "coco")}
    return entries, labelled, dropped


def _manifest(ann: FineDivingAnnotations, order: list[Key], split_of: dict[Key, str], split: str, command: str,
              track_out: Path, manual: list[Path], annotations: Path, formats: list[str],
              entries: list[ClipEntry], dropped: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    """The manifest document (validated by the caller before it is written); ``dropped`` only when
    clips were left out (older manifests have no such field)."""
    covered = {"train": list(ann.train), "test": list(ann.test),
               "none": [k for k in order if split_of[k] == "none"]}
    splits = {s: [[k[0], k[1]] for k in ks] for s, ks in covered.items() if (split == "all" and ks) or s == split}
    doc: dict[str, Any] = {
        "format": FORMAT_NAME, "schema_version": SCHEMA_VERSION,
        "created_by": {"tool": "fdpose", "version": __version__, "command": command},
        "num_frames": NUM_SAMPLED_FRAMES, "joints": list(JOINT_NAMES), "provenance_codes": dict(PROVENANCE_TABLE),
        "sources": {"auto": str(track_out), "manual": [str(m) for m in manual], "annotations": str(annotations)},
        "splits": splits,
        "outputs": {f: FORMAT_DIRS[f] for f in formats},
        "clips": [e.to_doc() for e in entries],
    }
    if dropped:
        doc["dropped"] = dropped
    return doc


def export_dataset(track_out: str | os.PathLike[str], manual: Sequence[str | os.PathLike[str]],
                   annotations: str | os.PathLike[str], out: str | os.PathLike[str],
                   fmt: str | Sequence[str] = "fdpose", *, split: str = "all", allow_missing: bool = False,
                   overwrite: bool = False, max_interpolated: float = DEFAULT_MAX_INTERPOLATED,
                   min_agreement: Optional[float] = None, command: Optional[str] = None,
                   progress: bool = False, drop_failing: bool = False) -> ExportSummary:
    """Build the dataset at ``out`` (see the module docstring) and return what was written.

    split: which FineDiving keys make the dataset (``all``, ``train`` or ``test``); every key of
    them needs a track output unless ``allow_missing`` (then the check reports the gaps).
    fmt: ``fdpose`` (always written) plus any of ``hpmcore``, ``mpii``, ``coco``.
    command: the command line recorded in the manifest and card (default: the equivalent
    ``fdpose export`` command). The returned summary's ``check`` is the dataset's check report.
    drop_failing: leave out the clips over ``max_interpolated`` (module docstring); an export that
    would drop every clip is an error.
    """
    start = time.perf_counter()
    formats = _formats(fmt)
    if split not in SPLIT_CHOICES:
        raise ConfigError(f"unknown split {split!r} (choose from {', '.join(SPLIT_CHOICES)})")
    track_p, ann_p, out_p = Path(track_out), Path(annotations), Path(out)
    manual_p = [Path(m) for m in manual]
    ann = load_annotations(ann_p)
    records = set(ann.fine) | set(ann.coarse)
    if not records:
        raise InputError("no fine-grained or coarse annotation pickle: dive numbers and scores are needed", ann_p)
    split_of = _split_of(ann, records, ann_p)
    order = list(ann.fine) + [k for k in ann.coarse if k not in ann.fine]
    selected = [k for k in order if split == "all" or split_of[k] == split]
    outputs = _track_outputs(track_p, records)
    missing = [k for k in selected if k not in outputs]
    if missing and not allow_missing:
        first = output_paths(track_p, f"{missing[0][0]}__{missing[0][1]}")[0]
        raise InputError(f"no track output for {len(missing)} of {len(selected)} clip(s) of the {split} split(s) "
                         "(run fdpose track-and-estimate on them, or pass --allow-missing)", first)
    keys = [k for k in selected if k in outputs]
    if not keys:
        raise InputError(f"no track output for any clip of the {split} split(s)", track_p)
    labels = index_manual_labels(manual_p, records, progress)
    exported_split = {k: split_of[k] for k in keys}
    manual_formats = [f for f in formats if f in ("mpii", "coco")]
    label_entries = entries_by_split(manual_p, exported_split, progress) if manual_formats else {}
    if manual_formats and not any(label_entries.values()):
        raise InputError("no manually labelled frame belongs to an exported clip: nothing to write for "
                         f"--format {manual_formats[0]}", manual_p[0] if manual_p else ann_p)
    _check_out(out_p, overwrite)
    # Everything is written into a hidden staging folder beside DATASET and moved into place at the
    # end: a failed export (bad clip JSON halfway, disk full, Ctrl-C) leaves no half dataset behind.
    out_p.parent.mkdir(parents=True, exist_ok=True)
    # a killed export's staging folder (or replaced dataset) has a dead pid in its name: it goes now
    remove_stale_temps(out_p.parent, recursive=False, prefix=f".{out_p.name}.")
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{out_p.name}.{os.getpid()}.", suffix=".partial", dir=out_p.parent))
    except OSError as exc:  # (a read-only parent: name DATASET, not the hidden staging name)
        raise OSError(exc.errno, exc.strerror or str(exc), str(out_p)) from exc
    stage.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; the dataset gets a normal folder's mode
    try:
        entries, labelled, dropped = _write_clips(keys, outputs, labels, ann, split_of, formats, label_entries,
                                                  stage, progress, max_interpolated if drop_failing else None)
        if not entries:
            raise ValidationError(f"every clip ({len(dropped)}) is over the {100 * max_interpolated:.1f}% "
                                  "interpolated-joints limit: nothing left to export", track_p)
        cmd = command or equivalent_command(track_p, manual_p, ann_p, out_p, formats, split, allow_missing,
                                            max_interpolated, drop_failing)
        doc = _manifest(ann, order, split_of, split, cmd, track_p, manual_p, ann_p, formats, entries, dropped)
        atomic_write_text(stage / MANIFEST_NAME, manifest_text(validate_manifest(doc, out_p / MANIFEST_NAME)))
        _move_into_place(stage, out_p)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, OSError) and isinstance(exc.filename, str) and Path(exc.filename).is_relative_to(stage):
            # name the file the user asked for, not the staging copy that is gone now
            raise OSError(exc.errno, exc.strerror or str(exc),
                          str(out_p / Path(exc.filename).relative_to(stage))) from exc
        raise
    mpath = manifest_path(out_p)

    report = check_dataset(out_p, max_interpolated, min_agreement, annotations=ann_p, progress=progress)
    card = write_card(out_p, report)
    warnings = []
    if missing:
        warnings.append(f"{len(missing)} clip(s) of the {split} split(s) have no track output and are not in the "
                        f"dataset (first {missing[0][0]}/{missing[0][1]})")
    if dropped:
        warnings.append(f"{len(dropped)} clip(s) over the {100 * max_interpolated:.1f}% interpolated-joints limit "
                        f"were left out (--drop-failing; first {dropped[0]['key'][0]}/{dropped[0]['key'][1]}: "
                        f"{dropped[0]['reason']})")
    unused = sorted(set(labels) - set(keys))
    if unused:
        warnings.append(f"manual labels of {len(unused)} clip(s) without a track output were not used")
    for w in warnings:
        log.warning(w)
    t = report.totals
    return ExportSummary(dataset=out_p, manifest=mpath, card=card, formats=formats, clips=len(entries),
                         clips_per_split=dict(t.get("clips_per_split", {})), frames=len(entries) * NUM_SAMPLED_FRAMES,
                         manual_frames=sum(e.manual_frames for e in entries), labelled_frames=labelled,
                         missing_keys=missing, provenance_share=dict(t.get("provenance_share", {})), check=report,
                         seconds=time.perf_counter() - start, command=cmd, warnings=warnings, dropped=dropped)
