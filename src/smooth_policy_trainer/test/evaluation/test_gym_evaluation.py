"""Deterministic Gym episodes: the return and the smoothness figures, PAVE's Sm among them."""

import numpy as np
from smooth_policy_trainer.evaluation.gym_evaluation import evaluate_gym_policy


def test_pendulum_episodes_report_return_and_smoothness():
    result = evaluate_gym_policy(lambda observations: np.zeros((len(observations), 1)),
                                 'Pendulum-v1', episodes=2, seed=3, keep_observations=True)
    assert result['episodes'] == 2 and result['episode_length'] == 200.0
    assert result['return'] < 0 and result['sample_rate_hz'] == 20.0
    assert set(result['smoothness']) == {'hfr', 'hfr_power_weighted', 'sm', 'action_rate',
                                         'second_difference', 'sm_pave'}
    assert result['smoothness']['sm']['value'] == 0.0   # a constant action has no power
    assert [len(states) for states in result['observations']] == [200, 200]
