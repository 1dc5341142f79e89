"""Stage 1: the manual-label toolkit (LabelMe IO, MPII-16 protocol, validation, review, conversion)."""
