"""Learners: PPO and its rollout storage, TD3, SAC and the replay buffer."""
