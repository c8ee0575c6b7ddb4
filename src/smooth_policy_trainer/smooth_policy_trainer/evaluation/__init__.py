"""Evaluation of exported policies: episodes, smoothness aggregation, world figures, transfer."""
