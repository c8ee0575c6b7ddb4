"""
SAC (Haarnoja et al. 2018) with PAVE on the critics and CAPS on the actor, both optional.

One update reads top to bottom: next actions sampled from the current actor, the soft clipped
double-Q target r + gamma (1 - terminated) (min Q'_i - alpha log pi), the TD loss of both
critics plus PAVE's terms, one critic step; the actor step on alpha log pi - min Q_i plus CAPS
(on the deterministic actions) and the box penalty; the temperature step towards the target
entropy -scale * m (when autotuned); Polyak averaging of the target critics. As in CleanRL,
there is no target actor.
"""

import copy
from dataclasses import dataclass
import math

from smooth_policy_trainer.actor_critic import (actor_smoothing_terms, gradient_step,
                                                LearnerConfig, soft_update)
import torch


@dataclass
class SACConfig:
    """SAC's own settings (the shared ones are in LearnerConfig)."""

    alpha: float = 0.2                  # entropy temperature (its start value when autotuned)
    autotune: bool = True
    alpha_learning_rate: float = 1e-3
    target_entropy_scale: float = 1.0   # target entropy = -scale * number of actions
    log_std_min: float = -5.0
    log_std_max: float = 2.0


class SAC:
    """Owns the Gaussian actor, the twin critics, their targets, the temperature; updates."""

    def __init__(self, actor, critic, box, learner=LearnerConfig(), config=SACConfig(),
                 pave=None, caps=None, bound_penalty=0.0, generators=None):
        self.actor, self.critic, self.box = actor, critic, box
        self.learner, self.config = learner, config
        self.pave, self.caps, self.bound_penalty = pave, caps, bound_penalty
        self.generators = generators or {}
        self.critic_target = copy.deepcopy(critic).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(actor.parameters(),
                                                lr=learner.actor_learning_rate)
        self.critic_optimizer = torch.optim.Adam(critic.parameters(),
                                                 lr=learner.critic_learning_rate)
        self.log_alpha = torch.tensor(math.log(config.alpha), requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=config.alpha_learning_rate)
        self.target_entropy = -config.target_entropy_scale * len(box.low)
        self.updates = 0

    @property
    def alpha(self):
        """Return the current entropy temperature."""
        return self.log_alpha.exp().item() if self.config.autotune else self.config.alpha

    @torch.no_grad()
    def act(self, observations, phases):
        """Return the deterministic actions (the squashed mean), inside the box."""
        return self.box.clamp(self.actor(observations, phases))

    @torch.no_grad()
    def explore(self, observations, phases, generator=None):
        """Return actions sampled from the policy, inside the box."""
        actions, _ = self.actor.sample(observations, phases, generator)
        return self.box.clamp(actions)

    def update(self, batch):
        """Run one update on a batch of Transitions (as the networks see them); return logs."""
        learner, alpha = self.learner, self.alpha
        sampler = self.generators.get('target')
        with torch.no_grad():
            next_actions, next_log_probs = self.actor.sample(batch.next_observations,
                                                             batch.next_phases, sampler)
            next_q = torch.min(*self.critic_target(batch.next_observations, batch.next_phases,
                                                   self.box.clamp(next_actions)))
            targets = batch.rewards + learner.gamma * (1.0 - batch.terminated) * \
                (next_q - alpha * next_log_probs)

        q1, q2 = self.critic(batch.observations, batch.phases, batch.actions)
        td_loss = (q1 - targets).pow(2).mean() + (q2 - targets).pow(2).mean()
        critic_loss = td_loss
        logs = {'td_loss': td_loss.item(), 'q1': q1.mean().item(), 'alpha': alpha}
        if self.pave is not None:
            term, pave_logs = self.pave(self.critic, batch)
            critic_loss = critic_loss + term
            logs.update(pave_logs)
        gradient_step(self.critic_optimizer, critic_loss, self.critic.parameters(),
                      learner.max_grad_norm)

        actions, log_probs = self.actor.sample(batch.observations, batch.phases, sampler)
        # The actor's gradient flows through the critics; their own gradients are not needed.
        self.critic.requires_grad_(False)
        try:
            q = torch.min(*self.critic(batch.observations, batch.phases, self.box.clamp(actions)))
        finally:
            self.critic.requires_grad_(True)
        smoothing, smoothing_logs = actor_smoothing_terms(
            self.actor, self.actor(batch.observations, batch.phases), batch, self.box,
            self.caps, self.generators.get('caps'), self.bound_penalty)
        actor_loss = (alpha * log_probs - q).mean() + smoothing
        gradient_step(self.actor_optimizer, actor_loss, self.actor.parameters(),
                      learner.max_grad_norm)
        logs.update({'actor_loss': actor_loss.item(), 'entropy': -log_probs.mean().item(),
                     **smoothing_logs})

        if self.config.autotune:
            alpha_loss = -(self.log_alpha.exp()
                           * (log_probs.detach() + self.target_entropy)).mean()
            gradient_step(self.alpha_optimizer, alpha_loss, [self.log_alpha])
        soft_update(self.critic_target, self.critic, learner.tau)
        self.updates += 1
        return logs

    def state_dict(self):
        """Everything needed to continue training exactly."""
        return {'actor': self.actor.state_dict(), 'critic': self.critic.state_dict(),
                'critic_target': self.critic_target.state_dict(),
                'actor_optimizer': self.actor_optimizer.state_dict(),
                'critic_optimizer': self.critic_optimizer.state_dict(),
                'log_alpha': self.log_alpha.detach().clone(),
                'alpha_optimizer': self.alpha_optimizer.state_dict(),
                'updates': self.updates}

    def load_state_dict(self, state):
        """Restore from state_dict()."""
        self.actor.load_state_dict(state['actor'])
        self.critic.load_state_dict(state['critic'])
        self.critic_target.load_state_dict(state['critic_target'])
        self.actor_optimizer.load_state_dict(state['actor_optimizer'])
        self.critic_optimizer.load_state_dict(state['critic_optimizer'])
        with torch.no_grad():
            self.log_alpha.copy_(state['log_alpha'])
        self.alpha_optimizer.load_state_dict(state['alpha_optimizer'])
        self.updates = int(state['updates'])
