"""The shared TFLite loader (fdpose.pipelines.tflite): errors naming the file, the logistic, runs counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fdpose.errors import InputError
from fdpose.pipelines.tflite import TFLiteNet, sigmoid

pytest.importorskip("ai_edge_litert")


def test_a_file_that_is_not_a_model_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(InputError) as err:
        TFLiteNet(bad, 1, "the test", __name__)
    text = str(err.value)
    assert "not a TFLite model" in text and str(bad) in text and "\n" not in text


def test_sigmoid_values() -> None:
    np.testing.assert_allclose(sigmoid([0.0, np.log(3.0), -np.log(3.0)]), [0.5, 0.75, 0.25])
    assert sigmoid(np.array([40.0], dtype=np.float32)).dtype == np.float64


def test_runs_are_counted_on_the_landmark_model() -> None:
    from fdpose.errors import DependencyError
    from fdpose.pipelines.pose.landmark_roi import INPUT_SIZE, landmark_model_path

    try:
        path = landmark_model_path(1)
    except DependencyError:
        pytest.skip("mediapipe wheel without the landmark model")
    net = TFLiteNet(path, 1, "the test", __name__)
    x = np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)
    net.net.set_tensor(net.net.get_input_details()[0]["index"], x)
    net.invoke()
    net.invoke()
    assert net.runs == 2
