"""FineDiving-Pose export: merge the pipeline's poses with manual labels and the FineDiving
annotations into a versioned dataset, check it and describe it in a dataset card.

- :mod:`.schema`: manifest JSON Schema (package data) and the provenance code table.
- :mod:`.merge`: manual labels win over automatic joints, per joint, with provenance.
- :mod:`.dataset`: per-clip arrays and the typed reader :func:`load_dataset`.
- :mod:`.formats`: the HP-MCoRe ``Pose/`` tree and MPII / COCO files of the labelled frames.
- :mod:`.build`: :func:`export_dataset` (the ``fdpose export`` command).
- :mod:`.check`: :func:`check_dataset` (``--check`` / ``fdpose export check``).
- :mod:`.card`: the markdown dataset card.
"""

from fdpose.pipelines.export.build import ExportSummary, export_dataset
from fdpose.pipelines.export.card import write_card
from fdpose.pipelines.export.check import CheckReport, CheckResult, check_dataset, format_report
from fdpose.pipelines.export.dataset import ClipArrays, ClipEntry, FineDivingPose, load_dataset
from fdpose.pipelines.export.schema import Provenance

__all__ = ["ExportSummary", "export_dataset", "write_card", "CheckReport", "CheckResult", "check_dataset",
           "format_report", "ClipArrays", "ClipEntry", "FineDivingPose", "load_dataset", "Provenance"]
