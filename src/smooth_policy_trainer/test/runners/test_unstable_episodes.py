"""An episode whose simulation MuJoCo reset ends as 'unstable': not a fall, not learnt from."""

import json

from lpn_controller.policy_format import save_policy
import numpy as np
import pytest
from smooth_policy_trainer.algorithms.storage import RolloutStorage
from smooth_policy_trainer.cli import evaluate as evaluate_command
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.envs.offpolicy_tasks import ImitationTask
from smooth_policy_trainer.evaluation import evaluate
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.networks.normalizer import RunningNormalizer
from smooth_policy_trainer.networks.policies import make_actor
from smooth_policy_trainer.runners.common import unstable_postfix
from smooth_policy_trainer.runners.ppo_runner import Runner
import torch

ENV = EnvConfig(clip='trot', num_envs=4, episode_length_s=0.5, seed=3)
TINY = ['env.clip=trot', 'env.num_envs=4', 'env.episode_length_s=0.3', 'ppo.num_steps=8',
        'ppo.num_minibatches=2', 'ppo.num_learning_epochs=1', 'policy.lpn_hidden_sizes=[16]',
        'policy.rank=4', 'critic.hidden_sizes=[32]', 'run.eval_every=0', 'run.torch_threads=1']


def make_unstable(sim):
    """Absurd servo gains without torque limits: MuJoCo's accelerations blow up at once."""
    sim.model.actuator_forcelimited[:] = 0
    sim.set_pd_gains(1e9, 0.0)


def test_an_unstable_environment_ends_its_episode_as_unstable_without_reward():
    env = ImitationEnv(ENV)
    try:
        env.reset()
        env.step(np.zeros((4, env.num_actions)))
        make_unstable(env.sim.envs[1])
        result = env.step(np.full((4, env.num_actions), 2.0))
        assert result.unstable.tolist() == [False, True, False, False]
        assert not result.terminated[1] and not result.truncated[1], 'neither fall nor time-out'
        assert result.rewards[1] == 0.0 and result.rewards[0] > 0.0
        assert all(term[1] == 0.0 for term in result.reward_terms.values())
        # The unstable episode restarted, and is no finished episode of the statistics.
        assert env.episode_step[1] == 0 and env.sim.envs[1].instability is None
        assert len(result.finished_returns) == int((result.terminated | result.truncated).sum())
    finally:
        env.close()


def test_the_off_policy_task_keeps_an_unstable_step_out_of_the_replay():
    task = ImitationTask(ENV)
    try:
        task.reset()
        make_unstable(task.env.sim.envs[2])
        step = task.step(np.full((4, task.num_actions), 2.0))
        assert step.unstable[2] and not step.keep[2] and not step.next_valid[2]
        assert step.keep[[0, 1, 3]].all()
    finally:
        task.close()


def test_storage_leaves_a_step_that_is_no_transition_out_and_bootstraps_before_it():
    storage = RolloutStorage(3, 2, observation_size=1, num_actions=1)
    values = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    learnable = torch.tensor([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    dones = 1.0 - learnable   # an unstable step ends its episode
    for t in range(3):
        storage.add(torch.full((2, 1), float(t)), torch.zeros(2), torch.zeros(2, 1),
                    torch.zeros(2), values[t], torch.ones(2), dones[t], torch.zeros(2, 1),
                    torch.ones(2, 1), torch.zeros(2, 1), torch.zeros(2), learnable[t])
    gamma, lam = 0.9, 1.0
    storage.compute_returns(torch.tensor([7.0, 8.0]), gamma, lam)
    # Environment 1, step 0: reward 1 and the value of the state before the unstable step.
    raw = storage.returns - storage.values
    assert raw[0, 1].item() == pytest.approx(1.0 + gamma * 4.0 - 2.0)
    assert raw[1, 1].item() == 0.0
    learnt = storage.advantages[learnable > 0]
    assert learnt.mean().item() == pytest.approx(0.0, abs=1e-6)
    batches = list(storage.minibatches(num_minibatches=1, num_epochs=1))
    # Step 1 of environment 1 (value 4) is in no minibatch.
    assert sorted(batches[0].values.tolist()) == [1.0, 2.0, 3.0, 5.0, 6.0]


def test_training_excludes_unstable_steps_and_logs_their_rate(tmp_path):
    config = load_config(None, TINY + [f'run.log_dir={tmp_path}'])
    runner = Runner(config, tmp_path / 'unstable', progress=False)
    try:
        make_unstable(runner.env.sim.envs[0])   # stays unstable after every reset
        scalars = runner.step()
    finally:
        runner.close()
    assert runner.storage.learnable[:, 0].sum().item() == 0.0
    assert runner.storage.learnable[:, 1:].min().item() == 1.0
    assert scalars['train/unstable_episodes'] == 8.0
    assert 0.0 < scalars['train/unstable_episode_fraction'] <= 1.0
    assert np.isfinite(scalars['loss/surrogate'])
    assert unstable_postfix(scalars)[0].startswith('unstable=8 (')
    assert unstable_postfix({'train/unstable_episodes': 0.0}) == []


@pytest.fixture(scope='module')
def policy():
    """Export a freshly initialised LPN in memory (it holds the clip's mean pose)."""
    env = ImitationEnv(EnvConfig(clip='trot', num_envs=1))
    torch.manual_seed(0)
    actor = make_actor('lpn', env.observation_size, env.num_actions, hidden_sizes=(16,), rank=4)
    normalizer = RunningNormalizer(env.observation_size)
    normalizer.update(torch.from_numpy(env.reset()[0]).repeat(4, 1) + torch.randn(4, 60))
    exported = build_policy(actor, normalizer, env.policy_metadata(),
                            config_to_dict(load_config(None, ['env.clip=trot'])))
    env.close()
    return exported


def unstable_first_env(config):
    """Build the environment with its first robot made unstable."""
    env = ImitationEnv(config)
    make_unstable(env.sim.envs[0])
    return env


def test_evaluation_counts_unstable_episodes_apart_from_falls(policy, monkeypatch,
                                                              tmp_path, capsys):
    monkeypatch.setattr(evaluate, 'ImitationEnv', unstable_first_env)
    result = evaluate.evaluate_policy(policy, EnvConfig(clip='trot'), episodes=3, seconds=0.5)
    json.dumps(result, allow_nan=False)
    assert result['unstable_episodes'] == 1 and result['unstable_rate'] == pytest.approx(1 / 3)
    assert result['survival_rate'] + result['fall_rate'] + result['unstable_rate'] == \
        pytest.approx(1.0)
    assert result['survival_rate'] <= 2 / 3
    assert 'unstable 1 of 3 episodes' in evaluate.format_table(result)
    assert 'went unstable' in evaluate.instability_note(result)

    path = save_policy(tmp_path / 'policy', policy.metadata, policy.weights)
    arguments = ['--policy', str(path), '--episodes', '2', '--seconds', '0.3']
    assert evaluate_command.main(arguments) == 0
    assert 'note: 1 of 2 episodes went unstable' in capsys.readouterr().out


class Recorder:
    """Stands in for the TensorBoard writer and the progress bar: keeps what they are given."""

    def __init__(self):
        self.scalars, self.postfix = {}, ''

    def add_scalar(self, name, value, step):
        self.scalars[name] = value

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text


def test_the_off_policy_runner_stores_no_unstable_step_and_logs_the_rate(tmp_path):
    from smooth_policy_trainer.config.offpolicy_config import load_offpolicy_config
    from smooth_policy_trainer.runners.offpolicy_runner import OffPolicyRunner
    config = load_offpolicy_config(None, [
        'task=imitation', 'env.clip=trot', 'env.num_envs=2', 'env.episode_length_s=0.3',
        'actor.output=linear', 'actor.hidden_sizes=[16]', 'critic.hidden_sizes=[16]',
        'learner.batch_size=8', 'learner.learning_starts=100',
        'learner.normalize_observations=true', 'run.eval_every=0',
        f'run.log_dir={tmp_path}'])
    runner = OffPolicyRunner(config, tmp_path / 'offpolicy', progress=False)
    try:
        make_unstable(runner.task.env.sim.envs[0])
        for _ in range(3):
            runner.collect()
        assert len(runner.replay) == 3, 'only the stable environment stores transitions'
        recorder = Recorder()
        runner.writer, runner._log_clock = recorder, (0.0, 0)
        runner._log(recorder)
    finally:
        runner.close()
    assert recorder.scalars['train/unstable_episodes'] == 3.0
    assert 'unstable=3' in recorder.postfix
