"""
Rollout storage for on-policy learning: T steps of N environments, then minibatches.

A step stored with ``learnable`` 0 (a step whose simulation went unstable: its successor is a
reset state, not physics) is no transition: its advantage is 0, so the steps before it
bootstrap from the value of the last physical state, as at a time-out; it is left out of the
advantage statistics and of every minibatch.
"""

from dataclasses import dataclass, fields

import torch


@dataclass
class Batch:
    """One minibatch of transitions (flattened over time and environments)."""

    states: torch.Tensor          # normalised observations s (without phase)
    critic_states: torch.Tensor   # s and the critic-only (privileged) inputs, for the critic
    phases: torch.Tensor
    next_states: torch.Tensor     # s_{t+1}, for temporal smoothness losses (CAPS)
    next_phases: torch.Tensor
    next_valid: torch.Tensor      # 1 where s_{t+1} follows s_t in the same episode
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    returns: torch.Tensor
    advantages: torch.Tensor
    means: torch.Tensor
    stds: torch.Tensor


class RolloutStorage:
    """Holds one rollout and computes GAE returns and advantages."""

    def __init__(self, num_steps, num_envs, observation_size, num_actions, privileged_size=0):
        def zeros(*shape):
            return torch.zeros(num_steps, num_envs, *shape)
        self.num_steps, self.num_envs = num_steps, num_envs
        self.states = zeros(observation_size)
        self.critic_states = zeros(observation_size + privileged_size)
        self.next_states = zeros(observation_size)
        self.next_phases = zeros()
        self.phases = zeros()
        self.actions = zeros(num_actions)
        self.log_probs = zeros()
        self.values = zeros()
        self.rewards = zeros()
        self.dones = zeros()
        self.learnable = zeros()
        self.means = zeros(num_actions)
        self.stds = zeros(num_actions)
        self.returns = zeros()
        self.advantages = zeros()
        self.step = 0

    def add(self, states, phases, actions, log_probs, values, rewards, dones, means, stds,
            next_states, next_phases, learnable=None, critic_states=None):
        """
        Store one step; ``rewards`` already include any bootstrap for time-outs.

        ``learnable`` (per environment, default all 1) is 0 where the step is no transition;
        ``critic_states`` (default ``states``) is what the critic valued.
        """
        t = self.step
        if t >= self.num_steps:
            raise RuntimeError('rollout storage is full; call clear() after the update')
        self.learnable[t] = 1.0 if learnable is None else learnable
        critic_states = states if critic_states is None else critic_states
        for name, value in (('states', states), ('critic_states', critic_states),
                            ('phases', phases), ('actions', actions),
                            ('log_probs', log_probs), ('values', values),
                            ('rewards', rewards), ('dones', dones), ('means', means),
                            ('stds', stds), ('next_states', next_states),
                            ('next_phases', next_phases)):
            getattr(self, name)[t] = value.detach()
        self.step += 1

    def clear(self):
        """Start a new rollout."""
        self.step = 0

    def compute_returns(self, last_values, gamma, lam):
        """Generalised advantage estimation; episodes end where ``dones`` is 1."""
        advantage = torch.zeros_like(last_values)
        for t in reversed(range(self.num_steps)):
            next_values = last_values if t == self.num_steps - 1 else self.values[t + 1]
            not_done = 1.0 - self.dones[t]
            delta = self.rewards[t] + gamma * next_values * not_done - self.values[t]
            advantage = (delta + gamma * lam * not_done * advantage) * self.learnable[t]
            self.advantages[t] = advantage
        self.returns = self.advantages + self.values
        # Normalised advantages: the policy step size does not depend on the reward scale.
        learnt = self.advantages[self.learnable > 0]
        self.advantages = (self.advantages - learnt.mean()) / (learnt.std() + 1e-8)

    def minibatches(self, num_minibatches, num_epochs, generator=None):
        """Yield shuffled minibatches over ``num_epochs`` passes through the rollout."""
        total = self.num_steps * self.num_envs
        size = total // num_minibatches
        flat = {f.name: getattr(self, f.name if f.name != 'next_valid' else 'dones')
                .flatten(0, 1) for f in fields(Batch)}
        flat['next_valid'] = 1.0 - flat['next_valid']
        learnable = torch.nonzero(self.learnable.flatten() > 0).flatten()
        if len(learnable) < total:   # steps that are no transition never reach the losses
            flat = {name: value[learnable] for name, value in flat.items()}
            total = len(learnable)
            size = total // num_minibatches
            if size == 0:
                return
        for _ in range(num_epochs):
            order = torch.randperm(total, generator=generator)
            for start in range(0, size * num_minibatches, size):
                ids = order[start:start + size]
                yield Batch(**{name: value[ids] for name, value in flat.items()})
