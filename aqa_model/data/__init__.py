"""FineDiving data for the AQA model: clips (frames, poses, transitions, scores) and exemplars."""

from fdpose.aqa_model.data.exemplars import ExemplarPicker, split_train_val
from fdpose.aqa_model.data.finediving import FineDivingAQADataset, select_transitions

__all__ = ["ExemplarPicker", "FineDivingAQADataset", "select_transitions", "split_train_val"]
