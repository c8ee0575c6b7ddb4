"""The diagonal Gaussian's log-probability agrees with torch.distributions."""

from smooth_policy_trainer.networks.distributions import gaussian_log_prob
import torch


def test_log_prob_matches_torch_normal():
    generator = torch.Generator().manual_seed(0)
    means = torch.randn(5, 3, generator=generator)
    stds = torch.rand(5, 3, generator=generator) + 0.1
    actions = torch.randn(5, 3, generator=generator)
    expected = torch.distributions.Normal(means, stds).log_prob(actions).sum(-1)
    torch.testing.assert_close(gaussian_log_prob(actions, means, stds), expected)
