"""
TD3 (Fujimoto et al. 2018) with PAVE on the critics and CAPS on the actor, both optional.

One update reads top to bottom: target actions with clipped noise from the target actor
(target policy smoothing), the clipped double-Q target r + gamma (1 - terminated) min Q'_i, the
TD loss of both critics plus PAVE's terms, one critic step; then, every ``policy_delay``
updates, the actor step on -Q1(s, pi(s)) plus CAPS and the box penalty, and Polyak averaging of
both target networks. Noise scales are fractions of the action box's half-width, as CleanRL's.
"""

import copy

from smooth_policy_trainer.algorithms.twin_critic import (actor_smoothing_terms, gradient_step,
                                                          soft_update, TwinCriticLearner)
from smooth_policy_trainer.config.offpolicy_config import LearnerConfig, TD3Config
import torch


class TD3(TwinCriticLearner):
    """Owns the actor, the twin critics, their targets and optimisers; acts and updates."""

    def __init__(self, actor, critic, box, learner=LearnerConfig(), config=TD3Config(),
                 pave=None, caps=None, bound_penalty=0.0, generators=None):
        super().__init__(actor, critic, box, learner, pave, caps, bound_penalty, generators)
        self.config = config
        self.actor_target = copy.deepcopy(actor).requires_grad_(False)

    @torch.no_grad()
    def act(self, observations, phases):
        """Return the deterministic actions, inside the box."""
        return self.box.clamp(self.actor(observations, phases))

    @torch.no_grad()
    def explore(self, observations, phases, generator=None):
        """Return the actions to collect with: pi(s) plus Gaussian noise, inside the box."""
        actions = self.actor(observations, phases)
        noise = torch.randn(actions.shape, generator=generator) * \
            (self.config.exploration_noise * self.box.scale)
        return self.box.clamp(actions + noise)

    def update(self, batch):
        """Run one update on a batch of Transitions (as the networks see them); return logs."""
        config, learner = self.config, self.learner
        with torch.no_grad():
            noise = (torch.randn(batch.actions.shape, generator=self.generators.get('target'))
                     * config.policy_noise).clamp(-config.noise_clip, config.noise_clip)
            next_actions = self.box.clamp(
                self.actor_target(batch.next_observations, batch.next_phases)
                + noise * self.box.scale)
            next_q = torch.min(*self.critic_target(batch.next_observations, batch.next_phases,
                                                   next_actions))
            targets = batch.rewards + learner.gamma * (1.0 - batch.terminated) * next_q

        logs = self.critic_step(batch, targets)   # TD loss of both critics plus PAVE's
        self.updates += 1

        if self.updates % config.policy_delay == 0:
            actions = self.actor(batch.observations, batch.phases)
            # The actor's gradient flows through Q1; the critic's own gradients are not needed.
            self.critic.requires_grad_(False)
            try:
                q = self.critic.q1(batch.observations, batch.phases, self._in_box(actions))
            finally:
                self.critic.requires_grad_(True)
            smoothing, smoothing_logs = actor_smoothing_terms(
                self.actor, actions, batch, self.box, self.caps, self.generators.get('caps'),
                self.bound_penalty)
            actor_loss = -q.mean() + smoothing
            gradient_step(self.actor_optimizer, actor_loss, self.actor.parameters(),
                          learner.max_grad_norm)
            soft_update(self.actor_target, self.actor, learner.tau)
            soft_update(self.critic_target, self.critic, learner.tau)
            logs.update({'actor_loss': actor_loss.item(), **smoothing_logs})
        return logs

    def _in_box(self, actions):
        # A linear-output actor may step outside the box; the critic only knows the inside.
        return self.box.clamp(actions) if self.actor.output_kind == 'linear' else actions

    def state_dict(self):
        """Everything needed to continue training exactly."""
        return {**super().state_dict(), 'actor_target': self.actor_target.state_dict()}

    def load_state_dict(self, state):
        """Restore from state_dict()."""
        super().load_state_dict(state)
        self.actor_target.load_state_dict(state['actor_target'])
