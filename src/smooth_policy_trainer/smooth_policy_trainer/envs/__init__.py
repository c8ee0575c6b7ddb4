"""Environments: the imitation environment and its reward, the Gym and off-policy task adapters."""
