"""
What TD3 and SAC share.

The learner settings, the twin-critic learner, soft updates and the actor's smoothing terms
(CAPS on deterministic actions and the action-box penalty).
"""

import copy

from smooth_policy_trainer.smoothing.regularizers import caps_spatial_loss, caps_temporal_loss
import torch
from torch import nn


@torch.no_grad()
def soft_update(target, source, tau):
    """Polyak averaging: target <- tau * source + (1 - tau) * target."""
    for target_parameter, parameter in zip(target.parameters(), source.parameters()):
        target_parameter.lerp_(parameter, tau)


def gradient_step(optimizer, loss, parameters, max_grad_norm=0.0):
    """Zero the gradients, backpropagate ``loss``, clip (when max_grad_norm > 0) and step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm > 0:
        nn.utils.clip_grad_norm_(parameters, max_grad_norm)
    optimizer.step()


class TwinCriticLearner:
    """
    What TD3 and SAC share.

    The actor, the twin critics and their target, both optimisers, the critic step and the
    checkpoint state of all of these; each algorithm adds its own parts.
    """

    def __init__(self, actor, critic, box, learner, pave, caps, bound_penalty, generators):
        self.actor, self.critic, self.box, self.learner = actor, critic, box, learner
        self.pave, self.caps, self.bound_penalty = pave, caps, bound_penalty
        self.generators = generators or {}
        self.critic_target = copy.deepcopy(critic).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(actor.parameters(),
                                                lr=learner.actor_learning_rate)
        self.critic_optimizer = torch.optim.Adam(critic.parameters(),
                                                 lr=learner.critic_learning_rate)
        self.updates = 0

    def critic_step(self, batch, targets):
        """One step of both critics on their TD loss to ``targets`` plus PAVE's; returns logs."""
        q1, q2 = self.critic(batch.observations, batch.phases, batch.actions)
        td_loss = (q1 - targets).pow(2).mean() + (q2 - targets).pow(2).mean()
        critic_loss = td_loss
        logs = {'td_loss': td_loss.item(), 'q1': q1.mean().item()}
        if self.pave is not None:
            term, pave_logs = self.pave(self.critic, batch)
            critic_loss = critic_loss + term
            logs.update(pave_logs)
        gradient_step(self.critic_optimizer, critic_loss, self.critic.parameters(),
                      self.learner.max_grad_norm)
        return logs

    def state_dict(self):
        """Everything needed to continue training exactly (the shared part)."""
        return {'actor': self.actor.state_dict(), 'critic': self.critic.state_dict(),
                'critic_target': self.critic_target.state_dict(),
                'actor_optimizer': self.actor_optimizer.state_dict(),
                'critic_optimizer': self.critic_optimizer.state_dict(),
                'updates': self.updates}

    def load_state_dict(self, state):
        """Restore from state_dict() (the shared part)."""
        self.actor.load_state_dict(state['actor'])
        self.critic.load_state_dict(state['critic'])
        self.critic_target.load_state_dict(state['critic_target'])
        self.actor_optimizer.load_state_dict(state['actor_optimizer'])
        self.critic_optimizer.load_state_dict(state['critic_optimizer'])
        self.updates = int(state['updates'])


def actor_smoothing_terms(actor, actions, batch, box, caps, caps_generator, bound_penalty):
    """
    Return (loss, logs): the CAPS terms (when ``caps`` is enabled) and the box penalty.

    ``actions`` are the actor's deterministic actions on ``batch.observations`` (computed once
    by the caller, which uses them too).

    CAPS (METHODS.md 5) on the deterministic actions, in the environment's action units:
    lambda_T D(pi(s_t), pi(s_t+1)) over pairs in one episode, lambda_S D(pi(s), pi(s + sigma n)),
    sigma in the units of the observation the actor sees. A linear-output actor also pays
    ``bound_penalty`` times the mean squared excess of pi(s) beyond the box.
    """
    loss, logs = actions.new_zeros(()), {}
    if caps is not None and caps.enabled:
        next_actions = actor(batch.next_observations, batch.next_phases)
        noise = torch.randn(batch.observations.shape, generator=caps_generator)
        perturbed = actor(batch.observations + caps.sigma * noise, batch.phases)
        temporal = caps_temporal_loss(actions, next_actions, batch.next_valid)
        spatial = caps_spatial_loss(actions, perturbed)
        loss = loss + caps.lambda_temporal * temporal + caps.lambda_spatial * spatial
        logs.update({'caps_temporal': temporal.item(), 'caps_spatial': spatial.item()})
    if actor.output_kind == 'linear' and bound_penalty > 0:
        excess = (actions - box.clamp(actions)).pow(2).mean()
        loss = loss + bound_penalty * excess
        logs['bound_excess'] = excess.item()
    return loss, logs
