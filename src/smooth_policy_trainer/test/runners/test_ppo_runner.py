"""The training loop on a tiny task: time-out bootstrapping, logs, checkpoints, exact resume."""

import signal

import numpy as np
import pytest
from smooth_policy_trainer.cli import train
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.runners.checkpoint import (checkpoint_path, CheckpointError,
                                                      latest_checkpoint, load_checkpoint,
                                                      save_checkpoint)
from smooth_policy_trainer.runners.ppo_runner import Runner
import torch

# 4 robots, 8 steps per iteration, 0.3 s episodes (time-outs happen), small networks.
TINY = ['env.clip=trot', 'env.num_envs=4', 'env.episode_length_s=0.3', 'ppo.num_steps=8',
        'ppo.num_minibatches=2', 'ppo.num_learning_epochs=2', 'policy.lpn_hidden_sizes=[16]',
        'policy.rank=4', 'critic.hidden_sizes=[32]', 'run.eval_episodes=2',
        'run.eval_seconds=0.4', 'run.checkpoint_every=1', 'run.torch_threads=1']


def tiny_config(tmp_path, *overrides):
    return load_config(None, TINY + [f'run.log_dir={tmp_path}', *overrides])


def learning_state(runner):
    """Everything the next iteration depends on (not the config, which differs in length)."""
    state = runner.state()
    return {key: state[key] for key in ('iteration', 'ppo', 'normalizer', 'rng', 'env',
                                        'observations', 'phases')}


def run(config, run_dir, sabotage=None):
    runner = Runner(config, run_dir, progress=False)
    if sabotage:
        sabotage(runner)
    try:
        status = runner.train()
        return status, learning_state(runner)
    finally:
        runner.close()


def resume(run_dir, iterations):
    runner = Runner.resume(run_dir, iterations, progress=False)
    try:
        assert runner.train() == 'finished'
        return learning_state(runner)
    finally:
        runner.close()


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    """Three iterations in one go, with evaluations (which must not disturb training)."""
    tmp_path = tmp_path_factory.mktemp('reference')
    threads = torch.get_num_threads()
    status, state = run(tiny_config(tmp_path, 'run.iterations=3', 'run.eval_every=2'),
                        tmp_path / 'reference')
    torch.set_num_threads(threads)
    assert status == 'finished'
    return tmp_path / 'reference', state


def test_resume_reproduces_the_next_update_bit_for_bit(tmp_path, uninterrupted, assert_same):
    run_dir, expected = uninterrupted
    status, _ = run(tiny_config(tmp_path, 'run.iterations=2', 'run.eval_every=0'),
                    tmp_path / 'split')
    assert status == 'finished'
    assert load_checkpoint(tmp_path / 'split')['iteration'] == 2
    assert_same(resume(tmp_path / 'split', 3), expected)


def test_a_signal_finishes_the_iteration_saves_and_resumes_exactly(tmp_path, uninterrupted,
                                                                   capsys, assert_same):
    def stop_during_the_second_iteration(runner):
        step = runner.step

        def step_then_signal():
            if runner.iteration == 1:
                runner.request_stop(signal.SIGTERM)
            return step()
        runner.step = step_then_signal
    config = tiny_config(tmp_path, 'run.iterations=3', 'run.checkpoint_every=10',
                         'run.eval_every=0')
    handler = signal.getsignal(signal.SIGINT)
    status, _ = run(config, tmp_path / 'signal', stop_during_the_second_iteration)
    assert status == 'interrupted'
    assert latest_checkpoint(tmp_path / 'signal') == checkpoint_path(tmp_path / 'signal', 2)
    message = capsys.readouterr()
    assert 'SIGTERM' in message.out and '--resume' in message.err + message.out
    assert signal.getsignal(signal.SIGINT) is handler, 'the previous handler is restored'
    assert_same(resume(tmp_path / 'signal', None), uninterrupted[1])


def test_a_keyboard_interrupt_mid_rollout_saves_the_iterations_start(tmp_path, uninterrupted,
                                                                     assert_same):
    def interrupt_the_fifth_step_of_iteration_two(runner):
        env_step, calls = runner.env.step, []

        def step(actions):
            calls.append(1)
            if len(calls) == 8 + 5:
                raise KeyboardInterrupt
            return env_step(actions)
        runner.env.step = step
    config = tiny_config(tmp_path, 'run.iterations=3', 'run.checkpoint_every=10',
                         'run.eval_every=0')
    status, _ = run(config, tmp_path / 'ctrl_c', interrupt_the_fifth_step_of_iteration_two)
    assert status == 'interrupted'
    assert latest_checkpoint(tmp_path / 'ctrl_c') == checkpoint_path(tmp_path / 'ctrl_c', 1)
    assert_same(resume(tmp_path / 'ctrl_c', None), uninterrupted[1])


def test_time_outs_are_bootstrapped_with_the_value(tmp_path):
    runner = Runner(tiny_config(tmp_path, 'env.episode_length_s=0.1'), tmp_path / 'bootstrap',
                    progress=False)
    results = []
    env_step = runner.env.step
    runner.env.step = lambda actions: results.append(env_step(actions)) or results[-1]
    try:
        runner.rollout()
    finally:
        runner.close()
    storage, gamma = runner.storage, runner.config.ppo.gamma
    truncated = torch.tensor(np.stack([r.truncated for r in results]))
    assert truncated.any(), 'the 5-step episodes must time out inside an 8-step rollout'
    rewards = torch.tensor(np.stack([r.rewards for r in results]), dtype=torch.float32)
    expected = torch.where(truncated, rewards + gamma * storage.values, rewards)
    torch.testing.assert_close(storage.rewards, expected)
    done = torch.tensor(np.stack([r.terminated | r.truncated for r in results])).float()
    assert torch.equal(storage.dones, done)


def test_tensorboard_gets_every_scalar(uninterrupted):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(uninterrupted[0]))
    events.Reload()
    tags = set(events.Tags()['scalars'])
    expected = {'train/reward_per_step', 'train/episode_return', 'train/episode_length_s',
                'reward/pose', 'reward/velocity', 'reward/end_effector', 'reward/root',
                'reward/root_velocity', 'loss/surrogate', 'loss/value_loss', 'loss/entropy',
                'penalty/jacobian_norm_sq', 'policy/learning_rate', 'policy/action_std',
                'perf/env_steps_per_s', 'perf/iteration_s', 'eval/return',
                'eval/joint_rmse_rad', 'eval/end_effector_rmse_m', 'eval/forward_speed_m_s',
                'eval/survival_rate', 'eval/hfr', 'eval/sm',
                'eval/action_rate', 'eval/second_difference', 'eval/jerk'}
    assert expected <= tags, sorted(expected - tags)
    assert [event.step for event in events.Scalars('eval/return')] == [2, 3]
    assert (uninterrupted[0] / 'evaluations' / 'iteration_000002.json').is_file()


def test_checkpoints_are_written_atomically(tmp_path):
    path = tmp_path / 'checkpoints' / 'iteration_000001.pt'
    save_checkpoint({'format': 'x', 'value': np.arange(3)}, path)
    before = path.read_bytes()
    with pytest.raises(Exception):
        save_checkpoint({'format': 'x', 'unpicklable': lambda: None}, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name], 'no temporary files left'


def test_the_command_line_trains_exports_and_refuses_bad_input(tmp_path, capsys):
    arguments = ['--config', 'lpn_trot_arm_wave_base', '--task', 'trot', '--iterations', '1',
                 '--no-progress', '--set', 'run.run_name=cli', '--set', 'run.eval_every=0']
    for override in TINY + [f'run.log_dir={tmp_path}']:
        arguments += ['--set', override]
    assert train.main(arguments) == 0
    assert (tmp_path / 'cli' / 'policy' / 'policy.yaml').is_file()
    assert (tmp_path / 'cli' / 'config.yaml').is_file()
    assert train.main(arguments) == 2, 'an existing run is not overwritten'
    assert '--resume' in capsys.readouterr().err
    assert train.main(['--resume', str(tmp_path / 'cli'), '--no-progress']) == 0
    assert 'already at iteration 1' in capsys.readouterr().out
    assert train.main(['--config', 'lpn_trot_arm_wave', '--set', 'ppo.lr=1']) == 2
    assert "key 'ppo.lr': unknown key" in capsys.readouterr().err
    assert train.main(['--config', 'lpn_trot_arm_wave', '--task', 'moonwalk']) == 2
    assert "unknown clip 'moonwalk'" in capsys.readouterr().err
    assert train.main(['--resume', str(tmp_path / 'nothing')]) == 2
    assert 'no such checkpoint file or run directory' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main(['--resume', str(tmp_path / 'cli'), '--set', 'ppo.gamma=0.9'])


def test_a_damaged_checkpoint_is_refused_by_name(tmp_path):
    good = tmp_path / 'checkpoints' / 'iteration_000001.pt'
    save_checkpoint({'format': 'smooth_policy_trainer.checkpoint'}, good)
    good.write_bytes(good.read_bytes()[:40])
    with pytest.raises(CheckpointError, match='iteration_000001.pt: not a readable checkpoint'):
        Runner.resume(tmp_path)
    with pytest.raises(CheckpointError, match='no checkpoints'):
        latest_checkpoint(tmp_path / 'checkpoints')
