"""The ``fdpose`` command line: a click group with one module per command group.

Heavy imports (torch, mmpose, cv2) happen inside commands, so ``fdpose --help`` stays fast.
"""
