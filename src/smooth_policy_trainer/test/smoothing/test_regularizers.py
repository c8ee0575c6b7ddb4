"""The smoothness baselines against direct computations on tiny, hand-made batches."""

from dataclasses import replace

from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.runtime import make_runtime
import numpy as np
import pytest
from smooth_policy_trainer.algorithms.storage import Batch
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import ConfigError
from smooth_policy_trainer.config.train_config import config_from_dict
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.networks.export import actor_weights, build_policy
from smooth_policy_trainer.networks.normalizer import RunningNormalizer
from smooth_policy_trainer.networks.policies import make_actor
from smooth_policy_trainer.smoothing.regularizers import (CAPS, caps_spatial_loss,
                                                          caps_temporal_loss, GradientPenalty)
import torch

OBS, ACT, BATCH = 5, 3, 7


def make_batch(seed=0, valid=None):
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.randn(*shape, generator=generator)
    valid = torch.ones(BATCH) if valid is None else valid
    return Batch(states=rand(BATCH, OBS), phases=torch.rand(BATCH, generator=generator),
                 next_states=rand(BATCH, OBS), next_phases=torch.rand(BATCH, generator=generator),
                 next_valid=valid, actions=rand(BATCH, ACT), log_probs=rand(BATCH),
                 values=rand(BATCH), returns=rand(BATCH), advantages=rand(BATCH),
                 means=rand(BATCH, ACT), stds=torch.ones(BATCH, ACT),
                 critic_states=torch.zeros(BATCH, OBS))   # the critic's; no regulariser reads it


def test_caps_distances_by_hand():
    actions = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    next_actions = torch.tensor([[1.0, 1.0], [1.0, 3.0], [0.0, 0.0]])
    # Per pair, squared distances averaged over the two action dimensions: 1, 2, 2.
    assert caps_temporal_loss(actions, next_actions).item() == pytest.approx(5 / 3)
    # The pair that straddles an episode end (the last) does not count.
    valid = torch.tensor([1.0, 1.0, 0.0])
    assert caps_temporal_loss(actions, next_actions, valid).item() == pytest.approx(1.5)
    assert caps_temporal_loss(actions, next_actions, torch.zeros(3)).item() == 0.0
    assert caps_spatial_loss(actions, next_actions).item() == pytest.approx(5 / 3)


def test_caps_regulariser_matches_a_direct_computation():
    torch.manual_seed(0)
    actor = make_actor('mlp', OBS, ACT, hidden_sizes=(8,), phase_harmonics=1)
    valid = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    batch = make_batch(valid=valid)
    loss, logs = CAPS(0.1, 0.5, 0.2, torch.Generator().manual_seed(3))(actor, batch)

    noise = torch.randn(BATCH, OBS, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        now = actor.mean(batch.states, batch.phases)
        following = actor.mean(batch.next_states, batch.next_phases)
        near = actor.mean(batch.states + 0.2 * noise, batch.phases)
    temporal = sum(((now[i] - following[i]) ** 2).mean() for i in range(BATCH) if valid[i])
    temporal = temporal / valid.sum()
    spatial = ((now - near) ** 2).mean()
    assert logs['caps_temporal'] == pytest.approx(temporal.item(), rel=1e-5)
    assert logs['caps_spatial'] == pytest.approx(spatial.item(), rel=1e-5)
    assert loss.item() == pytest.approx(0.1 * temporal.item() + 0.5 * spatial.item(), rel=1e-5)
    loss.backward()
    assert actor.output.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('kind', ['mlp', 'lpn'])
def test_gradient_penalty_matches_the_jacobian_form(kind):
    # For a Gaussian with state-independent std: grad_s log pi(a|s) = J^T (a - mu) / sigma^2.
    torch.manual_seed(1)
    actor = make_actor(kind, OBS, ACT, hidden_sizes=(8,), phase_harmonics=1, initial_std=0.3)
    batch = make_batch(seed=2)
    loss, logs = GradientPenalty(weight=0.002)(actor, batch)

    expected = []
    for state, phase, action in zip(batch.states, batch.phases, batch.actions):
        jacobian = torch.autograd.functional.jacobian(
            lambda s: actor.mean(s[None], phase[None])[0], state)
        with torch.no_grad():
            mean = actor.mean(state[None], phase[None])[0]
        gradient = jacobian.T @ ((action - mean) / 0.3 ** 2)
        expected.append(gradient.pow(2).sum())
    expected = torch.stack(expected).mean().item()
    assert logs['log_prob_gradient_norm_sq'] == pytest.approx(expected, rel=1e-4)
    assert loss.item() == pytest.approx(0.002 * expected, rel=1e-4)
    loss.backward()  # the double backward reaches the weights
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in actor.parameters())


@pytest.mark.parametrize('lambda_sn,output', [(1.0, False), (0.5, True)])
def test_spectral_norm_holds_every_layer_at_lambda(lambda_sn, output):
    torch.manual_seed(0)
    actor = make_actor('mlp', OBS, ACT, hidden_sizes=(16, 16), phase_harmonics=1,
                       spectral_norm=lambda_sn, spectral_norm_output=output)
    optimizer = torch.optim.Adam(actor.parameters(), lr=1e-2)
    states, phases = torch.randn(64, OBS), torch.rand(64)
    for _ in range(30):  # training steps move W; the power iteration follows
        loss = (actor.mean(states, phases) - 1.0).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    actor.eval()
    with torch.no_grad():
        for layer in actor.hidden:
            norm = torch.linalg.matrix_norm(layer.weight, 2).item()
            assert norm == pytest.approx(lambda_sn, rel=0.05)
        output_norm = torch.linalg.matrix_norm(actor.output.weight, 2).item()
    if output:
        assert output_norm == pytest.approx(lambda_sn, rel=0.05)
    else:
        assert not hasattr(actor.output, 'parametrizations')


def test_a_spectrally_normalised_actor_exports_its_normalised_weights():
    torch.manual_seed(0)
    actor = make_actor('mlp', OBS, ACT, hidden_sizes=(16,), phase_harmonics=1,
                       spectral_norm=1.0, spectral_norm_output=True)
    weights = actor_weights(actor)
    assert sorted(weights) == ['hidden.0.bias', 'hidden.0.weight', 'output.bias',
                               'output.weight']
    assert np.linalg.norm(weights['hidden.0.weight'], 2) == pytest.approx(1.0, rel=0.05)
    assert actor.training  # export leaves the mode as it found it


def test_env_action_rate_reward_and_low_pass_filter():
    base = EnvConfig(clip='trot', num_envs=2, seed=4)
    plain = ImitationEnv(base)
    shaped = ImitationEnv(replace(base, action_rate_weight=0.1, action_filter_alpha=1.0))
    filtered = ImitationEnv(replace(base, action_filter_alpha=0.25))
    try:
        for env in (plain, shaped, filtered):
            env.reset()
        actions = [np.full((2, plain.num_actions), 0.2), np.full((2, plain.num_actions), -0.1)]
        previous = np.zeros((2, plain.num_actions))
        for action in actions:
            reference = plain.step(action)
            result = shaped.step(action)
            penalty = 0.1 * plain.control_dt * ((action - previous) ** 2).sum(axis=1)
            np.testing.assert_allclose(result.rewards, reference.rewards - penalty)
            np.testing.assert_allclose(result.reward_terms['action_rate'], -penalty)
            previous = action
        filtered.step(actions[0])
        np.testing.assert_allclose(filtered.actions.commanded_action, 0.25 * actions[0])
        filtered.step(actions[1])
        np.testing.assert_allclose(filtered.actions.commanded_action,
                                   0.25 * actions[1] + 0.75 * 0.25 * actions[0])
        # The observation's previous action is the policy's own output, unfiltered.
        np.testing.assert_allclose(filtered.actions.previous_action, actions[1])
        assert filtered.policy_metadata()['action_filter_alpha'] == 0.25
    finally:
        for env in (plain, shaped, filtered):
            env.close()


def test_filtered_policy_runs_behind_the_same_filter_in_the_runtime():
    torch.manual_seed(0)
    env = ImitationEnv(EnvConfig(clip='trot', num_envs=1, action_filter_alpha=0.5))
    try:
        actor = make_actor('mlp', env.observation_size, env.num_actions, hidden_sizes=(8,))
        policy = build_policy(actor, RunningNormalizer(env.observation_size),
                              env.policy_metadata(), {})
    finally:
        env.close()
    assert policy.metadata.action_filter_alpha == 0.5
    runtime = make_runtime(ExportedPolicy(policy.metadata, policy.weights))
    action = np.ones(runtime.num_actions)
    np.testing.assert_allclose(runtime.filter_action(action, np.zeros_like(action)), 0.5)


@pytest.mark.parametrize('data,key', [
    ({'policy': {'kind': 'lpn', 'spectral_norm': True}}, 'policy.spectral_norm'),
    ({'policy': {'kind': 'mlp', 'spectral_norm': True, 'lambda_sn': 0.0}}, 'policy.lambda_sn'),
    ({'env': {'action_filter_alpha': 0.0}}, 'env.action_filter_alpha'),
    ({'env': {'action_filter_alpha': 1.5}}, 'env.action_filter_alpha'),
    ({'env': {'action_rate_weight': -1.0}}, 'env.action_rate_weight'),
    ({'caps': {'sigma': -0.1}}, 'caps.sigma'),
    ({'gradient_penalty': {'weight': -1.0}}, 'gradient_penalty.weight'),
])
def test_bad_baseline_settings_name_the_key(data, key):
    data = {'penalty': {'enabled': False}, **data}
    with pytest.raises(ConfigError, match=key.replace('.', r'\.')):
        config_from_dict(data)
