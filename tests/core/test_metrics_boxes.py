import numpy as np
import pytest

from fdpose.metrics.boxes import iou


def test_iou_values_and_degenerate_boxes():
    box = np.array([0.0, 0.0, 10.0, 10.0])
    others = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 3]], float)
    assert iou(box, others) == pytest.approx([1.0, 50 / 150, 0.0, 0.0])
    # extra columns (scores) are ignored
    assert iou(np.append(box, 0.9), np.c_[others, np.ones(4)]) == pytest.approx([1.0, 50 / 150, 0.0, 0.0])
