"""Evaluation helpers shared by several stages (pose accuracy)."""
