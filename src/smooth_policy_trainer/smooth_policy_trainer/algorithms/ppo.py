"""
Proximal Policy Optimisation with a pluggable list of smoothness regularisers.

One update reads top to bottom: clipped surrogate, (clipped) value loss, entropy bonus, then each
regulariser's loss (the action Jacobian penalty, CAPS, ...), one gradient step with clipping, and
a KL-adaptive learning rate (as in rsl_rl). Every default is written in PPOConfig.
"""

import math

from smooth_policy_trainer.config.train_config import PPOConfig
from smooth_policy_trainer.networks.distributions import gaussian_log_prob
import torch
from torch import nn


class PPO:
    """Owns the actor, the critic and their optimiser; acts and updates."""

    def __init__(self, actor, critic, config=PPOConfig(), regularizers=()):
        self.actor, self.critic, self.config = actor, critic, config
        self.regularizers = list(regularizers)
        self.learning_rate = config.learning_rate
        self.optimizer = torch.optim.Adam(
            [*actor.parameters(), *critic.parameters()], lr=self.learning_rate)

    def std(self):
        """Return the exploration std per action dimension."""
        return self.actor.log_std.exp().clamp_min(self.config.min_std)

    @torch.no_grad()
    def act(self, states, phases, generator=None, critic_states=None):
        """
        Sample actions; returns (actions, log_probs, values, means, stds).

        The critic values ``critic_states`` (the states with the critic-only inputs after them;
        default ``states``).
        """
        means = self.actor.mean(states, phases)
        stds = self.std().expand_as(means)
        actions = means + stds * torch.randn(means.shape, generator=generator)
        values = self.critic(states if critic_states is None else critic_states, phases)
        return actions, gaussian_log_prob(actions, means, stds), values, means, stds

    @torch.no_grad()
    def value(self, critic_states, phases):
        """Return the critic value of states (for bootstrapping)."""
        return self.critic(critic_states, phases)

    def update(self, storage, generator=None):
        """Run the minibatch epochs over one rollout; returns mean losses for logging."""
        config = self.config
        totals, count = {}, 0
        for batch in storage.minibatches(config.num_minibatches, config.num_learning_epochs,
                                         generator):
            means = self.actor.mean(batch.states, batch.phases)
            stds = self.std().expand_as(means)
            log_probs = gaussian_log_prob(batch.actions, means, stds)
            entropy = (0.5 + 0.5 * math.log(2 * math.pi) + torch.log(stds)).sum(-1).mean()

            if config.schedule == 'adaptive':
                self._adapt_learning_rate(batch, means, stds)

            ratio = torch.exp(log_probs - batch.log_probs)
            surrogate = -torch.min(
                batch.advantages * ratio,
                batch.advantages * ratio.clamp(1 - config.clip_param, 1 + config.clip_param),
            ).mean()

            values = self.critic(batch.critic_states, batch.phases)
            if config.use_clipped_value_loss:
                clipped = batch.values + (values - batch.values).clamp(
                    -config.clip_param, config.clip_param)
                value_loss = torch.max((values - batch.returns).pow(2),
                                       (clipped - batch.returns).pow(2)).mean()
            else:
                value_loss = (values - batch.returns).pow(2).mean()

            loss = surrogate + config.value_loss_coef * value_loss - \
                config.entropy_coef * entropy
            logs = {'surrogate': surrogate.item(), 'value_loss': value_loss.item(),
                    'entropy': entropy.item()}
            for regularizer in self.regularizers:
                term, term_logs = regularizer(self.actor, batch)
                loss = loss + term
                logs.update(term_logs)

            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_([*self.actor.parameters(), *self.critic.parameters()],
                                     config.max_grad_norm)
            self.optimizer.step()
            for key, value in logs.items():
                totals[key] = totals.get(key, 0.0) + value
            count += 1
        result = {key: value / count for key, value in totals.items()}
        result['learning_rate'] = self.learning_rate
        result['action_std'] = self.std().mean().item()
        return result

    @torch.no_grad()
    def _adapt_learning_rate(self, batch, means, stds):
        kl = (torch.log(stds / batch.stds)
              + (batch.stds.pow(2) + (batch.means - means).pow(2)) / (2 * stds.pow(2))
              - 0.5).sum(-1).mean().item()
        if kl > 2.0 * self.config.desired_kl:
            self.set_learning_rate(max(1e-5, self.learning_rate / 1.5))
        elif 0.0 < kl < self.config.desired_kl / 2.0:
            self.set_learning_rate(min(1e-2, self.learning_rate * 1.5))

    def set_learning_rate(self, learning_rate):
        """Set the optimiser's learning rate (every parameter group)."""
        self.learning_rate = learning_rate
        for group in self.optimizer.param_groups:
            group['lr'] = learning_rate

    def state_dict(self):
        """Everything needed to continue training exactly."""
        return {'actor': self.actor.state_dict(), 'critic': self.critic.state_dict(),
                'optimizer': self.optimizer.state_dict(), 'learning_rate': self.learning_rate}

    def load_state_dict(self, state):
        """Restore from state_dict()."""
        self.actor.load_state_dict(state['actor'])
        self.critic.load_state_dict(state['critic'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.learning_rate = state['learning_rate']
