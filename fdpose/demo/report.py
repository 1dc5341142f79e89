"""The demo's summary table (stdout) and its markdown report (``DEMO_DIR/report.md``).

The report links the images the steps wrote (overlay contact sheet of a test clip, HRNet and
AQA training curves, the test score scatter plot) by paths relative to the report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from fdpose.demo.result import DemoResult
from fdpose.io import atomic_write_text

REPORT_NAME = "report.md"

STEP_TITLES: dict[str, str] = {
    "synth": "synth world", "validate": "validate labels", "finetune": "fine-tune HRNet",
    "track": "track-and-estimate", "export": "export dataset", "train_aqa": "train AQA (tiny)", "eval": "eval AQA",
}


def _fmt(v: Any, pct: bool = False, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if pct:
        return f"{100 * float(v):.1f}%"
    return f"{float(v):.{digits}f}" if isinstance(v, float) else str(v)


def zero_verdict(lo: Optional[float], hi: Optional[float]) -> str:
    """Whether a 95% interval of an SRCC excludes zero, in words."""
    if lo is None or hi is None:
        return "no interval"
    if lo > 0:
        return "excludes zero"
    return "excludes zero, below it" if hi < 0 else "includes zero"


def baseline_verdict(lo: Optional[float], hi: Optional[float]) -> str:
    """What the paired interval of the SRCC gain says about model vs exemplar-mean baseline."""
    if lo is None or hi is None:
        return "too few dives to tell"
    if lo > 0:
        return "the model beats the baseline"
    if hi < 0:
        return "the model is worse than the baseline"
    return "not distinguishable from the baseline on these dives"


def metric_rows(result: DemoResult) -> list[tuple[str, str, str]]:
    """(figure, value, what it is measured on) rows of the summary."""
    s = result.steps
    tr, ft, ex, ev = s.get("track", {}), s.get("finetune", {}), s.get("export", {}), s.get("eval", {})
    ci_lo, ci_hi = ev.get("srcc_ci95") or (None, None)
    _, gain_lo, gain_hi = ev.get("srcc_gain_over_baseline") or (None, None, None)
    b_lo, b_hi = ev.get("baseline_srcc_ci95") or (None, None)
    syn = s.get("synth", {})
    share = (ex.get("provenance_share") or {})
    return [
        ("tracking accuracy", _fmt(tr.get("tracking_accuracy"), pct=True),
         f"frames where the tracked box is the diver, {tr.get('frames', 'n/a')} frames of {tr.get('clips', 'n/a')} clips"),
        ("PCKh@0.5 (test clips)", _fmt(tr.get("test_pckh")),
         f"pipeline joints vs ground truth, {tr.get('test_pckh_joints', 'n/a')} joints of "
         f"{syn.get('test_clips', 'n/a')} never-labelled clips"),
        ("PCKh@0.5 (HRNet val)", _fmt(ft.get("val_pckh")), f"fine-tuning validation, {ft.get('val_clips', 'n/a')} clips"),
        ("interpolated joints", _fmt(tr.get("interpolated_share"), pct=True), "share of pipeline joints filled by Eq. 27"),
        ("dataset provenance", ", ".join(f"{k} {_fmt(v, pct=True)}" for k, v in share.items()) or "n/a",
         "joints of the 96-frame export (manual labels of training clips win)"),
        *([("clips left out", str(len(ex.get("dropped") or [])),
            "plan drop_failing (export --drop-failing; clips track-and-estimate skipped), not trained or tested on: "
            + ("; ".join(f"{d['key'][0]}__{d['key'][1]} ({d['split']}, {d['reason']})" for d in ex["dropped"])
               if ex.get("dropped") else "none over the interpolated-joints limit"))]
          if result.plan.drop_failing else []),
        ("SRCC (test)", _fmt(ev.get("srcc")),
         f"{ev.get('queries', 'n/a')} test dives, 95% bootstrap interval {_fmt(ci_lo)} to {_fmt(ci_hi)} "
         f"({zero_verdict(ci_lo, ci_hi)})"),
        ("SRCC exemplar-mean baseline", _fmt(ev.get("baseline_srcc")),
         f"delta = 0 (the mean score of the same-dive exemplars), same dives, 95% bootstrap interval "
         f"{_fmt(b_lo)} to {_fmt(b_hi)}"),
        ("SRCC gain over baseline", _fmt((ev.get("srcc_gain_over_baseline") or [None])[0]),
         "model minus exemplar-mean baseline, same test dives, 95% paired bootstrap interval "
         f"{_fmt(gain_lo)} to {_fmt(gain_hi)}: {baseline_verdict(gain_lo, gain_hi)}"),
        ("R-l2 x100 (test)", _fmt(ev.get("rl2_x100"), digits=4),
         f"baseline {_fmt(ev.get('baseline_rl2_x100'), digits=4)}"),
        ("AIoU@0.5 / @0.75", f"{_fmt(ev.get('aiou_50'), digits=1)}% / {_fmt(ev.get('aiou_75'), digits=1)}%",
         "predicted vs true stage segments"),
    ]


def summary_table(result: DemoResult) -> str:
    """The plain-text table the CLI prints: figures, then seconds per step."""
    rows = metric_rows(result)
    w = max(len(r[0]) for r in rows)
    # Short figures are right-aligned in one column; a long one (the provenance mix) would blow
    # the column up for every row, so it is printed in place of the alignment.
    v = max((len(r[1]) for r in rows if len(r[1]) <= 16), default=8)
    lines = [f"fdpose demo ({result.plan.name}, seed {result.plan.seed}) in {result.out}"]
    lines += [f"  {name:<{w}}  {value:>{v}}  {what}" if len(value) <= v else f"  {name:<{w}}  {value};  {what}"
              for name, value, what in rows]
    lines.append("  time per step: " + ", ".join(f"{STEP_TITLES.get(k, k)} {sec:.0f} s"
                                                 for k, sec in result.seconds.items())
                 + f"; total {result.total_seconds:.0f} s ({result.plan.threads} torch threads)")
    return "\n".join(lines)


def _rel(path: Optional[str], base: Path) -> Optional[str]:
    if not path or not Path(path).is_file():
        return None
    return Path(os.path.relpath(path, base)).as_posix()


def write_report(result: DemoResult) -> Path:
    """``DEMO_DIR/report.md``: plan, summary table, time per step and the figures' images."""
    out = Path(result.out)
    s, p = result.steps, result.plan
    lines = [f"# fdpose demo report ({p.name})", "",
             f"Synthetic world: {s.get('synth', {}).get('clips', '?')} clips (seed {p.seed}, dive numbers "
             f"{', '.join(p.dive_numbers)}{', form faults' if p.form_faults else ''}), "
             f"{s.get('synth', {}).get('frames', '?')} frames; training clips are "
             "the labelled ones (HRNet fine-tuning and manual joints of the export), test clips are never labelled "
             "(their poses come from the pipeline only).", "",
             "| figure | value | measured on |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in metric_rows(result)]
    lines += ["", "| step | seconds | what it measured |", "|---|---:|---|"]
    for name, sec in result.seconds.items():
        detail = ", ".join(f"{k}={v}" for k, v in s.get(name, {}).items()
                           if not isinstance(v, (dict, list)) and not str(v).startswith(str(out)))
        lines.append(f"| {STEP_TITLES.get(name, name)} | {sec:.1f} | {detail} |")
    lines.append(f"| total | {result.total_seconds:.1f} | |")
    images = [("Overlay contact sheet (a test clip; dashed: interpolated joints)", s.get("track", {}).get("contact_sheet")),
              ("HRNet fine-tuning curve", s.get("finetune", {}).get("curve")),
              ("AQA training curve", s.get("train_aqa", {}).get("curve")),
              ("Test scores: predicted vs true", s.get("eval", {}).get("scatter"))]
    for title, path in images:
        rel = _rel(path, out)
        if rel:
            lines += ["", f"## {title}", "", f"![{title}]({rel})"]
    card = _rel(s.get("export", {}).get("card"), out)
    if card:
        lines += ["", f"The exported dataset's card: [{card}]({card})."]
    lines += ["", "Plan: `" + ", ".join(f"{k}={v}" for k, v in p.to_dict().items()) + "`", ""]
    return atomic_write_text(out / REPORT_NAME, "\n".join(lines))
