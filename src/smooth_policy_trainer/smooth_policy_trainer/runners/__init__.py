"""Training loops: the PPO and off-policy runners and what they share (run dirs, checkpoints)."""
