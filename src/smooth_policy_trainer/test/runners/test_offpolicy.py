"""The off-policy learners: replay, TD3/SAC on a toy task, Gym adapter, config, exact resume."""

import json
from pathlib import Path
import signal

from lpn_controller.policy_format import load_policy
from lpn_controller.runtime import make_runtime
import numpy as np
import pytest
from smooth_policy_trainer.algorithms.replay import ReplayBuffer, Transitions
from smooth_policy_trainer.algorithms.sac import SAC
from smooth_policy_trainer.algorithms.td3 import TD3
from smooth_policy_trainer.cli import train_offpolicy
from smooth_policy_trainer.config.offpolicy_config import (LearnerConfig, load_offpolicy_config,
                                                           offpolicy_config_dirs, OffPolicyConfig,
                                                           PaveConfig, SACConfig, TD3Config)
from smooth_policy_trainer.config.reader import config_to_dict, ConfigError
from smooth_policy_trainer.config.train_config import TrainConfig
from smooth_policy_trainer.envs.gym_tasks import GymVectorEnv
from smooth_policy_trainer.networks.actor_critic import (ActionBox, DeterministicActor,
                                                         GaussianActor, TwinQ)
from smooth_policy_trainer.runners.checkpoint import checkpoint_path, latest_checkpoint
from smooth_policy_trainer.runners.offpolicy_runner import OffPolicyRunner
from smooth_policy_trainer.smoothing.pave import PAVE
import torch
import yaml

TINY_GYM = ['gym.env_id=Pendulum-v1', 'learner.batch_size=8', 'learner.learning_starts=20',
            'actor.hidden_sizes=[16]', 'critic.hidden_sizes=[16]', 'run.eval_every=0',
            'run.checkpoint_every=20', 'run.log_every=10', 'run.diagnostic_samples=16',
            'run.eval_episodes=1', 'pave.enabled=true', 'caps.enabled=true']
TINY_IMITATION = ['task=imitation', 'env.clip=trot', 'env.num_envs=2', 'env.action_clip=2.0',
                  'env.episode_length_s=0.3', 'learner.normalize_observations=true',
                  'actor.output=linear', 'learner.updates_per_step=2', 'run.eval_seconds=0.4',
                  *TINY_GYM[1:]]


def tiny(tmp_path, base, *overrides):
    return load_offpolicy_config(None, base + [f'run.log_dir={tmp_path}', *overrides])


def learning_state(runner):
    state = runner.state()
    return {key: state[key] for key in ('iteration', 'learner', 'replay', 'normalizer', 'rng',
                                        'env', 'observations', 'phases')}


def train(config, run_dir, sabotage=None, total_steps=None):
    runner = OffPolicyRunner(config, run_dir, progress=False) if total_steps is None else \
        OffPolicyRunner.resume(run_dir, total_steps, progress=False)
    if sabotage:
        sabotage(runner)
    try:
        return runner.train(), learning_state(runner)
    finally:
        runner.close()


# -- replay ---------------------------------------------------------------------------------------

def transitions(first, count, observation_size=2):
    index = torch.arange(first, first + count, dtype=torch.float32)
    return Transitions(index[:, None].repeat(1, observation_size), index / 100, -index[:, None],
                       index, index[:, None].repeat(1, observation_size) + 0.5, index / 100,
                       (index % 2 == 0).float(), (index % 3 != 0).float())


def test_the_replay_buffer_wraps_around_and_keeps_transitions_whole():
    buffer = ReplayBuffer(5, 2, 1)
    buffer.add(transitions(0, 3))
    assert (len(buffer), buffer.position) == (3, 3)
    buffer.add(transitions(3, 4))      # 3, 4 fill the end; 5, 6 overwrite 0, 1
    assert (len(buffer), buffer.position) == (5, 2)
    assert buffer.storage.rewards.tolist() == [5.0, 6.0, 2.0, 3.0, 4.0]
    batch = buffer.sample(200, torch.Generator().manual_seed(0))
    index = batch.rewards
    assert set(index.tolist()) == {2.0, 3.0, 4.0, 5.0, 6.0}
    assert torch.equal(batch.observations[:, 0], index)
    assert torch.equal(batch.next_observations[:, 1], index + 0.5)
    assert torch.equal(batch.actions[:, 0], -index)
    assert torch.equal(batch.terminated, (index % 2 == 0).float())
    assert torch.equal(batch.next_valid, (index % 3 != 0).float())
    with pytest.raises(ValueError, match='transitions.actions: shape'):
        buffer.add(transitions(0, 2)._replace(actions=torch.zeros(2, 3)))
    with pytest.raises(ValueError, match='empty'):
        ReplayBuffer(3, 2, 1).sample(1)


def test_the_replay_buffer_round_trips_through_its_state(assert_same):
    buffer = ReplayBuffer(6, 2, 1)
    buffer.add(transitions(0, 4))
    copy = ReplayBuffer(6, 2, 1)
    copy.load_state_dict(buffer.state_dict())
    assert_same(copy.state_dict(), buffer.state_dict())
    first = buffer.sample(16, torch.Generator().manual_seed(4))
    second = copy.sample(16, torch.Generator().manual_seed(4))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    buffer.add(transitions(4, 3))
    copy.add(transitions(4, 3))        # the write position came back too
    assert_same(copy.state_dict(), buffer.state_dict())
    with pytest.raises(ValueError, match='capacity'):
        ReplayBuffer(7, 2, 1).load_state_dict(buffer.state_dict())


# -- learning a toy task --------------------------------------------------------------------------

def bandit_learner(algorithm, pave, output='tanh'):
    """Return a learner for a contextual bandit: s ~ U(-1, 1), reward -(a - s / 2)^2."""
    torch.manual_seed(0)
    box = ActionBox([-1.0], [1.0])
    learner_config = LearnerConfig(actor_learning_rate=3e-3, critic_learning_rate=3e-3)
    generators = {name: torch.Generator().manual_seed(i)
                  for i, name in enumerate(('target', 'pave', 'caps'))}
    critic = TwinQ(1, 1, (32, 32), 'silu', 0)
    regulariser = PAVE(PaveConfig(enabled=True), generators['pave']) if pave else None
    if algorithm == 'td3':
        actor = DeterministicActor(1, box, (32, 32), 'silu', 0, output)
        return TD3(actor, critic, box, learner_config, TD3Config(), regulariser,
                   generators=generators)
    actor = GaussianActor(1, box, (32, 32), 'silu', 0, output)
    return SAC(actor, critic, box, learner_config, SACConfig(alpha=0.01, autotune=False),
               regulariser, generators=generators)


@pytest.mark.parametrize('algorithm, pave, output', [
    ('td3', False, 'tanh'), ('td3', True, 'tanh'), ('sac', False, 'tanh'),
    ('td3', False, 'linear'), ('sac', False, 'linear')])   # linear: the exportable actor
def test_the_learners_solve_a_contextual_bandit(algorithm, pave, output):
    torch.set_num_threads(1)
    learner = bandit_learner(algorithm, pave, output)
    generator = torch.Generator().manual_seed(1)
    states = torch.rand(1000, 1, generator=generator) * 2 - 1
    actions = learner.box.uniform(1000, generator)
    buffer = ReplayBuffer(1000, 1, 1)
    buffer.add(Transitions(states, torch.zeros(1000), actions,
                           -(actions[:, 0] - states[:, 0] / 2) ** 2, states, torch.zeros(1000),
                           torch.ones(1000), torch.zeros(1000)))
    for _ in range(600):
        learner.update(buffer.sample(64, generator))
    probe = torch.linspace(-1, 1, 21)[:, None]
    error = (learner.act(probe, torch.zeros(21)) - probe / 2).abs().max().item()
    assert error < 0.1, f'{algorithm} (pave {pave}, {output}) is {error:.3f} off the best action'


def test_the_linear_gaussian_actor_samples_with_the_gaussian_density():
    # No tanh: a = u ~ N(mu, sigma), and log pi(a) is the Gaussian's, without a Jacobian term.
    torch.manual_seed(0)
    actor = GaussianActor(3, ActionBox([-1.0, -2.0], [1.0, 2.0]), (8,), 'silu', 0, 'linear')
    states = torch.randn(5, 3)
    actions, log_probs = actor.sample(states, torch.zeros(5), torch.Generator().manual_seed(2))
    mean, std = actor.distribution(states, torch.zeros(5))
    expected = torch.distributions.Normal(mean, std).log_prob(actions).sum(-1)
    torch.testing.assert_close(log_probs, expected)
    torch.testing.assert_close(actor(states, torch.zeros(5)), mean)


# -- the Gym adapter ------------------------------------------------------------------------------

def test_gym_episodes_time_out_with_their_final_observation():
    env = GymVectorEnv('Pendulum-v1', 2, seed=3)
    observations, phases = env.reset()
    assert observations.shape == (2, 3) and env.control_rate_hz == pytest.approx(20.0)
    assert phases.tolist() == [0.0, 0.0]
    for t in range(200):
        step = env.step(np.zeros((2, 1)))
    assert step.truncated.all() and not step.terminated.any() and step.next_valid.all()
    assert len(step.finished_returns) == 2 and step.finished_lengths.tolist() == [200, 200]
    assert not np.allclose(step.observations, step.next_observations)   # reset vs final
    env.close()
    with pytest.raises(ValueError, match='Discrete action space'):
        GymVectorEnv('CartPole-v1')
    with pytest.raises(ValueError, match="gym task 'NoSuchTask-v0'"):
        GymVectorEnv('NoSuchTask-v0')


@pytest.mark.parametrize('env_id', ['Pendulum-v1', 'Hopper-v5'])
def test_gym_tasks_restore_their_state_exactly(env_id):
    env = GymVectorEnv(env_id, 2, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    actions = rng.uniform(env.action_low, env.action_high, (80, 2, env.num_actions))
    for a in actions[:20]:
        env.step(a)
    saved = env.get_state()
    first = [env.step(a) for a in actions[20:]]
    assert sum(len(step.finished_returns) for step in first) > 0 or env_id == 'Pendulum-v1'
    env.set_state(saved)
    again = [env.step(a) for a in actions[20:]]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.rewards, b.rewards)
    env.close()


# -- configuration --------------------------------------------------------------------------------

def key_paths(mapping, prefix=''):
    paths = set()
    for key, value in mapping.items():
        path = f'{prefix}{key}'
        # An empty mapping (env.joint_remap: {}) is a key written down too.
        paths |= (key_paths(value, path + '.') if isinstance(value, dict) and value
                  else {path})
    return paths


def test_the_shipped_offpolicy_configs_load_and_write_every_key_down():
    shipped = sorted(path for folder in offpolicy_config_dirs() for path in folder.glob('*.yaml'))
    assert {path.stem for path in shipped} >= {'td3_pendulum', 'td3_pave_hopper',
                                               'td3_pave_trot_arm_wave', 'sac_pendulum'}
    every_key = key_paths(config_to_dict(OffPolicyConfig()))
    for path in shipped:
        config = load_offpolicy_config(path.stem)
        assert key_paths(yaml.safe_load(path.read_text())) == every_key, path.name
        learner = config.learner   # PAVE's training settings (METHODS.md 7)
        assert (learner.actor_learning_rate, learner.critic_learning_rate, learner.batch_size,
                learner.learning_starts, learner.tau) == (1e-3, 1e-3, 256, 10_000, 0.005)
        assert (config.actor.activation, config.critic.activation) == ('silu', 'silu')
        assert config.pave == PaveConfig(enabled=config.pave.enabled)   # published defaults
        assert config.caps == TrainConfig().caps
    trot = load_offpolicy_config('td3_pave_trot_arm_wave')
    assert trot.task == 'imitation' and trot.actor.output == 'linear' and trot.pave.enabled


@pytest.mark.parametrize('assignment, key, problem', [
    ('learner.learnin_starts=5', 'learner.learnin_starts', 'unknown key'),
    ('learner.batch_size=many', 'learner.batch_size', 'expected an integer'),
    ('learner.algorithm=ppo', 'learner.algorithm', 'must be one of td3, sac'),
    ('gym.env_id=NoSuchTask-v0', 'gym.env_id', "unknown Gymnasium task 'NoSuchTask-v0'"),
    ('task=imitation', 'actor.output', 'linear head'),
    ('critic.activation=relu', 'critic.activation', 'smooth critic'),
    ('learner.learning_starts=8', 'learner.learning_starts', 'at least learner.batch_size'),
    ('pave.probes=0', 'pave.probes', 'at least 1'),
    ('env.clip=moonwalk', 'env.clip', "unknown clip 'moonwalk'"),
    ('caps.sigma=-1', 'caps.sigma', 'at least 0'),
])
def test_bad_offpolicy_settings_fail_naming_the_key(assignment, key, problem):
    with pytest.raises(ConfigError) as error:
        load_offpolicy_config('td3_pave_hopper', [assignment])
    assert f"key '{key}'" in str(error.value) and problem in str(error.value)
    with pytest.raises(ConfigError, match='shipped off-policy configs: .*td3_pendulum'):
        load_offpolicy_config('no_such_config')


# -- the runner: exact resume, signals, export ----------------------------------------------------

@pytest.mark.parametrize('algorithm', ['td3', 'sac'])
def test_a_resumed_gym_run_matches_the_uninterrupted_one_bit_for_bit(tmp_path, algorithm,
                                                                     assert_same):
    base = TINY_GYM + [f'learner.algorithm={algorithm}']
    status, expected = train(tiny(tmp_path, base, 'run.total_steps=60'), tmp_path / 'whole')
    assert status == 'finished'
    status, _ = train(tiny(tmp_path, base, 'run.total_steps=40'), tmp_path / 'split')
    assert status == 'finished' and latest_checkpoint(tmp_path / 'split').name == \
        'iteration_000040.pt'
    status, resumed = train(None, tmp_path / 'split', total_steps=60)
    assert status == 'finished'
    assert_same(resumed, expected)
    assert len(list((tmp_path / 'split' / 'checkpoints').glob('*.pt'))) == 2   # kept: 2


def test_signals_save_a_checkpoint_and_a_second_one_stops_at_once(tmp_path, capsys, assert_same):
    config = tiny(tmp_path, TINY_GYM, 'run.total_steps=60', 'run.checkpoint_every=100')
    _, expected = train(config, tmp_path / 'whole')

    def stop_at_step_30(runner):
        step = runner.step

        def step_then_signal():
            if runner.iteration == 29:
                runner.request_stop(signal.SIGTERM)
            return step()
        runner.step = step_then_signal
    status, _ = train(config, tmp_path / 'signal', stop_at_step_30)
    assert status == 'interrupted'
    assert latest_checkpoint(tmp_path / 'signal') == checkpoint_path(tmp_path / 'signal', 30)
    message = capsys.readouterr()
    assert 'SIGTERM' in message.out and '--resume' in message.out + message.err

    def hard_stop_at_step_45(runner):
        task_step = runner.task.step

        def step(actions):
            if runner.iteration == 44:
                raise KeyboardInterrupt
            return task_step(actions)
        runner.task.step = step
    assert train(None, tmp_path / 'signal', hard_stop_at_step_45, 60)[0] == 'interrupted'
    assert latest_checkpoint(tmp_path / 'signal') == checkpoint_path(tmp_path / 'signal', 30)
    assert_same(train(None, tmp_path / 'signal', total_steps=60)[1], expected)


def test_an_imitation_run_resumes_exactly_and_exports_its_actor(tmp_path, assert_same):
    config = tiny(tmp_path, TINY_IMITATION, 'run.total_steps=48', 'run.checkpoint_every=24',
                  'run.eval_every=48', 'run.eval_episodes=2')
    status, expected = train(config, tmp_path / 'whole')
    assert status == 'finished'
    evaluation = json.loads((tmp_path / 'whole' / 'evaluations' /
                             'step_000000048.json').read_text())
    assert evaluation['smoothness']['sm']['value'] is not None
    assert 0 <= evaluation['critic']['negative_definite_rate'] <= 1
    assert evaluation['critic']['source'] == 'replay samples'   # the runtime has no critic
    split = tiny(tmp_path, TINY_IMITATION, 'run.total_steps=24', 'run.checkpoint_every=24')
    assert train(split, tmp_path / 'split')[0] == 'finished'
    runner = OffPolicyRunner.resume(tmp_path / 'split', 48, progress=False)
    try:
        assert runner.train() == 'finished'
        assert_same(learning_state(runner), expected)
        path = runner.export()
        observations = runner.observations
        states = runner.states(observations)
        phases = torch.from_numpy(runner.phases).float()
        expected_actions = runner.learner.act(states, phases).numpy()
    finally:
        runner.close()
    policy = load_policy(path)
    assert policy.metadata.kind == 'mlp' and policy.metadata.action_clip == 2.0
    actions = make_runtime(policy).act(observations, runner.phases)
    np.testing.assert_allclose(actions, expected_actions, atol=1e-4)


def test_the_command_line_trains_resumes_and_names_bad_keys(tmp_path, capsys):
    config = tmp_path / 'tiny.yaml'
    config.write_text(yaml.safe_dump({'run': {'run_name': 'cli', 'total_steps': 30}}))
    arguments = ['--config', str(config), '--no-progress', *sum(
        (['--set', item] for item in TINY_GYM + [f'run.log_dir={tmp_path}']), [])]
    assert train_offpolicy.main(arguments) == 0
    assert Path(tmp_path / 'cli' / 'config.yaml').is_file()
    assert train_offpolicy.main(['--resume', str(tmp_path / 'cli'), '--no-progress']) == 0
    assert 'already at 30 steps' in capsys.readouterr().out
    assert train_offpolicy.main(arguments) == 2            # the run directory exists
    assert train_offpolicy.main(['--config', 'td3_pendulum', '--set', 'td3.noise=1']) == 2
    assert "key 'td3.noise': unknown key" in capsys.readouterr().err
