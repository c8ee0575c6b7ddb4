"""Numpy-only runtime for smooth RL policies (LPN and MLP), observation builder, action-smoothness metrics and monitor, bag analysis, and the controller node."""
