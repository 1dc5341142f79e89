"""fdpose: build FineDiving-Pose (MPII-16 diver poses) and train pose-guided AQA models on it."""

__version__ = "0.1.0"
