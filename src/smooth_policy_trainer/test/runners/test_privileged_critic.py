"""An asymmetric actor-critic: the critic sees privileged inputs, the actor and export do not."""

from types import SimpleNamespace

import numpy as np
import pytest
from smooth_policy_trainer.config.reader import config_to_dict, ConfigError
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.envs.privileged_inputs import privileged_inputs, privileged_size
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.runners.ppo_runner import Runner
import torch


def yaw_to_quaternion(yaw):
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])   # w, x, y, z


TINY = ['env.clip=hop', 'env.num_envs=3', 'env.episode_length_s=0.3', 'ppo.num_steps=6',
        'ppo.num_minibatches=2', 'ppo.num_learning_epochs=1', 'policy.lpn_hidden_sizes=[16]',
        'policy.rank=4', 'critic.hidden_sizes=[32]', 'run.eval_every=0',
        'run.checkpoint_every=1', 'run.torch_threads=1']


def test_the_root_position_error_is_read_in_the_references_heading_frame():
    # The clip faces +y (yaw 90 deg); the base stands 0.3 m further along +y and 0.1 m to -x:
    # 0.3 m ahead of the reference and 0.1 m to its right.
    state = SimpleNamespace(base_position=np.array([[-0.1, 1.3, 0.5], [2.0, 0.0, 0.5]]))
    reference = SimpleNamespace(
        root_position=np.array([[0.0, 1.0, 0.5], [2.0, 0.0, 0.5]]),
        root_orientation=np.stack([yaw_to_quaternion(np.pi / 2), yaw_to_quaternion(0.0)]))
    inputs = privileged_inputs(('root_position_error',), state, reference)
    assert inputs.shape == (2, 2) == (2, privileged_size(('root_position_error',)))
    np.testing.assert_allclose(inputs, [[0.3, 0.1], [0.0, 0.0]], atol=1e-6)
    assert privileged_inputs((), state, reference).shape == (2, 0)


def test_an_unknown_privileged_input_is_named():
    with pytest.raises(ConfigError, match="critic.privileged_inputs': must list distinct names "
                                          'of root_position_error'):
        load_config(None, TINY + ['critic.privileged_inputs=[base_mass]'])


def test_the_critic_values_the_privileged_inputs_and_the_actor_never_sees_them(tmp_path):
    plain = Runner(load_config(None, TINY), tmp_path / 'plain', progress=False)
    config = load_config(None, TINY + ['critic.privileged_inputs=[root_position_error]'])
    runner = Runner(config, tmp_path / 'privileged', progress=False)
    try:
        size = runner.env.observation_size
        first_layer = next(runner.ppo.critic.parameters())
        plain_layer = next(plain.ppo.critic.parameters())
        assert first_layer.shape[1] == plain_layer.shape[1] + 2
        runner.rollout()
        storage = runner.storage
        # The critic's inputs are the actor's states with the root offset after them.
        torch.testing.assert_close(storage.critic_states[..., :size], storage.states)
        offsets = storage.critic_states[..., size:]
        assert offsets.shape == (6, 3, 2) and torch.isfinite(offsets).all()
        assert offsets.abs().max() < 1.0   # 0.3 s episodes stay near the clip's root
        assert np.isfinite(runner.ppo.update(storage)['value_loss'])
        # The exported policy is the actor's alone: the same interface as without the critic's
        # inputs.
        policy = build_policy(runner.ppo.actor, runner.normalizer, runner.env.policy_metadata(),
                              config_to_dict(runner.config))
        reference = build_policy(plain.ppo.actor, plain.normalizer, plain.env.policy_metadata(),
                                 config_to_dict(plain.config))
        assert policy.metadata.observation_terms == reference.metadata.observation_terms
        assert {name: value.shape for name, value in policy.weights.items()} == \
            {name: value.shape for name, value in reference.weights.items()}
    finally:
        runner.close()
        plain.close()


def test_a_privileged_run_resumes_exactly(tmp_path):
    overrides = TINY + ['critic.privileged_inputs=[root_position_error]',
                        'run.iterations=2']
    runner = Runner(load_config(None, overrides), tmp_path / 'run', progress=False)
    try:
        assert runner.train() == 'finished'
        critic = {k: v.clone() for k, v in runner.ppo.critic.state_dict().items()}
    finally:
        runner.close()
    resumed = Runner.resume(tmp_path / 'run')
    try:
        assert resumed.ppo.critic.state_dict().keys() == critic.keys()
        for name, value in resumed.ppo.critic.state_dict().items():
            torch.testing.assert_close(value, critic[name])
    finally:
        resumed.close()
