"""The reference warm start: a fresh policy that commands the clip's replay, deterministically."""

import numpy as np
import pytest
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.networks.policies import make_actor
from smooth_policy_trainer.runners.ppo_runner import Runner
from smooth_policy_trainer.runners.warm_start import (fit_to_reference, reference_actions,
                                                      warm_start_from_clip)
import torch


@pytest.fixture(scope='module')
def hop_env():
    env = ImitationEnv(EnvConfig(clip='hop', num_envs=1, physics='fast'))
    yield env
    env.close()


def test_reference_actions_command_the_clip_one_lead_ahead(hop_env):
    env = hop_env
    phases = np.array([0.0, 0.3, 0.99])
    actions = reference_actions(env.clip, env.default_pose, 0.5, env.control_dt, phases)
    targets = env.default_pose + 0.5 * actions
    ahead = np.mod(phases + env.control_dt / env.clip.phase_period_s, 1.0)
    np.testing.assert_allclose(targets, env.clip.sample(ahead).joint_positions, atol=1e-12)
    assert ahead[2] < phases[2]   # wrapped into the next cycle


def small_lpn(env, seed=0):
    torch.manual_seed(seed)
    return make_actor('lpn', env.observation_size, env.num_actions, hidden_sizes=(32, 32),
                      rank=4, initial_std=0.25)


def test_the_fitted_lpn_offset_is_the_replay_and_its_gain_stays_small(hop_env):
    actor = small_lpn(hop_env)
    log_std = actor.log_std.detach().clone()
    before, after = warm_start_from_clip(actor, hop_env, steps=300, samples=100)
    assert after < 0.1 * before          # the hop's take-off and landing, not just its mean
    phases = np.arange(100) / 100
    targets = reference_actions(hop_env.clip, hop_env.default_pose,
                                hop_env.config.action_scale, hop_env.control_dt, phases)
    with torch.no_grad():
        offset = actor.factors(torch.as_tensor(phases, dtype=torch.float32))[2].numpy()
        gain = actor.jacobian_norm_squared(torch.linspace(0, 1, 20))
    assert np.sqrt(np.mean((offset - targets) ** 2)) == pytest.approx(after, rel=1e-4)
    assert float(gain.max()) < 0.05      # feedback is left for PPO (and the penalty) to shape
    assert torch.equal(actor.log_std.detach(), log_std)   # exploration noise untouched


def test_the_fit_draws_no_random_numbers_and_repeats_exactly(hop_env):
    phases = np.arange(50) / 50
    targets = np.sin(2 * np.pi * phases)[:, None] * np.ones(hop_env.num_actions)
    first, second = small_lpn(hop_env), small_lpn(hop_env)
    state = torch.get_rng_state()
    fit_to_reference(first, phases, targets, steps=20)
    assert torch.equal(torch.get_rng_state(), state)
    fit_to_reference(second, phases, targets, steps=20)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_runner_warm_starts_fresh_runs_only(tmp_path):
    overrides = ['env.clip=hop', 'env.num_envs=2', 'env.physics=fast',
                 'policy.lpn_hidden_sizes=[16]', 'policy.rank=4', 'critic.hidden_sizes=[32]',
                 f'run.log_dir={tmp_path}', 'run.torch_threads=1']
    plain = Runner(load_config(None, overrides), tmp_path / 'plain', progress=False)
    warm = Runner(load_config(None, overrides + ['policy.reference_warm_start=true']),
                  tmp_path / 'warm', progress=False)
    try:
        phases = torch.linspace(0, 0.99, 40)
        targets = torch.as_tensor(reference_actions(
            warm.env.clip, warm.env.default_pose, warm.env.config.action_scale,
            warm.env.control_dt, phases.numpy()), dtype=torch.float32)
        zero = torch.zeros(40, warm.env.observation_size)

        def error(runner):
            with torch.no_grad():
                return float((runner.ppo.actor.mean(zero, phases) - targets).pow(2).mean().sqrt())
        assert error(warm) < 0.2 * error(plain)
    finally:
        plain.close()
        warm.close()
