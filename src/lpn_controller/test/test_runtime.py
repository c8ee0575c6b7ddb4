"""LPN and MLP runtimes against from-scratch reference computations."""

import math

from lpn_controller.example_policy import make_example_policy
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.runtime import LpnPolicy, make_runtime, MlpPolicy, phase_features
import numpy as np
import pytest

JOINTS = ('a', 'b', 'c', 'd')

REFERENCE_ACTIVATIONS = {
    'elu': lambda x: x if x > 0.0 else math.exp(x) - 1.0,
    'tanh': math.tanh,
    'silu': lambda x: x / (1.0 + math.exp(-x)),
    'relu': lambda x: max(x, 0.0),
}


def reference_linear(weights, name, inputs):
    matrix, bias = weights[f'{name}.weight'], weights[f'{name}.bias']
    return [sum(float(matrix[row, col]) * inputs[col] for col in range(len(inputs)))
            + float(bias[row]) for row in range(matrix.shape[0])]


def reference_hidden(policy, inputs):
    activation = REFERENCE_ACTIVATIONS[policy.metadata.network.activation]
    for index in range(len(policy.metadata.network.hidden_sizes)):
        inputs = [activation(x) for x in reference_linear(policy.weights, f'hidden.{index}',
                                                          inputs)]
    return inputs


def reference_state(policy, observation):
    metadata = policy.metadata
    clip = metadata.observation_clip
    state = []
    for value, mean, std in zip(observation, metadata.observation_mean, metadata.observation_std):
        normalised = (value - mean) / std
        state.append(min(max(normalised, -clip), clip) if clip else normalised)
    return state


def reference_features(phase, harmonics):
    features = []
    for h in range(1, harmonics + 1):
        features += [math.sin(2 * math.pi * h * phase), math.cos(2 * math.pi * h * phase)]
    return features


def reference_lpn_gains(policy, phase):
    """Return K (list of rows) and k, built entry by entry from U and V."""
    metadata = policy.metadata
    m, n, rank = metadata.num_joints, metadata.observation_size, metadata.network.rank
    hidden = reference_hidden(policy, reference_features(phase, metadata.network.phase_harmonics))
    offset = reference_linear(policy.weights, 'offset', hidden)
    if rank is None:
        flat = reference_linear(policy.weights, 'gain', hidden)
        return [[flat[i * n + j] for j in range(n)] for i in range(m)], offset
    u = reference_linear(policy.weights, 'gain_u', hidden)
    v = reference_linear(policy.weights, 'gain_v', hidden)
    gain = [[sum(u[i * rank + r] * v[j * rank + r] for r in range(rank)) for j in range(n)]
            for i in range(m)]
    return gain, offset


def reference_lpn_action(policy, observation, phase):
    state = reference_state(policy, observation)
    gain, offset = reference_lpn_gains(policy, phase)
    action = [sum(row[j] * state[j] for j in range(len(state))) + k
              for row, k in zip(gain, offset)]
    clip = policy.metadata.action_clip
    return np.array([min(max(a, -clip), clip) for a in action])


def reference_mlp_action(policy, observation, phase):
    inputs = reference_state(policy, observation) + reference_features(
        phase, policy.metadata.network.phase_harmonics)
    action = reference_linear(policy.weights, 'output', reference_hidden(policy, inputs))
    clip = policy.metadata.action_clip
    return np.array([min(max(a, -clip), clip) for a in action])


def example(kind, **kwargs):
    return ExportedPolicy(*make_example_policy(kind, JOINTS, **kwargs))


def random_observations(policy, count, seed=0, spread=3.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, spread, (count, policy.metadata.observation_size))


def test_phase_features_order():
    features = phase_features(0.1, 2)
    angle = 2 * math.pi * 0.1
    np.testing.assert_allclose(
        features, [math.sin(angle), math.cos(angle), math.sin(2 * angle), math.cos(2 * angle)])
    assert phase_features(np.zeros((5, 3)), 3).shape == (5, 3, 6)


@pytest.mark.parametrize('activation', ['elu', 'tanh', 'silu', 'relu'])
@pytest.mark.parametrize('rank', [3, None])
def test_lpn_exact_matches_reference(activation, rank):
    policy = example('lpn', activation=activation, rank=rank, hidden_sizes=[8, 6],
                     weight_scale=1.5, seed=5)
    runtime = LpnPolicy(policy, mode='exact')
    for index, observation in enumerate(random_observations(policy, 5)):
        phase = 0.137 * index + 0.05
        np.testing.assert_allclose(runtime.act(observation, phase),
                                   reference_lpn_action(policy, observation, phase),
                                   rtol=1e-10, atol=1e-12)


def test_lpn_gains_match_reference():
    policy = example('lpn', hidden_sizes=[5], rank=2)
    gain, offset = LpnPolicy(policy, mode='exact').gains(0.3)
    reference_gain, reference_offset = reference_lpn_gains(policy, 0.3)
    np.testing.assert_allclose(gain, reference_gain, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(offset, reference_offset, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize('activation', ['elu', 'tanh', 'silu'])
def test_mlp_matches_reference(activation):
    policy = example('mlp', activation=activation, hidden_sizes=[16, 8], weight_scale=1.5)
    runtime = MlpPolicy(policy)
    for index, observation in enumerate(random_observations(policy, 5)):
        phase = 0.21 * index
        np.testing.assert_allclose(runtime.act(observation, phase),
                                   reference_mlp_action(policy, observation, phase),
                                   rtol=1e-10, atol=1e-12)


def test_mlp_without_phase_input():
    policy = example('mlp', phase_harmonics=0, hidden_sizes=[8])
    runtime = MlpPolicy(policy)
    observation = random_observations(policy, 1)[0]
    np.testing.assert_allclose(runtime.act(observation, 0.0), runtime.act(observation, 0.7))


def test_lpn_table_matches_exact():
    policy = example('lpn', weight_scale=0.5, seed=7)
    exact = LpnPolicy(policy, mode='exact')
    bins = 200
    table = LpnPolicy(policy, mode='table', table_bins=bins)
    observations = random_observations(policy, 8, spread=1.0)
    fine_phases = np.linspace(0.0, 1.0, 4001)
    gains, offsets = exact.gains(fine_phases)
    for index, observation in enumerate(observations):
        # Linear interpolation error is at most (bin width)^2 / 8 * max |d2a/dphase2|.
        unclipped = gains @ exact.normalize(observation) + offsets
        curvature = np.abs(np.diff(unclipped, n=2, axis=0)).max() * (len(fine_phases) - 1) ** 2
        bound = 1.2 * curvature / (8 * bins ** 2) + 1e-12
        for phase in np.linspace(0.0, 1.0, 37, endpoint=False) + 0.013 * index:
            error = np.abs(table.act(observation, phase) - exact.act(observation, phase)).max()
            assert error <= bound


def test_lpn_table_is_exact_on_bins_and_wraps():
    policy = example('lpn', weight_scale=1.0)
    exact = LpnPolicy(policy, mode='exact')
    table = LpnPolicy(policy, mode='table', table_bins=50)
    observation = random_observations(policy, 1)[0]
    for phase in (0.0, 0.02, 0.5, 0.98):
        np.testing.assert_allclose(table.act(observation, phase), exact.act(observation, phase),
                                   rtol=1e-12, atol=1e-12)
    # Between the last bin and phase 1 the table interpolates towards bin 0.
    halfway = 0.5 * (exact.act(observation, 0.98) + exact.act(observation, 0.0))
    np.testing.assert_allclose(table.act(observation, 0.99), halfway, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(table.act(observation, 1.25), table.act(observation, 0.25))
    np.testing.assert_allclose(table.act(observation, -0.75), table.act(observation, 0.25))


@pytest.mark.parametrize('kind, mode', [('lpn', 'exact'), ('lpn', 'table'), ('mlp', None)])
def test_batch_equals_single(kind, mode):
    policy = example(kind)
    runtime = make_runtime(policy, lpn_mode=mode or 'table')
    observations = random_observations(policy, 6)
    phases = np.linspace(0.0, 0.9, 6)
    batch = runtime.act(observations, phases)
    assert batch.shape == (6, len(JOINTS))
    for observation, phase, action in zip(observations, phases, batch):
        np.testing.assert_allclose(action, runtime.act(observation, phase), rtol=1e-12,
                                   atol=1e-12)
    shared_phase = runtime.act(observations, 0.4)
    np.testing.assert_allclose(shared_phase[2], runtime.act(observations[2], 0.4), rtol=1e-12,
                               atol=1e-12)


def test_observation_and_action_clipping():
    policy = example('lpn', weight_scale=50.0)
    runtime = LpnPolicy(policy, mode='exact')
    huge = np.full(policy.metadata.observation_size, 1e6)
    np.testing.assert_array_equal(runtime.normalize(huge), policy.metadata.observation_clip)
    action = runtime.act(random_observations(policy, 1, spread=100.0)[0], 0.3)
    assert np.abs(action).max() <= policy.metadata.action_clip
    assert np.isclose(np.abs(action).max(), policy.metadata.action_clip)


def test_joint_targets_use_scale_and_default_pose():
    policy = example('mlp')
    runtime = make_runtime(policy)
    action = np.array([1.0, -2.0, 0.0, 0.5])
    np.testing.assert_allclose(runtime.joint_targets(action),
                               policy.metadata.default_pose + 0.25 * action)


def test_runtime_rejects_wrong_inputs():
    policy = example('lpn')
    with pytest.raises(ValueError, match='mode'):
        LpnPolicy(policy, mode='spline')
    with pytest.raises(ValueError, match='mlp policy'):
        MlpPolicy(policy)
    with pytest.raises(ValueError, match='entries'):
        make_runtime(policy).act(np.zeros(3), 0.0)
