"""The diagonal Gaussian of the stochastic actors: PPO's, SAC's before the squash, GP-LCP's."""

import math

import torch


def gaussian_log_prob(actions, means, stds):
    """Sum over action dimensions of the diagonal Gaussian log density."""
    return (-0.5 * ((actions - means) / stds).pow(2) - torch.log(stds)
            - 0.5 * math.log(2 * math.pi)).sum(-1)
