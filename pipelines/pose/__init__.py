"""Pose backends run on the tracked diver crop (MPII-16 output in image pixels)."""
