"""The demo's result record: measurements per step, seconds per step, the report path.

Its own module so that the runner (:mod:`fdpose.demo.run`) and the report writer
(:mod:`fdpose.demo.report`) both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fdpose.demo.plan import DemoPlan


@dataclass
class DemoResult:
    """Measurements of every step (``steps[name]``), seconds per step and the report path."""

    out: Path
    plan: DemoPlan
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    report: Optional[Path] = None

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds.values()))

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "plan": self.plan.to_dict(), "steps": self.steps,
                "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "total_seconds": round(self.total_seconds, 2), "report": str(self.report) if self.report else None,
                "headline": headline(self)}


def headline(result: DemoResult) -> dict[str, Any]:
    """The summary table's figures (None for steps that did not run)."""
    s = result.steps
    track, exp, ev = s.get("track", {}), s.get("export", {}), s.get("eval", {})
    return {"tracking_accuracy": track.get("tracking_accuracy"), "test_pckh": track.get("test_pckh"),
            "hrnet_val_pckh": s.get("finetune", {}).get("val_pckh"),
            "pipeline_interpolated_share": track.get("interpolated_share"),
            "dataset_interpolated_share": (exp.get("provenance_share") or {}).get("interpolated"),
            "srcc": ev.get("srcc"), "baseline_srcc": ev.get("baseline_srcc"), "rl2_x100": ev.get("rl2_x100"),
            "aiou_50": ev.get("aiou_50"), "aiou_75": ev.get("aiou_75")}
