"""
SAC (Haarnoja et al. 2018) with PAVE on the critics and CAPS on the actor, both optional.

One update reads top to bottom: next actions sampled from the current actor, the soft clipped
double-Q target r + gamma (1 - terminated) (min Q'_i - alpha log pi), the TD loss of both
critics plus PAVE's terms, one critic step; the actor step on alpha log pi - min Q_i plus CAPS
(on the deterministic actions) and the box penalty; the temperature step towards the target
entropy -scale * m (when autotuned); Polyak averaging of the target critics. As in CleanRL,
there is no target actor.
"""

import math

from smooth_policy_trainer.algorithms.twin_critic import (actor_smoothing_terms, gradient_step,
                                                          soft_update, TwinCriticLearner)
from smooth_policy_trainer.config.offpolicy_config import LearnerConfig, SACConfig
import torch


class SAC(TwinCriticLearner):
    """Owns the Gaussian actor, the twin critics, their targets, the temperature; updates."""

    def __init__(self, actor, critic, box, learner=LearnerConfig(), config=SACConfig(),
                 pave=None, caps=None, bound_penalty=0.0, generators=None):
        super().__init__(actor, critic, box, learner, pave, caps, bound_penalty, generators)
        self.config = config
        self.log_alpha = torch.tensor(math.log(config.alpha), requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=config.alpha_learning_rate)
        self.target_entropy = -config.target_entropy_scale * len(box.low)

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

        logs = {**self.critic_step(batch, targets), 'alpha': alpha}   # TD loss + PAVE's

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
        return {**super().state_dict(), 'log_alpha': self.log_alpha.detach().clone(),
                'alpha_optimizer': self.alpha_optimizer.state_dict()}

    def load_state_dict(self, state):
        """Restore from state_dict()."""
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_alpha.copy_(state['log_alpha'])
        self.alpha_optimizer.load_state_dict(state['alpha_optimizer'])
