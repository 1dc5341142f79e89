"""The mmdet detector with a randomly initialised RTMDet-tiny (config shipped inside mmdet, no downloads)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
mmdet = pytest.importorskip("mmdet")
pytest.importorskip("mmcv.ops")  # the compiled ops every mmdet model imports

from fdpose.errors import ConfigError, InputError  # noqa: E402
from fdpose.pipelines.detectors.base import PersonDetector  # noqa: E402
from fdpose.pipelines.detectors.mmdet import MMDetDetector, load_model_checkpoint  # noqa: E402
from fdpose.records import Boxes  # noqa: E402

CONFIG = Path(mmdet.__file__).parent / ".mim" / "configs" / "rtmdet" / "rtmdet_tiny_8xb32-300e_coco.py"
# Small input and few candidates keep the CPU test at a few seconds.
FAST = {"model.test_cfg.nms_pre": 200, "model.test_cfg.score_thr": 0.05, "model.test_cfg.max_per_img": 40,
        "test_dataloader.dataset.pipeline.1.scale": (320, 320),
        "test_dataloader.dataset.pipeline.2.size": (320, 320)}
PERSON, CAR = 0, 2


def _build_random_model() -> torch.nn.Module:
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmdet.registry import MODELS

    import mmdet.models  # noqa: F401

    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope("mmdet"):
        model = MODELS.build(Config.fromfile(str(CONFIG)).model)
    with torch.no_grad():  # make "person" and "car" the only classes that score above the threshold
        for conv in model.bbox_head.rtm_cls:
            conv.bias.fill_(-8.0)
            conv.bias[PERSON] = 0.0
            conv.bias[CAR] = 0.0
            conv.weight.mul_(20.0)
    return model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mmdet") / "rtmdet_tiny_random.pth"
    # numpy objects in meta, as mmengine's Runner writes them: torch>=2.6 refuses these by default.
    torch.save({"state_dict": _build_random_model().state_dict(),
                "meta": {"epoch": np.int64(3), "loss_history": np.arange(3.0),
                         "dataset_meta": {"classes": ("person", "bicycle", "car")}}}, path)
    return path


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (256, 455, 3), dtype=np.uint8) for _ in range(2)]


@pytest.fixture(scope="module")
def detector(checkpoint: Path) -> MMDetDetector:
    torch.set_num_threads(2)
    return MMDetDetector(CONFIG, checkpoint, device="cpu", score_threshold=0.0, batch_size=2, cfg_options=FAST)


def test_checkpoint_needs_the_allow_list(checkpoint: Path) -> None:
    with pytest.raises(pickle.UnpicklingError):
        torch.load(checkpoint)  # the default weights_only load refuses numpy objects...
    model = _build_random_model()
    ckpt = load_model_checkpoint(model, checkpoint)  # ...our per-call allow-list accepts them
    assert int(ckpt["meta"]["epoch"]) == 3
    assert not any("numpy" in getattr(g, "__module__", "") for g in torch.serialization.get_safe_globals())
    with pytest.raises(pickle.UnpicklingError):
        torch.load(checkpoint)  # nothing was left switched on globally


def test_detector_outputs_person_boxes(detector: MMDetDetector, frames: list[np.ndarray]) -> None:
    assert isinstance(detector, PersonDetector)
    assert detector.person_label == PERSON and detector.classes == ["person", "bicycle", "car"]
    assert detector.info.name == "mmdet" and detector.info.version == mmdet.__version__
    raw = detector.raw_detections(frames, [10, 11])
    out = detector.detect(frames, [10, 11])
    assert len(out) == 2 and "torchvision" not in sys.modules
    for boxes, (_xyxy, scores, labels), frame in zip(out, raw, frames):
        assert isinstance(boxes, Boxes) and boxes.xyxy.dtype == np.float64
        assert set(labels.tolist()) == {PERSON, CAR}  # the random model emits both classes
        person = labels == PERSON
        assert len(boxes) == int(person.sum()) > 0  # every person box, no car box
        np.testing.assert_allclose(np.sort(boxes.score)[::-1], boxes.score)  # best first
        np.testing.assert_allclose(np.sort(boxes.score), np.sort(scores[person]))
        h, w = frame.shape[:2]
        assert (boxes.xyxy[:, 2] <= w - 1).all() and (boxes.xyxy[:, 3] <= h - 1).all()


def test_threshold_and_person_label(detector: MMDetDetector, frames: list[np.ndarray]) -> None:
    xyxy, scores, labels = detector.raw_detections(frames[:1])[0]
    cut = float(np.median(scores[labels == PERSON]))
    try:  # the same loaded model with other settings (building another costs seconds on CPU)
        detector.score_threshold = cut
        boxes = detector.detect(frames[:1], [0])[0]
        assert len(boxes) == int(((labels == PERSON) & (scores >= cut)).sum()) and (boxes.score >= cut).all()
        detector.score_threshold, detector.person_label = 0.0, CAR
        assert len(detector.detect(frames[:1], [0])[0]) == int((labels == CAR).sum())
    finally:
        detector.score_threshold, detector.person_label = 0.0, PERSON


def test_errors(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="checkpoint not found"):
        MMDetDetector(CONFIG, tmp_path / "missing.pth")
    with pytest.raises(InputError, match="mmdet config not found"):
        MMDetDetector(tmp_path / "nope.py", checkpoint)
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": {"backbone.stem.0.conv.weight": torch.zeros(1)}}, bad)
    with pytest.raises(InputError, match="does not fit the model"):
        MMDetDetector(CONFIG, bad, cfg_options=FAST)
    no_person = tmp_path / "no_person.pth"
    ck = torch.load(checkpoint, weights_only=False)
    ck["meta"] = {"dataset_meta": {"classes": ("cat", "dog")}}
    torch.save(ck, no_person)
    with pytest.raises(ConfigError, match="no 'person' class"):
        MMDetDetector(CONFIG, no_person, cfg_options=FAST)
    with pytest.raises(ConfigError, match="score_threshold"):
        MMDetDetector(CONFIG, checkpoint, score_threshold=2.0)


def test_runner_factory_needs_config_and_checkpoint(checkpoint: Path) -> None:
    from types import SimpleNamespace

    from fdpose.pipelines.detectors.mmdet import make_detector

    with pytest.raises(ConfigError, match="--det-config and --det-checkpoint"):
        make_detector(SimpleNamespace(det_config=None, det_checkpoint=checkpoint, device="cpu", batch_size=4))
    det = make_detector(SimpleNamespace(det_config=CONFIG, det_checkpoint=checkpoint, device="auto", batch_size=4))
    assert det.batch_size == 4 and str(det.device) == "cpu" and det.score_threshold == 0.3
