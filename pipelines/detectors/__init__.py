"""Person detection backends behind one protocol (:class:`~.base.PersonDetector`).

- :mod:`.base`: the protocol, the ``(K, 5)`` box-array contract and :class:`~.base.Detection`.
- :mod:`.file`: precomputed detections (MOT-challenge ``det.txt`` lines or JSON), looked up by clip id.

Model-backed detectors (mmdet, mediapipe) live in their own modules and import their
frameworks lazily, so importing this package stays cheap.
"""

from fdpose.pipelines.detectors.base import BackendInfo, Detection, PersonDetector, as_box_array, empty_boxes

__all__ = ["BackendInfo", "Detection", "PersonDetector", "as_box_array", "empty_boxes"]
