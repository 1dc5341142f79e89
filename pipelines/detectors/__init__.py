"""Person detection backends behind one protocol (:class:`~.base.PersonDetector`).

- :mod:`.base`: the protocol (one :class:`fdpose.records.Boxes` per frame) and :class:`~.base.BackendInfo`.
- :mod:`.file`: precomputed detections (MOT-challenge ``det.txt`` lines or JSON), looked up by clip id.

Model-backed detectors (mmdet, mediapipe) live in their own modules and import their
frameworks lazily, so importing this package stays cheap.
"""

from fdpose.pipelines.detectors.base import BackendInfo, PersonDetector
from fdpose.records import Boxes

__all__ = ["BackendInfo", "Boxes", "PersonDetector"]
