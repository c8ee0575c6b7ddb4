"""
The critic diagnostics PAVE reports (METHODS.md 7), measured on one Q network.

On sampled states s (with their successors s'), at the actor's own actions a = pi(s),
a' = pi(s') (the point where the implicit function theorem ties the policy's Jacobian to the
critic, J_pi = -[d2Q/da2]^-1 d2Q/dsda):

- ``sup_mixed_hessian_spectral``: max over the samples of the spectral norm (largest singular
  value) of the m x n matrix d2Q/dads; ``sup_mixed_hessian_frobenius`` is its Frobenius norm's
  max, reported beside it. The spectral norm is the headline figure: it bounds how far the
  action-gradient moves per unit of state change.
- ``negative_definite_rate``: the fraction of samples where d2Q/da2 (symmetrised) has only
  negative eigenvalues, so that pi(s) is a strict local maximum of Q(s, .).
- ``action_gradient_cosine_flip_rate``: over consecutive steps (s_t, s_t+1) of one
  trajectory, the fraction where the cosine between grad_a Q(s_t, a_t) and
  grad_a Q(s_t+1, a_t+1) is negative: the actor is pushed the opposite way one step later
  (PAVE's sign-flip measure). ``action_gradient_sign_flip_rate`` counts the same per action
  dimension (a product < 0; a zero is no flip); with one action the two are equal.

The runner measures them on the deterministic evaluation trajectories of a Gym task (the states
the policy visits, as the paper does) and on replay samples for the imitation tasks.

Second derivatives come from autograd, one backward pass per action dimension.
"""

import torch


def action_gradients(q, observations, phases, actions):
    """Return grad_a Q(s, a), (B, m), detached."""
    actions = actions.detach().requires_grad_(True)
    with torch.enable_grad():
        values = q(observations.detach(), phases, actions)
        (gradient,) = torch.autograd.grad(values.sum(), actions)
    return gradient


def second_derivatives(q, observations, phases, actions):
    """Return (d2Q/dads (B, m, n), d2Q/da2 (B, m, m)), detached."""
    observations = observations.detach().requires_grad_(True)
    actions = actions.detach().requires_grad_(True)
    mixed, curvature = [], []
    with torch.enable_grad():
        values = q(observations, phases, actions)
        (gradient,) = torch.autograd.grad(values.sum(), actions, create_graph=True)
        for i in range(actions.shape[-1]):
            # Samples are independent, so the sum's derivative is each sample's own row.
            by_state, by_action = torch.autograd.grad(
                gradient[:, i].sum(), (observations, actions), retain_graph=True,
                allow_unused=True)
            mixed.append(torch.zeros_like(observations) if by_state is None else by_state)
            curvature.append(torch.zeros_like(actions) if by_action is None else by_action)
    return torch.stack(mixed, dim=1).detach(), torch.stack(curvature, dim=1).detach()


def sign_flip_rate(gradients, next_gradients, valid=None):
    """Return the fraction of (pair, dimension) where the two gradients have opposite signs."""
    flips = ((gradients * next_gradients) < 0).float().mean(-1)
    if valid is None:
        return float(flips.mean())
    return float((flips * valid).sum() / valid.sum().clamp_min(1.0))


def cosine_flip_rate(gradients, next_gradients, valid=None):
    """Return the fraction of pairs whose gradients point into opposite half-spaces."""
    flips = ((gradients * next_gradients).sum(-1) < 0).float()
    if valid is None:
        return float(flips.mean())
    return float((flips * valid).sum() / valid.sum().clamp_min(1.0))


def critic_diagnostics(q, actor, box, batch):
    """
    Return the diagnostics of critic ``q`` on a batch of Transitions (as the networks see them).

    ``actor`` gives the deterministic actions (clipped into ``box``); pairs whose successor is
    not in the same episode (``next_valid`` 0) are left out of the sign-flip rate.
    """
    with torch.no_grad():
        actions = box.clamp(actor(batch.observations, batch.phases))
        next_actions = box.clamp(actor(batch.next_observations, batch.next_phases))
    mixed, curvature = second_derivatives(q, batch.observations, batch.phases, actions)
    spectral = torch.linalg.matrix_norm(mixed, ord=2)
    frobenius = torch.linalg.matrix_norm(mixed, ord='fro')
    eigenvalues = torch.linalg.eigvalsh(0.5 * (curvature + curvature.transpose(-1, -2)))
    gradients = action_gradients(q, batch.observations, batch.phases, actions)
    next_gradients = action_gradients(q, batch.next_observations, batch.next_phases,
                                      next_actions)
    return {
        'sup_mixed_hessian_spectral': float(spectral.max()),
        'sup_mixed_hessian_frobenius': float(frobenius.max()),
        'mean_mixed_hessian_spectral': float(spectral.mean()),
        'negative_definite_rate': float((eigenvalues.max(-1).values < 0).float().mean()),
        'action_gradient_cosine_flip_rate': cosine_flip_rate(gradients, next_gradients,
                                                             batch.next_valid),
        'action_gradient_sign_flip_rate': sign_flip_rate(gradients, next_gradients,
                                                         batch.next_valid),
        'samples': len(batch.actions),
    }
