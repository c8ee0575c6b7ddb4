"""Motion clips: the clip format, joint names, kinematics and the clip generator with its data."""
