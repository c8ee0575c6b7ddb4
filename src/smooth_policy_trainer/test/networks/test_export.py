"""Export: the lpn_controller runtime reproduces the torch actor; damaged checkpoints fail."""

from lpn_controller.policy_format import load_policy, save_policy
from lpn_controller.runtime import make_runtime
import numpy as np
import pytest
from smooth_policy_trainer.cli import export
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.networks.normalizer import RunningNormalizer
from smooth_policy_trainer.networks.policies import make_actor
from smooth_policy_trainer.runners.checkpoint import CheckpointError, load_checkpoint
from smooth_policy_trainer.runners.checkpoint_export import export_checkpoint
from smooth_policy_trainer.runners.common import git_revision
from smooth_policy_trainer.runners.ppo_runner import Runner
import torch

TINY = ['env.clip=trot', 'env.num_envs=4', 'ppo.num_steps=8', 'ppo.num_minibatches=2',
        'ppo.num_learning_epochs=1', 'policy.lpn_hidden_sizes=[16]', 'policy.rank=4',
        'critic.hidden_sizes=[32]', 'run.eval_every=0', 'run.torch_threads=1']


@pytest.fixture(scope='module')
def task():
    env = ImitationEnv(EnvConfig(clip='trot', num_envs=1))
    yield env.policy_metadata()
    env.close()


def trained_looking(kind, task, seed=0):
    """Return an actor with non-trivial weights and a normaliser with non-trivial statistics."""
    torch.manual_seed(seed)
    size = sum(term.size for term in task['observation_terms'])
    options = {'hidden_sizes': (32, 32), 'rank': 6} if kind == 'lpn' else \
        {'hidden_sizes': (64, 32)}
    actor = make_actor(kind, size, len(task['joint_names']), **options)
    with torch.no_grad():
        for parameter in actor.parameters():
            parameter.add_(0.03 * torch.randn_like(parameter))
    normalizer = RunningNormalizer(size, clip=5.0)
    normalizer.update(torch.randn(500, size, dtype=torch.float64) * torch.rand(size) * 2 + 0.3)
    return actor, normalizer


def torch_actions(actor, normalizer, observations, phases, action_clip):
    """
    Return the training-side action in float64: normalise, mean, clip.

    The float32 weights widen to float64 exactly, and narrow back exactly afterwards.
    """
    actor.double()
    try:
        with torch.no_grad():
            states = normalizer(torch.from_numpy(observations))
            actions = actor.mean(states, torch.from_numpy(phases))
    finally:
        actor.float()
    return actions.clamp(-action_clip, action_clip).numpy()


def random_observations(task, count, seed=1):
    rng = np.random.default_rng(seed)
    size = sum(term.size for term in task['observation_terms'])
    return rng.normal(0.0, 1.0, (count, size)), rng.uniform(0.0, 1.0, count)


@pytest.mark.parametrize('kind', ['lpn', 'mlp'])
def test_the_exported_policy_acts_like_the_torch_actor(kind, task, tmp_path):
    actor, normalizer = trained_looking(kind, task)
    policy = build_policy(actor, normalizer, task, {'note': 'test'}, 'abc123')
    loaded = load_policy(save_policy(tmp_path / kind, policy.metadata, policy.weights))
    observations, phases = random_observations(task, 64)
    expected = torch_actions(actor, normalizer, observations, phases, task['action_clip'])
    assert 0.1 < np.abs(expected).max() < 5.0, 'the check needs unsaturated, useful actions'
    exact = make_runtime(loaded, lpn_mode='exact')
    np.testing.assert_allclose(exact.act(observations, phases), expected, rtol=0, atol=1e-10)
    for observation, phase, action in zip(observations[:5], phases[:5], expected[:5]):
        np.testing.assert_allclose(exact.act(observation, phase), action, rtol=0, atol=1e-10)
    if kind == 'lpn':
        # Linear interpolation of K and k between 200 phase bins.
        table = make_runtime(loaded, lpn_mode='table').act(observations, phases)
        assert np.abs(table - expected).max() < 2e-3 * np.abs(expected).max()


def test_the_metadata_carries_the_task_and_the_normaliser(task):
    actor, normalizer = trained_looking('lpn', task)
    policy = build_policy(actor, normalizer, task, {'ppo': {'gamma': 0.99}}, 'abc123')
    metadata = policy.metadata
    # Copied from the normaliser, not recomputed: exact.
    np.testing.assert_array_equal(metadata.observation_mean, normalizer.mean.numpy())
    np.testing.assert_array_equal(metadata.observation_std, normalizer.std.numpy())
    # The std is sqrt(var + eps), and two libraries meet here: torch's CPU sqrt goes through MKL's
    # vector math, whose kernel MKL picks per processor and which is within 1 ulp but not always
    # correctly rounded (about 1 % of values differ from numpy's by 1 ulp; an AMD EPYC hit one in
    # this test). Both within 1 ulp of the true root: at most 2 ulp apart, relative.
    np.testing.assert_allclose(metadata.observation_std,
                               np.sqrt(normalizer.var.numpy() + normalizer.epsilon),
                               rtol=2 * np.finfo(np.float64).eps, atol=0)
    assert metadata.observation_clip == 5.0
    assert metadata.joint_names == tuple(task['joint_names'])
    assert metadata.observation_terms == tuple(task['observation_terms'])
    np.testing.assert_array_equal(metadata.default_pose, task['default_pose'])
    np.testing.assert_array_equal(metadata.action_scale, np.full(18, task['action_scale']))
    np.testing.assert_array_equal(metadata.kp, task['kp'])
    np.testing.assert_array_equal(metadata.joint_lower_limits, task['joint_limits'][:, 0])
    assert (metadata.motion_clip, metadata.phase_period_s) == ('trot', task['phase_period_s'])
    assert metadata.network.rank == 6 and metadata.network.hidden_sizes == (32, 32)
    assert metadata.git_revision == 'abc123'
    assert metadata.training_config == {'ppo': {'gamma': 0.99}}
    assert 'log_std' not in policy.weights
    assert policy.weights['gain_u.weight'].dtype == np.float32


def test_git_revision_is_a_commit_or_unknown():
    revision = git_revision()
    assert revision == 'unknown' or (len(revision) == 40 and int(revision, 16) >= 0)


@pytest.fixture(scope='module')
def checkpointed_run(tmp_path_factory):
    threads = torch.get_num_threads()
    tmp_path = tmp_path_factory.mktemp('export')
    config = load_config(None, TINY + ['run.iterations=1', f'run.log_dir={tmp_path}'])
    runner = Runner(config, tmp_path / 'run', progress=False)
    try:
        assert runner.train() == 'finished'
    finally:
        runner.close()
        torch.set_num_threads(threads)
    return tmp_path / 'run', runner


def test_a_checkpoint_exports_to_what_the_runner_trained(checkpointed_run, tmp_path, capsys):
    run_dir, runner = checkpointed_run
    assert export.main(['--run', str(run_dir), '--output', str(tmp_path / 'p.tar.gz')]) == 0
    assert 'iteration 1' in capsys.readouterr().out
    loaded = load_policy(tmp_path / 'p.tar.gz')
    assert loaded.metadata.training_config == config_to_dict(runner.config)
    assert loaded.metadata.git_revision == runner.git_revision
    observations, phases = random_observations(runner.env.policy_metadata(), 32)
    expected = torch_actions(runner.ppo.actor, runner.normalizer, observations, phases, 10.0)
    actual = make_runtime(loaded, lpn_mode='exact').act(observations, phases)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-10)


def test_damaged_or_missing_checkpoints_fail_with_a_clear_error(checkpointed_run, tmp_path,
                                                                capsys):
    run_dir, _ = checkpointed_run
    payload = load_checkpoint(run_dir)
    source = (run_dir / 'checkpoints' / 'iteration_000001.pt').read_bytes()
    truncated = tmp_path / 'truncated.pt'
    truncated.write_bytes(source[:len(source) // 2])
    with pytest.raises(CheckpointError, match='truncated.pt: not a readable checkpoint'):
        export_checkpoint(truncated, tmp_path / 'out')
    foreign = tmp_path / 'foreign.pt'
    torch.save({'model': torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match='not a smooth_policy_trainer checkpoint'):
        load_checkpoint(foreign)
    incomplete = tmp_path / 'incomplete.pt'
    torch.save({key: value for key, value in payload.items() if key not in ('ppo', 'path')},
               incomplete)
    with pytest.raises(CheckpointError, match='missing ppo'):
        load_checkpoint(incomplete)
    assert export.main(['--run', str(run_dir), '--checkpoint', str(truncated),
                        '--output', str(tmp_path / 'out')]) == 1
    assert 'truncated.pt: not a readable checkpoint' in capsys.readouterr().err
    assert export.main(['--run', str(tmp_path / 'no_run')]) == 1
    assert 'no_run: no such checkpoint file or run directory' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
