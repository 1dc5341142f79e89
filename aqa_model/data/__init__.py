"""FineDiving data for the AQA model: clips (frames, poses, transitions, scores) and exemplars."""

from fdpose.aqa_model.data.exemplars import ExemplarPicker, split_train_val
from fdpose.aqa_model.data.finediving import FineDivingAQADataset, label_transitions, select_transitions
from fdpose.aqa_model.data.mtlaqa import DATASETS, MTLAQADataset, clip_dataset, load_aqa_annotations, load_mtlaqa

__all__ = ["DATASETS", "ExemplarPicker", "FineDivingAQADataset", "MTLAQADataset", "clip_dataset",
           "label_transitions", "load_aqa_annotations", "load_mtlaqa", "select_transitions", "split_train_val"]
