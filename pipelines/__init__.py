"""Stage 3: the automatic pose pipeline (method.md 2.2-2.3), one small module per stage.

frames -> detectors -> tracking -> pose (crop) -> interpolate -> sampling, written as a per-clip
JSON (:mod:`fdpose.pipelines.clip_json`) and an HP-MCoRe ``pred_comp_{idx}.npz``.

- :mod:`.frames`: clip sources (video files decoded streaming, FineDiving frame trees).
- :mod:`.detectors`: the :class:`~.detectors.base.PersonDetector` protocol and its backends
  (``file``: precomputed MOT / JSON detections).
- :mod:`.tracking`: nearest-neighbour diver tracking (Eq. 25) with gates and re-acquisition.
- :mod:`.interpolate`: linear joint interpolation (Eq. 27) with a gap limit.
- :mod:`.sampling`: the 96 aligned frame indices and the ``pred_comp`` npz files.
- :mod:`.clip_json`: the per-clip output schema (writer, reader, validator).
"""
