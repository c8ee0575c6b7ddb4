"""
The action Jacobian penalty (METHODS.md 1 and 2): L_jac = w * mean_batch ||da/ds||_F^2.

Three ways to get ||J(s)||_F^2, all with respect to the normalised observation the network sees:

- ``exact``: the full Jacobian by autodiff (vmap of jacrev), then a double backward through it.
  Cost grows with the action dimension m.
- ``estimator``: E_v ||v^T J||^2 with v ~ N(0, I_m) equals ||J||_F^2, from one vector-Jacobian
  product per sample (ours, beyond the paper). Unbiased but noisy; see ``estimator_variance``.
- ``closed_form``: for the LPN, J = K(phase) exactly and ||U V^T||_F^2 = trace((U^T U)(V^T V)),
  from the forward pass with no second backward pass.
"""

from smooth_policy_trainer.config.choices import JACOBIAN_METHODS
import torch

METHODS = JACOBIAN_METHODS


def jacobian_norm_squared(actor, state, phase, method='exact', generator=None):
    """Return ||d mean / d state||_F^2 per sample, differentiable in the actor's parameters."""
    if method == 'closed_form':
        if not hasattr(actor, 'jacobian_norm_squared'):
            raise ValueError(f'the closed form needs an LPN actor, not {type(actor).__name__}; '
                             "use 'exact' or 'estimator'")
        return actor.jacobian_norm_squared(phase)
    if method == 'exact':
        def mean_of_one(single_state, single_phase):
            return actor.mean(single_state[None], single_phase[None])[0]
        jacobian = torch.func.vmap(torch.func.jacrev(mean_of_one))(state, phase)
        return jacobian.pow(2).sum((-2, -1))
    if method == 'estimator':
        state = state.detach().requires_grad_(True)
        action = actor.mean(state, phase)
        probe = torch.randn(action.shape, generator=generator, dtype=action.dtype)
        (vjp,) = torch.autograd.grad((action * probe).sum(), state, create_graph=True)
        return vjp.pow(2).sum(-1)
    raise ValueError(f"penalty method must be one of {METHODS}, got '{method}'")


def jacobian_penalty(actor, state, phase, weight, method='exact', generator=None):
    """Return the penalty weight * mean_batch ||J(s)||_F^2 and the mean norm (for logs)."""
    norm_squared = jacobian_norm_squared(actor, state, phase, method, generator).mean()
    return weight * norm_squared, norm_squared.detach()


def estimator_variance(actor, state, phase, samples=64, generator=None):
    """
    Relative variance of the one-VJP estimate against the exact value, for reporting.

    Returns (exact mean ||J||_F^2, estimator mean over samples, relative std of one estimate).
    """
    with torch.no_grad():
        exact = jacobian_norm_squared(actor, state, phase, 'exact')
    estimates = torch.stack([
        jacobian_norm_squared(actor, state, phase, 'estimator', generator).detach()
        for _ in range(samples)])
    relative = (estimates - exact) / exact.clamp_min(1e-12)
    return exact.mean().item(), estimates.mean().item(), relative.std().item()


class JacobianPenalty:
    """PPO regulariser: weight * mean ||J(s)||_F^2 on the minibatch's rollout states."""

    log_names = ('jacobian_norm_sq',)   # its logs: penalty/<name>

    def __init__(self, weight, method='exact', generator=None):
        if method not in METHODS:
            raise ValueError(f"penalty method must be one of {METHODS}, got '{method}'")
        self.weight, self.method, self.generator = weight, method, generator

    def __call__(self, actor, batch):
        loss, norm_squared = jacobian_penalty(actor, batch.states, batch.phases, self.weight,
                                              self.method, self.generator)
        return loss, {'jacobian_norm_sq': norm_squared.item()}
