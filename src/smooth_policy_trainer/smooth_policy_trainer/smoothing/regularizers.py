"""
Actor-side smoothness losses that compete with the LPN and its Jacobian penalty (METHODS.md 3, 5).

Each PPO regulariser is a callable ``reg(actor, batch) -> (loss, logs)`` whose loss is added to
the PPO loss (jacobian.JacobianPenalty is the third). The CAPS distance functions take actions,
not actors, so the off-policy learners can call them on their own deterministic actors.

- CAPS (Mysore et al. 2021): L_T = D(pi(s_t), pi(s_t+1)), L_S = D(pi(s_t), pi(s_bar)) with
  s_bar ~ N(s_t, sigma^2 I) in normalised-observation units, D the squared L2 distance averaged
  over action dimensions; loss = lambda_T L_T + lambda_S L_S. Temporal pairs that straddle an
  episode end are masked out.
- GP-LCP (Chen et al. 2024): w * mean ||grad_s log pi(a|s)||^2 on the rollout states and the
  sampled rollout actions, through a double backward (create_graph=True).
"""

from smooth_policy_trainer.networks.distributions import gaussian_log_prob
import torch


def caps_temporal_loss(actions, next_actions, valid=None):
    """Return mean over pairs of the action-averaged squared distance; ``valid`` masks pairs."""
    distance = (actions - next_actions).pow(2).mean(-1)
    if valid is None:
        return distance.mean()
    # An all-masked minibatch contributes nothing rather than a 0/0.
    return (distance * valid).sum() / valid.sum().clamp_min(1.0)


def caps_spatial_loss(actions, perturbed_actions):
    """Return the mean action-averaged squared distance to the actions of perturbed states."""
    return (actions - perturbed_actions).pow(2).mean(-1).mean()


class CAPS:
    """PPO regulariser: lambda_T L_T + lambda_S L_S on the minibatch's rollout states."""

    log_names = ('caps_temporal', 'caps_spatial')   # its logs: penalty/<name>

    def __init__(self, lambda_temporal=0.1, lambda_spatial=0.5, sigma=0.2, generator=None):
        self.lambda_temporal, self.lambda_spatial = lambda_temporal, lambda_spatial
        self.sigma, self.generator = sigma, generator

    def __call__(self, actor, batch):
        means = actor.mean(batch.states, batch.phases)
        next_means = actor.mean(batch.next_states, batch.next_phases)
        noise = torch.randn(batch.states.shape, generator=self.generator,
                            dtype=batch.states.dtype)
        # The neighbour keeps the phase: CAPS asks for similar actions at similar states.
        perturbed_means = actor.mean(batch.states + self.sigma * noise, batch.phases)
        temporal = caps_temporal_loss(means, next_means, batch.next_valid)
        spatial = caps_spatial_loss(means, perturbed_means)
        loss = self.lambda_temporal * temporal + self.lambda_spatial * spatial
        return loss, {'caps_temporal': temporal.item(), 'caps_spatial': spatial.item()}


def log_prob_state_gradient(actor, states, phases, actions, stds):
    """Return grad_s log pi(a|s) per sample, (B, n), differentiable in the actor's parameters."""
    states = states.detach().requires_grad_(True)
    means = actor.mean(states, phases)
    log_probs = gaussian_log_prob(actions, means, stds)
    (gradient,) = torch.autograd.grad(log_probs.sum(), states, create_graph=True)
    return gradient


class GradientPenalty:
    """PPO regulariser (GP-LCP): weight * mean ||grad_s log pi(a|s)||^2."""

    log_names = ('log_prob_gradient_norm_sq',)   # its logs: penalty/<name>

    def __init__(self, weight=0.002, min_std=0.0):
        self.weight, self.min_std = weight, min_std

    def __call__(self, actor, batch):
        # The policy's current std (as PPO's own ratio uses), not the rollout's.
        stds = actor.log_std.exp().clamp_min(self.min_std).expand_as(batch.actions)
        gradient = log_prob_state_gradient(actor, batch.states, batch.phases, batch.actions,
                                           stds)
        norm_squared = gradient.pow(2).sum(-1).mean()
        return self.weight * norm_squared, {'log_prob_gradient_norm_sq': norm_squared.item()}
