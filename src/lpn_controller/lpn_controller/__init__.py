"""
Numpy-only runtime for smooth RL policies (LPN and MLP) and the controller node.

Also the observation builder, the action-smoothness metrics and the smoothness monitor. Only
node.py imports ROS; every other module is plain Python and numpy (scipy for Welch).
"""
