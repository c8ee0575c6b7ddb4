"""
PAVE: critic-side smoothing for off-policy actor-critic (Lee et al. 2026; METHODS.md 7).

By the implicit function theorem the greedy policy's Jacobian is -[d2Q/da2]^-1 d2Q/dsda, so a
critic whose action-gradient field grad_a Q is stable in s, and whose Q is concave in a, makes
a smooth policy. Three terms are added to each critic's TD loss (the actor is unchanged):

- MPR  E ||grad_a Q(s + eps, a) - grad_a Q(s, a)||^2, eps ~ N(0, std^2 I) on the state the
  critic sees (normalised or raw, as the task gives it to the networks);
- VFC  E ||grad_a Q(s_t+1, a_t) - grad_a Q(s_t, a_t)||^2, the replay action at both states, over
  the pairs whose s_t+1 follows s_t in the same episode;
- Curv E max(0, v^T (d2Q/da2) v + delta), v Rademacher: a Hessian-vector product, the
  derivative of grad_a Q . v, never the Hessian itself.

Squared norms are averaged over action dimensions; v^T H v is not (the hinge compares it with
delta as it stands). Both sides of each difference carry gradients. The loss is
l1 MPR + l2 VFC + l3 Curv, for Q1 and for Q2, summed (each critic gets its own full terms, as
each gets its own TD loss).
"""

from smooth_policy_trainer.config.offpolicy_config import PaveConfig
import torch


def rademacher(shape, generator=None):
    """Return a float32 tensor of independent +-1 entries."""
    return torch.randint(0, 2, shape, generator=generator).float() * 2.0 - 1.0


def pave_terms(q, batch, noise, probes, margin):
    """
    Return (mpr, vfc, curvature, quadratic_form) of one critic ``q`` on a batch.

    ``batch`` holds observations, phases, actions, next_observations, next_phases and
    next_valid (replay.Transitions); ``noise`` (B, n) is eps; ``probes`` (K, B, m) are the
    Rademacher vectors v. ``quadratic_form`` is the mean of v^T H v, for the logs. Every term is
    differentiable in q's parameters (create_graph).
    """
    size = len(batch.actions)
    here = batch.actions.detach().requires_grad_(True)
    # One forward for (s + eps, a) and (s', a); (s, a) apart so that the Hessian-vector
    # products below differentiate through a third of the graph only.
    moved = torch.cat((batch.actions, batch.actions)).detach().requires_grad_(True)
    values_here = q(batch.observations, batch.phases, here)
    values_moved = q(torch.cat((batch.observations + noise, batch.next_observations)),
                     torch.cat((batch.phases, batch.next_phases)), moved)
    gradient, gradient_moved = torch.autograd.grad(values_here.sum() + values_moved.sum(),
                                                   (here, moved), create_graph=True)
    gradient_noisy, gradient_next = gradient_moved.split(size)

    mpr = (gradient_noisy - gradient).pow(2).mean()
    valid = batch.next_valid
    vfc = ((gradient_next - gradient).pow(2).mean(-1) * valid).sum() / valid.sum().clamp_min(1.0)

    forms = []
    for v in probes:
        (hessian_v,) = torch.autograd.grad((gradient * v).sum(), here, create_graph=True)
        forms.append((hessian_v * v).sum(-1))
    forms = torch.stack(forms)
    curvature = torch.relu(forms + margin).mean()
    return mpr, vfc, curvature, forms.mean()


class PAVE:
    """The critic regulariser: ``pave(critic, batch) -> (loss, logs)`` for a TwinQ critic."""

    def __init__(self, config=PaveConfig(), generator=None):
        self.config, self.generator = config, generator

    def __call__(self, critic, batch):
        config = self.config
        size, num_actions = batch.actions.shape
        noise = config.state_noise_std * torch.randn(batch.observations.shape,
                                                     generator=self.generator)
        probes = rademacher((config.probes, size, num_actions), self.generator)
        loss = batch.actions.new_zeros(())
        totals = {'pave_mpr': 0.0, 'pave_vfc': 0.0, 'pave_curvature': 0.0,
                  'pave_quadratic_form': 0.0}
        critics = (critic.q1, critic.q2)
        for q in critics:
            mpr, vfc, curvature, form = pave_terms(q, batch, noise, probes,
                                                   config.curvature_margin)
            loss = loss + config.lambda_mpr * mpr + config.lambda_vfc * vfc + \
                config.lambda_curvature * curvature
            for name, value in zip(totals, (mpr, vfc, curvature, form)):
                totals[name] += value.item() / len(critics)
        return loss, totals
