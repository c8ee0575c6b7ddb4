"""
The replay buffer of the off-policy learners: a ring of transitions, sampled uniformly.

A transition is (o, phase, a, r, o', phase', terminated, next_valid). Observations are stored raw
(float32), not normalised: the runner normalises a sampled batch with the statistics of the
moment, so early transitions do not carry stale statistics. ``terminated`` stops bootstrapping
(a true end; a time-out is not one); ``next_valid`` says whether o' is the state that followed o
in the same episode (the imitation environment resets a fallen robot inside its step, so its o'
after a fall is the next episode's): PAVE's VFC term and CAPS's temporal term skip the others.
Full once ``capacity`` transitions are in; then the oldest are overwritten first.
"""

from typing import NamedTuple

import torch


class Transitions(NamedTuple):
    """A batch of transitions (leading batch axis), float32 tensors."""

    observations: torch.Tensor        # (B, n)
    phases: torch.Tensor              # (B,)
    actions: torch.Tensor             # (B, m), in the environment's action units
    rewards: torch.Tensor             # (B,)
    next_observations: torch.Tensor   # (B, n)
    next_phases: torch.Tensor         # (B,)
    terminated: torch.Tensor          # (B,) 1: no bootstrapping from o'
    next_valid: torch.Tensor          # (B,) 1: o' follows o in the same episode


class ReplayBuffer:
    """A fixed-capacity ring buffer of Transitions."""

    def __init__(self, capacity, observation_size, num_actions):
        if capacity < 1:
            raise ValueError(f'replay capacity must be at least 1, got {capacity}')
        self.capacity = int(capacity)
        self.position = 0   # where the next transition goes
        self.size = 0       # how many are stored
        # torch.zeros maps pages lazily: a large, mostly empty buffer costs no memory yet.
        self.storage = Transitions(
            observations=torch.zeros(capacity, observation_size),
            phases=torch.zeros(capacity),
            actions=torch.zeros(capacity, num_actions),
            rewards=torch.zeros(capacity),
            next_observations=torch.zeros(capacity, observation_size),
            next_phases=torch.zeros(capacity),
            terminated=torch.zeros(capacity),
            next_valid=torch.zeros(capacity),
        )

    def __len__(self):
        """Return the number of stored transitions."""
        return self.size

    def add(self, transitions):
        """Append a batch of Transitions (any array-likes of matching shapes), wrapping around."""
        count = len(transitions.rewards)
        if count == 0:
            return
        if count > self.capacity:
            raise ValueError(f'cannot add {count} transitions to a buffer of capacity '
                             f'{self.capacity}')
        rows = (self.position + torch.arange(count)) % self.capacity
        for name, column in zip(Transitions._fields, self.storage):
            value = torch.as_tensor(getattr(transitions, name), dtype=torch.float32)
            if value.shape[1:] != column.shape[1:] or len(value) != count:
                raise ValueError(f'transitions.{name}: shape {tuple(value.shape)} does not fit '
                                 f'{count} rows of {tuple(column.shape[1:])}')
            column[rows] = value
        self.position = (self.position + count) % self.capacity
        self.size = min(self.size + count, self.capacity)

    def sample(self, batch_size, generator=None):
        """Return ``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError('cannot sample from an empty replay buffer')
        rows = torch.randint(0, self.size, (batch_size,), generator=generator)
        return Transitions(*(column[rows] for column in self.storage))

    def state_dict(self):
        """Return the stored transitions (only the filled rows) and the write position."""
        return {'capacity': self.capacity, 'position': self.position, 'size': self.size,
                **{name: column[:self.size].clone()
                   for name, column in zip(Transitions._fields, self.storage)}}

    def load_state_dict(self, state):
        """Restore from state_dict(); the capacity and shapes must match this buffer's."""
        if int(state['capacity']) != self.capacity:
            raise ValueError(f"replay buffer: the saved capacity {state['capacity']} differs "
                             f'from this one, {self.capacity}')
        size = int(state['size'])
        for name, column in zip(Transitions._fields, self.storage):
            saved = state[name]
            if tuple(saved.shape) != (size, *column.shape[1:]):
                raise ValueError(f'replay buffer: saved {name} has shape {tuple(saved.shape)}, '
                                 f'expected {(size, *column.shape[1:])}')
            column[:size] = saved
        self.size, self.position = size, int(state['position'])
