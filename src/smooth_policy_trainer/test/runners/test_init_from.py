"""A second training stage: a run started from a checkpoint or an exported policy."""

from lpn_controller.policy_format import load_policy, save_policy
import numpy as np
import pytest
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.runners.checkpoint import CheckpointError
from smooth_policy_trainer.runners.ppo_runner import Runner
import torch

TINY = ['env.clip=trot', 'env.num_envs=4', 'env.episode_length_s=0.3', 'ppo.num_steps=8',
        'ppo.num_minibatches=2', 'ppo.num_learning_epochs=2', 'policy.lpn_hidden_sizes=[16]',
        'policy.rank=4', 'critic.hidden_sizes=[32]', 'run.eval_every=0',
        'run.checkpoint_every=1', 'run.torch_threads=1']


def tiny_runner(run_dir, *overrides):
    config = load_config(None, TINY + [f'run.log_dir={run_dir.parent}', *overrides])
    return Runner(config, run_dir, progress=False)


@pytest.fixture(scope='module')
def first_stage(tmp_path_factory):
    """Two iterations of a first stage: its run directory and its exported policy."""
    run_dir = tmp_path_factory.mktemp('stage') / 'first'
    runner = tiny_runner(run_dir, 'run.iterations=2')
    try:
        assert runner.train() == 'finished'
        policy = build_policy(runner.ppo.actor, runner.normalizer, runner.env.policy_metadata(),
                              config_to_dict(runner.config))
        policy_dir = save_policy(run_dir / 'policy', policy.metadata, policy.weights)
        return run_dir, policy_dir, runner.state()
    finally:
        runner.close()


def parameters(module):
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def test_a_checkpoint_starts_the_actor_critic_and_normaliser(first_stage, tmp_path):
    run_dir, _, state = first_stage
    runner = tiny_runner(tmp_path / 'second', f'run.init_from={run_dir}', 'run.seed=5',
                         'env.domain_randomization.observation_noise.enabled=true')
    try:
        for name, value in parameters(runner.ppo.actor).items():
            assert torch.equal(value, state['ppo']['actor'][name]), name
        for name, value in parameters(runner.ppo.critic).items():
            assert torch.equal(value, state['ppo']['critic'][name]), name
        assert torch.equal(runner.normalizer.mean, state['normalizer']['mean'])
        assert runner.iteration == 0   # a new run: its own count, optimiser and streams
    finally:
        runner.close()


def test_an_exported_policy_starts_the_actor_and_the_critic_warms_up(first_stage, tmp_path):
    _, policy_dir, state = first_stage
    runner = tiny_runner(tmp_path / 'second', f'run.init_from={policy_dir}',
                         'run.critic_warmup_iterations=2', 'run.iterations=3',
                         'policy.initial_std=0.1', 'normalizer.update=false')
    try:
        exported = load_policy(policy_dir)
        actor = parameters(runner.ppo.actor)
        for name, value in exported.weights.items():
            assert np.allclose(actor[name].numpy(), value, rtol=1e-6, atol=1e-7), name
        assert torch.allclose(actor['log_std'], torch.full_like(actor['log_std'], np.log(0.1)))
        assert np.allclose(runner.normalizer.std.numpy(), exported.metadata.observation_std,
                           rtol=1e-9)
        assert np.allclose(runner.normalizer.mean.numpy(), exported.metadata.observation_mean)
        critic = parameters(runner.ppo.critic)
        mean, std = runner.normalizer.mean.clone(), runner.normalizer.std.clone()
        for _ in range(2):                   # the warm-up: only the critic learns
            runner.step()
            assert runner.ppo.learning_rate == runner.config.ppo.learning_rate
        held = parameters(runner.ppo.actor)
        assert all(torch.equal(held[name], actor[name]) for name in actor)
        assert torch.equal(runner.normalizer.mean, mean)   # normalizer.update=false holds them
        assert torch.equal(runner.normalizer.std, std)
        assert any(not torch.equal(value, critic[name])
                   for name, value in parameters(runner.ppo.critic).items())
        runner.step()                        # then the actor learns too
        assert any(not torch.equal(value, actor[name])
                   for name, value in parameters(runner.ppo.actor).items())
    finally:
        runner.close()


@pytest.mark.parametrize('override, message', [
    ('policy.kind=mlp penalty.enabled=false', 'this run trains a mlp'),
    ('env.observe_heading=true', r'observation\.terms'),
    ('env.action_scale=0.3', r'action\.scale'),
])
def test_another_interface_is_refused_naming_what_differs(first_stage, tmp_path, override,
                                                          message):
    run_dir, policy_dir, _ = first_stage
    for source in (run_dir, policy_dir):
        with pytest.raises(CheckpointError, match=message):
            tiny_runner(tmp_path / 'second', f'run.init_from={source}', *override.split())


@pytest.mark.parametrize('actor', [['policy.rank=4'], ['policy.rank=null'],
                                   ['policy.kind=mlp', 'penalty.enabled=false',
                                    'policy.mlp_hidden_sizes=[16]']])
def test_a_stage_may_add_observation_terms_and_starts_as_the_policy_it_loads(tmp_path, actor):
    hop = ['env.clip=hop', *actor]
    first = tiny_runner(tmp_path / 'first', *hop, 'run.iterations=1')
    try:
        assert first.train() == 'finished'
        policy = build_policy(first.ppo.actor, first.normalizer, first.env.policy_metadata(),
                              config_to_dict(first.config))
        policy_dir = save_policy(tmp_path / 'policy', policy.metadata, policy.weights)
        old_actor, old_size = first.ppo.actor, first.env.observation_size
    finally:
        first.close()
    second = tiny_runner(tmp_path / 'second', *hop, f'run.init_from={policy_dir}',
                         'env.observe_position_scale=10.0')
    try:
        assert second.env.observation_size == old_size + 2
        assert np.allclose(second.normalizer.mean.numpy()[old_size:], 0.0)
        assert np.allclose(second.normalizer.std.numpy()[old_size:], 1.0)
        generator = torch.Generator().manual_seed(0)
        states = torch.randn((5, old_size + 2), generator=generator)
        phases = torch.rand(5, generator=generator)
        with torch.no_grad():
            torch.testing.assert_close(second.ppo.actor.mean(states, phases),
                                       old_actor.mean(states[:, :old_size], phases))
    finally:
        second.close()
    with pytest.raises(CheckpointError, match='observation'):   # only appended, only exports
        tiny_runner(tmp_path / 'third', *hop, 'run.init_from=' + str(tmp_path / 'first'),
                    'env.observe_position_scale=10.0')
