"""
Running mean and variance of observations, for the normalisation the networks see.

The statistics are written into the exported policy's metadata (observation_mean/std), so the
controller normalises exactly as training did.

The divisor is ``sqrt(var + epsilon) + std_offset``. With a tiny epsilon and no offset an input
that barely varies (projected gravity on a robot that stays level) is amplified by up to
1/sqrt(epsilon); rsl_rl's EmpiricalNormalization divides by ``std + 0.01``, which caps the gain
at 100 and leaves the network less to over-react to.
"""

import torch


class RunningNormalizer:
    """Chan et al. parallel mean/variance updates over batches; clips the normalised output."""

    def __init__(self, size, clip=10.0, epsilon=1e-8, std_offset=0.0):
        if epsilon < 0 or std_offset < 0 or epsilon + std_offset <= 0:
            raise ValueError('normaliser epsilon and std_offset must be >= 0 and not both 0, '
                             f'got epsilon={epsilon}, std_offset={std_offset}')
        self.mean = torch.zeros(size, dtype=torch.float64)
        self.var = torch.ones(size, dtype=torch.float64)
        self.count = 1e-8   # a prior weight so the first batch replaces the initial statistics
        self.clip = clip
        self.epsilon = epsilon
        self.std_offset = std_offset
        self.frozen = False

    def update(self, batch):
        """Fold a (B, size) batch into the statistics (no-op when frozen)."""
        if self.frozen:
            return
        batch = batch.detach().to(torch.float64).reshape(-1, self.mean.shape[0])
        batch_mean = batch.mean(0)
        batch_var = batch.var(0, unbiased=False)
        batch_count = batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + \
            delta.pow(2) * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    @property
    def std(self):
        """Return the standard deviation used for normalising (never zero)."""
        return torch.sqrt(self.var + self.epsilon) + self.std_offset

    def __call__(self, observation):
        normalised = (observation.to(torch.float64) - self.mean) / self.std
        return normalised.clamp(-self.clip, self.clip).to(observation.dtype)

    def state_dict(self):
        """Plain tensors for checkpoints."""
        return {'mean': self.mean.clone(), 'var': self.var.clone(),
                'count': torch.tensor(self.count, dtype=torch.float64)}

    def load_state_dict(self, state):
        """Restore statistics from state_dict()."""
        self.mean = state['mean'].clone()
        self.var = state['var'].clone()
        self.count = float(state['count'])


def make_normalizer(config, size):
    """Return the RunningNormalizer a training config's ``normalizer`` section describes."""
    return RunningNormalizer(size, clip=config.clip, epsilon=config.epsilon,
                             std_offset=config.std_offset)
