"""
Networks of the off-policy learners (TD3, SAC): actors, twin Q critics, the action box.

Actors are policies.MLPActor underneath, so their parameter names are the lpn_controller policy
format's (``hidden.{i}``, ``output``) and an actor with a linear output exports as it is:

- ``output='tanh'`` (the Gym tasks, as in TD3 and PAVE): a = bias + scale * tanh(MLP(s)), inside
  the action box by construction. The lpn_controller runtime has linear outputs, so such an
  actor does not export.
- ``output='linear'`` (the imitation tasks): a = MLP(s), clipped to the box where it is used
  (the environment, the critic's input, TD3's target actions), exactly as the robot's runtime
  clips at ``action_clip``. The critic never sees an action outside the box; the actor is held
  inside it by a penalty on the part of MLP(s) beyond the box (``bound_penalty``).

Critics are Q(s, phase, a) MLPs on [s, phase features, a]; ``TwinQ`` holds the two of TD3 and
SAC. PAVE's curvature term differentiates Q twice in a, so the critic's activation must be
smooth: SiLU (METHODS.md 7); ReLU's second derivative is zero almost everywhere.
"""

from smooth_policy_trainer.config.choices import ACTOR_OUTPUTS
from smooth_policy_trainer.networks.distributions import gaussian_log_prob
from smooth_policy_trainer.networks.policies import ACTIVATIONS, MLPActor, phase_features
import torch
from torch import nn

OUTPUTS = ACTOR_OUTPUTS


class ActionBox:
    """The action bounds [low, high] per dimension, as float32 tensors."""

    def __init__(self, low, high):
        self.low = torch.as_tensor(low, dtype=torch.float32).clone()
        self.high = torch.as_tensor(high, dtype=torch.float32).clone()
        if self.low.shape != self.high.shape or self.low.dim() != 1:
            raise ValueError(f'action bounds must be two vectors of one length, got '
                             f'{tuple(self.low.shape)} and {tuple(self.high.shape)}')
        if not bool(torch.all(torch.isfinite(self.low) & torch.isfinite(self.high)
                              & (self.low < self.high))):
            raise ValueError(f'action bounds must be finite with low < high, got '
                             f'{self.low.tolist()} and {self.high.tolist()}')
        self.scale = (self.high - self.low) / 2.0
        self.bias = (self.high + self.low) / 2.0

    def clamp(self, actions):
        """Return actions clipped into the box."""
        return torch.maximum(torch.minimum(actions, self.high), self.low)

    def uniform(self, count, generator=None):
        """Return ``count`` actions drawn uniformly from the box (exploration before learning)."""
        return self.low + (self.high - self.low) * torch.rand(count, len(self.low),
                                                              generator=generator)


def _inputs(state, phase, harmonics):
    if harmonics:
        return torch.cat((state, phase_features(phase, harmonics)), dim=-1)
    return state


class DeterministicActor(MLPActor):
    """TD3's actor: an MLPActor whose output is squashed into the box (tanh) or left linear."""

    def __init__(self, observation_size, box, hidden_sizes=(256, 256), activation='silu',
                 phase_harmonics=0, output='tanh'):
        super().__init__(observation_size, len(box.low), hidden_sizes, activation,
                         phase_harmonics)
        if output not in OUTPUTS:
            raise ValueError(f"actor output must be one of {', '.join(OUTPUTS)}, got '{output}'")
        # TD3 explores with noise the learner adds; the Gaussian's std is not a parameter here.
        del self.log_std
        self.output_kind = output
        self.register_buffer('action_scale', box.scale.clone())
        self.register_buffer('action_bias', box.bias.clone())

    def forward(self, state, phase):
        """Return the deterministic action (linear output: not yet clipped)."""
        mean = self.mean(state, phase)
        if self.output_kind == 'tanh':
            return self.action_bias + self.action_scale * torch.tanh(mean)
        return mean


class GaussianActor(MLPActor):
    """
    SAC's actor: a Gaussian with a state-dependent std (a second head, ``log_std_head``).

    tanh output: the sample u ~ N(mu, sigma) is squashed, a = bias + scale tanh(u), and the log
    density carries the change of variables. Linear output: a = u, clipped to the box where it
    is used (the density is the Gaussian's). The deterministic action is the squashed mean.
    """

    def __init__(self, observation_size, box, hidden_sizes=(256, 256), activation='silu',
                 phase_harmonics=0, output='tanh', log_std_min=-5.0, log_std_max=2.0):
        super().__init__(observation_size, len(box.low), hidden_sizes, activation,
                         phase_harmonics)
        if output not in OUTPUTS:
            raise ValueError(f"actor output must be one of {', '.join(OUTPUTS)}, got '{output}'")
        del self.log_std
        self.log_std_head = nn.Linear(self.out_size, len(box.low))
        self.output_kind = output
        self.log_std_min, self.log_std_max = log_std_min, log_std_max
        self.register_buffer('action_scale', box.scale.clone())
        self.register_buffer('action_bias', box.bias.clone())

    def distribution(self, state, phase):
        """Return (mean, std) of the pre-squash Gaussian."""
        features = self.run_hidden(_inputs(state, phase, self.phase_harmonics))
        log_std = torch.tanh(self.log_std_head(features))   # CleanRL's soft clamp of log std
        log_std = self.log_std_min + 0.5 * (self.log_std_max - self.log_std_min) * (log_std + 1)
        return self.output(features), log_std.exp()

    def forward(self, state, phase):
        """Return the deterministic action (the squashed mean)."""
        mean = self.mean(state, phase)
        if self.output_kind == 'tanh':
            return self.action_bias + self.action_scale * torch.tanh(mean)
        return mean

    def sample(self, state, phase, generator=None):
        """Return (actions, log densities (B,)), reparametrised (differentiable in the actor)."""
        mean, std = self.distribution(state, phase)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
        sample = mean + std * noise
        log_prob = gaussian_log_prob(sample, mean, std)
        if self.output_kind == 'linear':
            return sample, log_prob
        squashed = torch.tanh(sample)
        # log |da/du| = sum log(scale (1 - tanh^2)); 1e-6 keeps a saturated tanh finite.
        log_prob = log_prob - torch.log(self.action_scale * (1 - squashed.pow(2)) + 1e-6).sum(-1)
        return self.action_bias + self.action_scale * squashed, log_prob


class QNetwork(nn.Module):
    """Q(s, phase, a): an MLP on [s, phase features, a] with a scalar head."""

    def __init__(self, observation_size, num_actions, hidden_sizes=(256, 256),
                 activation='silu', phase_harmonics=0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {sorted(ACTIVATIONS)}, got '
                             f'{activation!r}')
        self.phase_harmonics = phase_harmonics
        sizes = [observation_size + 2 * phase_harmonics + num_actions, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.value = nn.Linear(sizes[-1], 1)
        self._activation = ACTIVATIONS[activation]

    def forward(self, state, phase, action):
        """Return Q, shape (B,)."""
        x = torch.cat((_inputs(state, phase, self.phase_harmonics), action), dim=-1)
        for layer in self.hidden:
            x = self._activation(layer(x))
        return self.value(x)[..., 0]


class TwinQ(nn.Module):
    """The two critics of TD3 and SAC (clipped double Q)."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.q1 = QNetwork(*args, **kwargs)
        self.q2 = QNetwork(*args, **kwargs)

    def forward(self, state, phase, action):
        """Return (Q1, Q2)."""
        return self.q1(state, phase, action), self.q2(state, phase, action)


def exportable_actor(actor):
    """
    Return a plain MLPActor with the deterministic actor's weights, for export.build_policy.

    Only a linear output is what the lpn_controller runtime computes (then clips at the
    policy's action_clip); a tanh actor is refused rather than exported wrong.
    """
    if actor.output_kind != 'linear':
        raise ValueError("only an actor with output 'linear' exports to the lpn_controller "
                         "format (its MLP has a linear head); this one has 'tanh'")
    # Building a network draws initial weights: keep the global RNG where training left it.
    with torch.random.fork_rng(devices=[]):
        plain = MLPActor(actor.observation_size, actor.num_actions, actor.hidden_sizes,
                         actor.activation_name, actor.phase_harmonics)
    plain.hidden.load_state_dict(actor.hidden.state_dict())
    plain.output.load_state_dict(actor.output.state_dict())
    return plain
