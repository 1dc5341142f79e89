"""Moved to :mod:`fdpose.sampling` (the sampling contract is shared by the pipeline and the AQA
side). This name stays until the last imports of it are moved; new code imports ``fdpose.sampling``."""

from fdpose.sampling import (  # noqa: F401 - re-exported
    CLIP_ID_SEP, NUM_SAMPLED_FRAMES, PRED_KEY, aligned_indices, fill_nonfinite, linspace_rule, pred_comp_path,
    gather_sampled, read_pred_comp, resample_rows, split_clip_id, write_pred_comp,
)
