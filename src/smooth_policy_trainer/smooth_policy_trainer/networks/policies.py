"""
Actor and critic networks: the MLP policy and the Linear Policy Net (LPN).

Both actors are Gaussian with a learned, state-independent standard deviation and expose
``mean(state, phase)``, where ``state`` is the normalised observation s (without the phase) and
``phase`` is the motion phase in [0, 1). Parameter names match the lpn_controller policy format
(``hidden.{i}``, ``output`` for the MLP; ``gain_u``, ``gain_v``, ``offset`` for the LPN), so export
is a copy of the state dict.

LPN (METHODS.md 2): a = K(phase) s + k(phase), with K = U V^T produced by a small MLP whose only
input is the periodic phase features. Its action Jacobian is K(phase) exactly.
"""

import math

from smooth_policy_trainer.config import choices
import torch
from torch import nn

ACTIVATIONS = {'elu': nn.functional.elu, 'tanh': torch.tanh, 'silu': nn.functional.silu,
               'relu': nn.functional.relu}


def phase_features(phase, harmonics):
    """
    Return [sin 2 pi h phase, cos 2 pi h phase] for h = 1..H, interleaved, shape (..., 2H).

    The same order as lpn_controller.runtime.phase_features: export depends on it.
    """
    harmonic = torch.arange(1, harmonics + 1, dtype=phase.dtype, device=phase.device)
    angles = 2.0 * math.pi * phase[..., None] * harmonic
    return torch.stack((torch.sin(angles), torch.cos(angles)), dim=-1).flatten(-2)


class _Scale(nn.Module):
    """A weight parametrisation that multiplies by a constant (lambda_sn after SN)."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, weight):
        return self.factor * weight


def spectrally_normalize(layer, lambda_sn):
    """
    Make ``layer.weight`` read lambda_sn W / sigma_max(W) (METHODS.md 4), in place.

    torch's spectral_norm runs one power-iteration step per training-mode forward pass; the
    scale is a second parametrisation on top, so ``layer.weight`` is the matrix the layer uses
    (and the one export writes).
    """
    nn.utils.parametrizations.spectral_norm(layer)
    nn.utils.parametrize.register_parametrization(layer, 'weight', _Scale(lambda_sn))
    return layer


INITS = choices.INITS


def _linear(in_size, out_size, gain, init='orthogonal'):
    # 'orthogonal' (CleanRL, SB3): orthogonal weights of the given gain, zero bias.
    # 'default': PyTorch's own uniform initialisation, which rsl_rl keeps; the gain is unused.
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    layer = nn.Linear(in_size, out_size)
    if init == 'orthogonal':
        nn.init.orthogonal_(layer.weight, gain=gain)
        nn.init.zeros_(layer.bias)
    return layer


class _Hidden(nn.Module):
    """A stack of linear layers with one activation; named ``hidden.{i}`` in state dicts."""

    def __init__(self, in_size, hidden_sizes, activation, init='orthogonal'):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {sorted(ACTIVATIONS)}, got '
                             f'{activation!r}')
        sizes = [in_size, *hidden_sizes]
        self.hidden = nn.ModuleList(_linear(a, b, math.sqrt(2), init)
                                    for a, b in zip(sizes, sizes[1:]))
        self.activation_name = activation
        self._activation = ACTIVATIONS[activation]
        self.out_size = sizes[-1]

    def run_hidden(self, x):
        for layer in self.hidden:
            x = self._activation(layer(x))
        return x


class MLPActor(_Hidden):
    """Gaussian MLP policy: mean = MLP([s, phase_features(phase)])."""

    kind = 'mlp'

    def __init__(self, observation_size, num_actions, hidden_sizes=(256, 128, 64),
                 activation='elu', phase_harmonics=2, initial_std=0.5, spectral_norm=None,
                 spectral_norm_output=False, init='orthogonal'):
        super().__init__(observation_size + 2 * phase_harmonics, hidden_sizes, activation, init)
        self.observation_size, self.num_actions = observation_size, num_actions
        self.phase_harmonics = phase_harmonics
        self.hidden_sizes = tuple(hidden_sizes)
        # A small output gain starts the policy near the default pose.
        self.output = _linear(self.out_size, num_actions, 0.01, init)
        self.log_std = nn.Parameter(torch.full((num_actions,), math.log(initial_std)))
        if spectral_norm is not None:  # lambda_sn: the SN baseline (actor only)
            layers = [*self.hidden, self.output] if spectral_norm_output else [*self.hidden]
            for layer in layers:
                spectrally_normalize(layer, spectral_norm)

    def mean(self, state, phase):
        if self.phase_harmonics:
            state = torch.cat((state, phase_features(phase, self.phase_harmonics)), dim=-1)
        return self.output(self.run_hidden(state))

    def network_spec(self):
        """Return the metadata's network section."""
        return {'phase_harmonics': self.phase_harmonics, 'hidden_sizes': list(self.hidden_sizes),
                'activation': self.activation_name}


class LPNActor(_Hidden):
    """Linear Policy Net: mean = U(phase) V(phase)^T s + k(phase) (K(phase) s + k at full rank)."""

    kind = 'lpn'

    def __init__(self, observation_size, num_actions, hidden_sizes=(64, 64), activation='elu',
                 phase_harmonics=2, rank=8, initial_std=0.5, init='orthogonal'):
        if phase_harmonics < 1:
            raise ValueError('an LPN needs at least one phase harmonic')
        super().__init__(2 * phase_harmonics, hidden_sizes, activation, init)
        self.observation_size, self.num_actions = observation_size, num_actions
        self.phase_harmonics, self.rank = phase_harmonics, rank
        self.hidden_sizes = tuple(hidden_sizes)
        m, n = num_actions, observation_size
        if rank is None:
            self.gain = _linear(self.out_size, m * n, 0.01, init)
        else:
            # Each factor starts small; their product K starts smaller still.
            self.gain_u = _linear(self.out_size, m * rank, 0.1, init)
            self.gain_v = _linear(self.out_size, n * rank, 0.1, init)
        self.offset = _linear(self.out_size, m, 0.01, init)
        self.log_std = nn.Parameter(torch.full((num_actions,), math.log(initial_std)))
        self._factor_cache = None

    def factors(self, phase):
        """
        Return (U (..., m, r), V (..., n, r), k (..., m)); U is K and V None at full rank.

        The PPO update asks for the factors twice on one minibatch (for the mean, then for the
        Jacobian penalty); the second call reuses the first's result. The reuse is keyed on
        the phase tensor itself and the version counters of every parameter, so an optimiser
        step or a different phase tensor always recomputes.
        """
        key = (id(phase), phase._version, torch.is_grad_enabled(),
               tuple(p._version for p in self.parameters()))
        if self._factor_cache is not None and self._factor_cache[0] == key and \
                self._factor_cache[1] is phase:
            return self._factor_cache[2]
        factors = self._compute_factors(phase)
        self._factor_cache = (key, phase, factors)
        return factors

    def _compute_factors(self, phase):
        hidden = self.run_hidden(phase_features(phase, self.phase_harmonics))
        m, n = self.num_actions, self.observation_size
        offset = self.offset(hidden)
        if self.rank is None:
            return self.gain(hidden).unflatten(-1, (m, n)), None, offset
        u = self.gain_u(hidden).unflatten(-1, (m, self.rank))
        v = self.gain_v(hidden).unflatten(-1, (n, self.rank))
        return u, v, offset

    def gain_matrix(self, phase):
        """K(phase), (..., m, n); built only for checks and plots, not for acting."""
        u, v, _ = self.factors(phase)
        return u if v is None else u @ v.transpose(-1, -2)

    def mean(self, state, phase):
        u, v, offset = self.factors(phase)
        if v is None:
            return (u @ state[..., None])[..., 0] + offset
        # U (V^T s): never builds the m x n matrix. Broadcast products rather than batched
        # matmuls: for thousands of 8-wide products, bmm's per-matrix overhead on CPU costs
        # 2.7x more (forward and backward) than these two multiply-sums.
        projected = (v * state[..., :, None]).sum(-2)
        return (u * projected[..., None, :]).sum(-1) + offset

    def jacobian_norm_squared(self, phase):
        """||K(phase)||_F^2 per sample, in closed form: trace((U^T U)(V^T V)) never builds K."""
        u, v, _ = self.factors(phase)
        if v is None:
            return u.pow(2).sum((-2, -1))
        return ((u.transpose(-1, -2) @ u) * (v.transpose(-1, -2) @ v)).sum((-2, -1))

    def network_spec(self):
        """Return the metadata's network section."""
        return {'phase_harmonics': self.phase_harmonics, 'hidden_sizes': list(self.hidden_sizes),
                'activation': self.activation_name, 'rank': self.rank}


class Critic(nn.Module):
    """State-value MLP on [s, phase features] (the critic may see everything the actor does)."""

    def __init__(self, observation_size, hidden_sizes=(256, 128, 64), activation='elu',
                 phase_harmonics=2, init='orthogonal'):
        super().__init__()
        self.phase_harmonics = phase_harmonics
        self.body = _Hidden(observation_size + 2 * phase_harmonics, hidden_sizes, activation,
                            init)
        self.value = _linear(self.body.out_size, 1, 1.0, init)

    def forward(self, state, phase):
        if self.phase_harmonics:
            state = torch.cat((state, phase_features(phase, self.phase_harmonics)), dim=-1)
        return self.value(self.body.run_hidden(state))[..., 0]


def make_actor(kind, observation_size, num_actions, **options):
    """Build the actor named by ``kind`` ('mlp' or 'lpn') with options from the config."""
    actors = {'mlp': MLPActor, 'lpn': LPNActor}
    if kind not in actors:
        raise ValueError(f"policy kind must be one of {sorted(actors)}, got '{kind}'")
    return actors[kind](observation_size, num_actions, **options)
