"""
Numpy policy runtimes: ``policy.act(observation, phase) -> action`` for LPN and MLP policies.

Both runtimes normalise the raw observation with the metadata's mean and std, clip it, evaluate
the network and clip the action. ``act`` takes one observation ``(n,)`` with a scalar phase, or a
batch ``(B, n)`` with phases ``(B,)`` (or one scalar phase for the whole batch).

LPN: ``a = K(phase) s + k(phase)`` with ``K = U V^T`` (or full K when rank is null); U, V and k
come from a small MLP on the phase features. In ``'exact'`` mode the phase MLP runs every step;
in ``'table'`` mode K and k are precomputed on ``table_bins`` evenly spaced phases and linearly
interpolated (wrapping at phase 1), leaving two small matrix-vector products per step.
"""

from typing import Callable, Dict, List, Tuple, Union

from lpn_controller.policy_format import ExportedPolicy
import numpy as np

LPN_MODES = ('exact', 'table')
Layer = Tuple[np.ndarray, np.ndarray]  # (weight transposed to (in, out), bias)


def _elu(x: np.ndarray) -> np.ndarray:
    # max(x, 0) + expm1(min(x, 0)) never overflows, unlike where(x > 0, x, expm1(x)).
    return np.maximum(x, 0.0) + np.expm1(np.minimum(x, 0.0))


def _silu(x: np.ndarray) -> np.ndarray:
    # x * sigmoid(x) written with tanh, which cannot overflow for large |x|.
    return x * (0.5 + 0.5 * np.tanh(0.5 * x))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


ACTIVATION_FUNCTIONS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    'elu': _elu,
    'tanh': np.tanh,
    'silu': _silu,
    'relu': _relu,
}


def low_pass(action: np.ndarray, previous_command: np.ndarray, alpha: float) -> np.ndarray:
    """
    Return the first-order low-pass command ``alpha a + (1 - alpha) previous_command``.

    The classic smoothing baseline (METHODS.md 6). The training environment and the controller
    both call this, so a filtered policy runs on the robot as it was trained.
    """
    if alpha >= 1.0:
        return action
    return alpha * action + (1.0 - alpha) * previous_command


def phase_features(phase, harmonics: int) -> np.ndarray:
    """
    Return periodic phase features, shape ``(..., 2 * harmonics)``.

    Order: ``[sin(2 pi 1 phase), cos(2 pi 1 phase), sin(2 pi 2 phase), cos(2 pi 2 phase), ...]``
    (interleaved per harmonic h = 1..H). The trainer must build the same features.
    """
    phase = np.asarray(phase, dtype=np.float64)
    angles = (2.0 * np.pi) * phase[..., None] * np.arange(1, harmonics + 1, dtype=np.float64)
    features = np.empty(phase.shape + (2 * harmonics,), dtype=np.float64)
    features[..., 0::2] = np.sin(angles)
    features[..., 1::2] = np.cos(angles)
    return features


class PolicyRuntime:
    """Shared part of the runtimes: normalisation, clipping and the act() contract."""

    def __init__(self, policy: ExportedPolicy):
        """Keep the metadata and precompute the normalisation."""
        self.metadata = policy.metadata
        self.num_actions = self.metadata.num_joints
        self.observation_size = self.metadata.observation_size
        self.harmonics = self.metadata.network.phase_harmonics
        self._mean = np.array(self.metadata.observation_mean, dtype=np.float64)
        self._inverse_std = 1.0 / np.array(self.metadata.observation_std, dtype=np.float64)
        self._observation_clip = self.metadata.observation_clip
        self._action_clip = self.metadata.action_clip
        self._activation = ACTIVATION_FUNCTIONS[self.metadata.network.activation]

    def normalize(self, observation: np.ndarray) -> np.ndarray:
        """Return the normalised, clipped observation s the network sees."""
        state = (np.asarray(observation, dtype=np.float64) - self._mean) * self._inverse_std
        if self._observation_clip is not None:
            np.clip(state, -self._observation_clip, self._observation_clip, out=state)
        return state

    def act(self, observation: np.ndarray, phase) -> np.ndarray:
        """Return the raw policy action (before action scale), ``(m,)`` or ``(B, m)``."""
        if np.shape(observation)[-1] != self.observation_size:
            raise ValueError(f'observation has {np.shape(observation)[-1]} entries, the policy '
                             f'expects {self.observation_size}')
        state = self.normalize(observation)
        action = self._forward(state, phase)
        if self._action_clip is not None:
            np.clip(action, -self._action_clip, self._action_clip, out=action)
        return action

    def filter_action(self, action: np.ndarray, previous_command: np.ndarray) -> np.ndarray:
        """Return the command after the policy's low-pass filter (``action`` when alpha is 1)."""
        return low_pass(action, previous_command, self.metadata.action_filter_alpha)

    def joint_targets(self, action: np.ndarray) -> np.ndarray:
        """Return absolute joint position targets in rad: default_pose + action_scale * action."""
        return self.metadata.default_pose + self.metadata.action_scale * action

    def _forward(self, state: np.ndarray, phase) -> np.ndarray:
        raise NotImplementedError

    def _hidden_layers(self, weights: Dict[str, np.ndarray]) -> List[Layer]:
        # Stored transposed and contiguous so `x @ W` serves both a vector and a batch.
        return [(np.ascontiguousarray(weights[f'hidden.{i}.weight'].T, dtype=np.float64),
                 np.asarray(weights[f'hidden.{i}.bias'], dtype=np.float64))
                for i in range(len(self.metadata.network.hidden_sizes))]

    def _run_hidden(self, x: np.ndarray) -> np.ndarray:
        for weight, bias in self._layers:
            x = self._activation(x @ weight + bias)
        return x


class LpnPolicy(PolicyRuntime):
    """Linear Policy Net runtime: ``a = K(phase) s + k(phase)``."""

    def __init__(self, policy: ExportedPolicy, mode: str = 'table', table_bins: int = 200):
        """Prepare the phase network, and the K/k table in 'table' mode."""
        super().__init__(policy)
        if policy.metadata.kind != 'lpn':
            raise ValueError(f'LpnPolicy needs an lpn policy, got kind {policy.metadata.kind!r}')
        if mode not in LPN_MODES:
            raise ValueError(f'LPN mode must be one of {", ".join(LPN_MODES)}, got {mode!r}')
        if table_bins < 2:
            raise ValueError(f'table_bins must be at least 2, got {table_bins}')
        self.mode = mode
        self.rank = policy.metadata.network.rank
        weights = policy.weights
        self._layers = self._hidden_layers(weights)
        heads = ('gain', 'offset') if self.rank is None else ('gain_u', 'gain_v', 'offset')
        # One matrix for all heads: one matmul per step instead of three.
        self._head_weight = np.ascontiguousarray(
            np.concatenate([weights[f'{head}.weight'] for head in heads]).T, dtype=np.float64)
        self._head_bias = np.concatenate([weights[f'{head}.bias'] for head in heads]).astype(
            np.float64)
        sizes = [weights[f'{head}.bias'].shape[0] for head in heads]
        self._head_splits = np.cumsum(sizes)[:-1]
        self.table_bins = table_bins
        if mode == 'table':
            phases = np.arange(table_bins, dtype=np.float64) / table_bins
            gain_table, offset_table = self.gains(phases)
            self._gain_table = np.ascontiguousarray(gain_table)
            self._offset_table = np.ascontiguousarray(offset_table)

    def _phase_heads(self, phase) -> List[np.ndarray]:
        hidden = self._run_hidden(phase_features(phase, self.harmonics))
        return np.split(hidden @ self._head_weight + self._head_bias, self._head_splits, axis=-1)

    def gains(self, phase) -> Tuple[np.ndarray, np.ndarray]:
        """Return K(phase) ``(..., m, n)`` and k(phase) ``(..., m)`` from the phase network."""
        phase = np.asarray(phase, dtype=np.float64)
        m, n = self.num_actions, self.observation_size
        if self.rank is None:
            gain, offset = self._phase_heads(phase)
            return gain.reshape(phase.shape + (m, n)), offset
        gain_u, gain_v, offset = self._phase_heads(phase)
        u = gain_u.reshape(phase.shape + (m, self.rank))
        v = gain_v.reshape(phase.shape + (n, self.rank))
        return u @ np.swapaxes(v, -1, -2), offset

    def _forward(self, state: np.ndarray, phase) -> np.ndarray:
        if self.mode == 'table':
            return self._forward_table(state, phase)
        phase = np.asarray(phase, dtype=np.float64)
        m, n = self.num_actions, self.observation_size
        if state.ndim == 1 and phase.ndim == 0:
            heads = self._phase_heads(phase)
            if self.rank is None:
                return heads[0].reshape(m, n) @ state + heads[1]
            gain_u, gain_v, offset = heads
            # U (V^T s): never builds the m x n matrix K.
            return gain_u.reshape(m, self.rank) @ (state @ gain_v.reshape(n, self.rank)) + offset
        phase = np.broadcast_to(phase, state.shape[:-1])
        gain, offset = self.gains(phase)
        return (gain @ state[..., None])[..., 0] + offset

    def _forward_table(self, state: np.ndarray, phase) -> np.ndarray:
        position = np.mod(phase, 1.0) * self.table_bins
        lower = np.floor(position)
        weight = position - lower
        lower = lower.astype(np.intp) % self.table_bins
        upper = (lower + 1) % self.table_bins
        if state.ndim == 1 and np.ndim(phase) == 0:
            gains, offsets = self._gain_table, self._offset_table
            action_lower = gains[lower] @ state + offsets[lower]
            action_upper = gains[upper] @ state + offsets[upper]
            return action_lower + weight * (action_upper - action_lower)
        weight = np.broadcast_to(weight, state.shape[:-1])[..., None]
        lower = np.broadcast_to(lower, state.shape[:-1])
        upper = np.broadcast_to(upper, state.shape[:-1])
        action_lower = np.einsum('...mn,...n->...m', self._gain_table[lower], state)
        action_upper = np.einsum('...mn,...n->...m', self._gain_table[upper], state)
        action_lower += self._offset_table[lower]
        action_upper += self._offset_table[upper]
        return action_lower + weight * (action_upper - action_lower)


class MlpPolicy(PolicyRuntime):
    """MLP runtime: ``a = MLP([s, phase_features(phase)])``."""

    def __init__(self, policy: ExportedPolicy):
        """Prepare the layers (transposed for ``x @ W``)."""
        super().__init__(policy)
        if policy.metadata.kind != 'mlp':
            raise ValueError(f'MlpPolicy needs an mlp policy, got kind {policy.metadata.kind!r}')
        self._layers = self._hidden_layers(policy.weights)
        self._output_weight = np.ascontiguousarray(policy.weights['output.weight'].T,
                                                   dtype=np.float64)
        self._output_bias = np.asarray(policy.weights['output.bias'], dtype=np.float64)

    def _forward(self, state: np.ndarray, phase) -> np.ndarray:
        if self.harmonics:
            features = phase_features(phase, self.harmonics)
            if features.ndim < state.ndim:
                features = np.broadcast_to(features, state.shape[:-1] + features.shape[-1:])
            state = np.concatenate((state, features), axis=-1)
        return self._run_hidden(state) @ self._output_weight + self._output_bias


def make_runtime(policy: ExportedPolicy, lpn_mode: str = 'table',
                 table_bins: int = 200) -> Union[LpnPolicy, MlpPolicy]:
    """Return the runtime for the policy's kind (LPN mode and table size apply to LPNs only)."""
    if policy.metadata.kind == 'lpn':
        return LpnPolicy(policy, mode=lpn_mode, table_bins=table_bins)
    return MlpPolicy(policy)
