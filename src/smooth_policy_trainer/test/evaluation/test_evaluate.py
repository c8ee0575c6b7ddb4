"""Evaluation of exported policies: finite figures in range, the early-fall path, the CLI."""

from dataclasses import replace
import json
import math

from lpn_controller.policy_format import save_policy
import pytest
from smooth_policy_trainer.cli.evaluate import main as evaluate_main
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.evaluation import evaluate
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.networks.normalizer import RunningNormalizer
from smooth_policy_trainer.networks.policies import make_actor
import torch

ENV = EnvConfig(clip='trot', num_envs=1)


def fresh_policy(env_config):
    """Export a freshly initialised LPN (it holds the clip's mean pose), in memory."""
    env = ImitationEnv(env_config)
    torch.manual_seed(0)
    actor = make_actor('lpn', env.observation_size, env.num_actions, hidden_sizes=(16,), rank=4)
    normalizer = RunningNormalizer(env.observation_size)
    normalizer.update(torch.from_numpy(env.reset()[0]).repeat(4, 1) + torch.randn(4, 60))
    config = load_config(None, [f'env.clip={env_config.clip}'])
    exported = build_policy(actor, normalizer, env.policy_metadata(), config_to_dict(config))
    env.close()
    return exported


@pytest.fixture(scope='module')
def policy():
    return fresh_policy(ENV)


def test_a_short_evaluation_gives_finite_figures_in_range(policy):
    result = evaluate.evaluate_policy(policy, ENV, episodes=3, seconds=1.0)
    json.dumps(result, allow_nan=False)   # plain, finite JSON
    assert result['episodes'] == 3 and result['window_length'] == 50
    assert result['sample_rate_hz'] == 50.0
    assert 0.0 <= result['survival_rate'] <= 1.0
    assert 0.0 < result['return'] <= 50.0          # at most 1 per step
    assert 0.0 <= result['joint_rmse_rad'] < 1.0
    assert len(result['joint_rmse_per_joint_rad']) == 18
    assert 0.0 <= result['end_effector_rmse_m'] < 0.5
    # The trot reference moves forward at 0.5 m/s; a policy holding the mean pose does not.
    assert result['reference_forward_speed_m_s'] == pytest.approx(0.5, abs=0.05)
    assert abs(result['forward_speed_m_s']) < 0.25
    if result['survival_rate'] > 0:
        assert math.isfinite(result['heading_drift_deg_per_s'])
        assert result['heading_drift_abs_max_deg_per_s'] >= abs(result['heading_drift_deg_per_s'])
    smoothness = result['smoothness']
    assert set(smoothness) == {'hfr', 'hfr_power_weighted', 'sm', 'action_rate',
                               'second_difference', 'jerk'}
    assert 0.0 <= smoothness['hfr']['value'] <= 1.0
    assert 0.0 <= smoothness['hfr_power_weighted']['value'] <= 1.0
    for name, figure in smoothness.items():
        assert math.isfinite(figure['value']) and figure['value'] >= 0.0, name
        assert figure['sample_rate_hz'] == 50.0 and figure['episodes'] >= 1, name
        assert 16 <= figure['window_length'] <= 50, name
    assert smoothness['hfr']['parameters']['cutoff_hz'] == 10.0
    table = evaluate.format_table(result)
    assert 'HFR (> 10 Hz)' in table and 'f_s = 50 Hz' in table


def test_world_frame_figures_sit_beside_the_joint_space_ones():
    hop = replace(ENV, clip='hop')
    result = evaluate.evaluate_policy(fresh_policy(hop), hop, episodes=2, seconds=2.0)
    json.dumps(result, allow_nan=False)
    world = result['world']
    assert world['forward_speed_m_s'] == result['forward_speed_m_s']
    assert abs(world['reference_forward_speed_m_s']) < 0.05, 'the hop is in place'
    assert [row['t_s'] for row in world['root_position_error_over_time']] == [1.0, 2.0]
    assert world['root_position_error_rms_m'] >= 0.0
    # The stated flight of the hop generator; a policy holding its mean pose never flies.
    assert world['hop']['reference_flight_time_s'] == pytest.approx(0.2212, abs=1e-4)
    if world['hop']['cycles']:
        assert world['hop']['cycles_with_flight'] == 0.0
        assert world['hop']['reference_apex_height_m'] == pytest.approx(0.56, abs=0.01)
    assert 0.0 <= world['gripper_world_rmse_m'] < 0.5 and world['base_drift_max_m'] >= 0.0
    table = evaluate.format_table(result)
    assert 'root position error' in table and 'gripper error (world)' in table
    assert 'lateral speed' in table


def test_episodes_that_fall_at_once_count_as_failures(policy):
    # A height tolerance of 1 mm ends every episode within its first steps.
    strict = replace(ENV, max_height_error=0.001)
    result = evaluate.evaluate_policy(policy, strict, episodes=2, seconds=0.5)
    assert result['survival_rate'] == 0.0
    assert result['mean_episode_s'] < 16 / 50.0, 'shorter than the shortest metric window'
    assert all(figure['value'] is None and figure['episodes'] == 0
               for figure in result['smoothness'].values())
    json.dumps(result, allow_nan=False)


def test_drifting_from_the_reference_root_is_measured_not_a_fall(policy):
    # Training may end episodes 1 mm off the reference root; evaluation counts only falls.
    result = evaluate.evaluate_policy(policy, replace(ENV, max_root_drift=0.001), episodes=2,
                                      seconds=0.5)
    assert result['survival_rate'] == 1.0
    assert result['world']['root_position_error_rms_m'] > 0.001


def test_a_policy_for_another_task_is_refused(policy):
    with pytest.raises(ValueError, match='action.scale'):
        evaluate.evaluate_policy(policy, replace(ENV, action_scale=0.25), episodes=1,
                                 seconds=0.5)


def test_the_command_line_writes_json_and_a_table(policy, tmp_path, capsys):
    path = save_policy(tmp_path / 'policy', policy.metadata, policy.weights)
    output = tmp_path / 'figures' / 'evaluation.json'
    assert evaluate_main(['--policy', str(path), '--episodes', '2', '--seconds', '0.5',
                          '--output', str(output)]) == 0
    printed = capsys.readouterr().out
    assert 'joint RMSE' in printed and 'survival rate' in printed
    figures = json.loads(output.read_text())
    assert figures['physics'] == 'full'
    assert figures['clip'] == 'trot' and figures['lpn_mode'] == 'table'
    assert evaluate_main(['--policy', str(path), '--episodes', '1', '--seconds', '0.2',
                          '--physics', 'fast', '--output', str(output)]) == 0
    capsys.readouterr()
    assert json.loads(output.read_text())['physics'] == 'fast'
    assert evaluate_main(['--policy', str(tmp_path / 'missing')]) == 1
    assert 'no such file or directory' in capsys.readouterr().err
