"""TFLite models run with ai-edge-litert: the SSD person detector and BlazePose's landmark model.

One place for what both need: importing the runtime with an install hint, loading a file into an
interpreter with the runtime's native notices (printed on fd 2) sent to DEBUG, a one-line error
naming a file that is not a TFLite model, and the first inference's one-time notices quieted too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fdpose.errors import DependencyError, InputError
from fdpose.logs import native_stderr_to_debug

__all__ = ["TFLiteNet", "sigmoid"]


def sigmoid(x: Any) -> np.ndarray:
    """The logistic function of logits, as float64."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


class TFLiteNet:
    """An allocated ``ai_edge_litert`` interpreter of one model file (not thread-safe: one per worker).

    ``needed_by`` names the feature in the missing-runtime error (``"the ssd detector"``); ``logger``
    receives the runtime's native notices at DEBUG.
    """

    def __init__(self, path: str | Path, num_threads: int, needed_by: str, logger: str) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:  # pragma: no cover - install.sh installs it
            raise DependencyError(f"{needed_by} needs ai-edge-litert (make install): {err}") from err
        self.logger = logger
        try:
            with native_stderr_to_debug(logger):
                self.net = Interpreter(model_path=str(path), num_threads=num_threads)
                self.net.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise InputError(f"not a TFLite model: {err}", path) from err
        self.runs = 0  # inferences so far (the first one runs with native stderr captured)

    def invoke(self) -> None:
        """Run the model on the input tensors set; the first run's one-time native notices go to DEBUG."""
        if self.runs == 0:
            with native_stderr_to_debug(self.logger):
                self.net.invoke()
        else:
            self.net.invoke()
        self.runs += 1
