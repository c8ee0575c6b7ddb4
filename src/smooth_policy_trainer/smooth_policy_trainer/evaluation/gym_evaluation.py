"""
Deterministic episodes of a Gymnasium task: the return and the smoothness figures.

Sm is reported in PAVE's normalisation (raw |FFT|, f_s = 1; METHODS.md 8) next to ours, and HFR
with f_s the task's control rate (1 / dt), all from lpn_controller.metrics.
"""

from lpn_controller.metrics import caps_smoothness, smoothness_report
import numpy as np
from smooth_policy_trainer.envs.gym_tasks import GymVectorEnv
from smooth_policy_trainer.evaluation.smoothness import aggregate_smoothness, MIN_WINDOW

EVAL_SEED = 10_000   # evaluation episodes start from seeds no training environment uses


def evaluate_gym_policy(act, env_id, episodes=10, seed=EVAL_SEED, cutoff_hz=10.0,
                        keep_observations=False):
    """
    Run ``episodes`` deterministic episodes of ``act`` (observations -> actions, numpy).

    Each episode runs to its end (termination or the time limit). HFR's cut-off is
    min(cutoff_hz, f_s / 4): Pendulum's 20 Hz control has its Nyquist frequency at 10 Hz, where
    the usual 10 Hz cut-off would leave nothing above it. Episodes shorter than MIN_WINDOW
    samples are left out of the smoothness figures. With ``keep_observations`` the result also
    holds ``observations``: per episode, the (T, n) array of the states acted on.
    """
    env = GymVectorEnv(env_id, episodes, seed)
    try:
        observations, _ = env.reset()
        alive = np.ones(episodes, bool)
        returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=np.int64)
        actions_log = [[] for _ in range(episodes)]
        states_log = [[] for _ in range(episodes)]
        while alive.any():
            actions = np.clip(act(observations), env.action_low, env.action_high)
            step = env.step(actions)
            for i in np.flatnonzero(alive):
                actions_log[i].append(actions[i])
                states_log[i].append(observations[i])
            returns[alive] += step.rewards[alive]
            lengths[alive] += 1
            alive &= ~(step.terminated | step.truncated)
            observations = step.observations
        rate = env.control_rate_hz
    finally:
        env.close()
    cutoff = min(cutoff_hz, rate / 4.0)
    reports = []
    for log in actions_log:
        if len(log) < MIN_WINDOW:
            continue
        series = np.stack(log)
        report = smoothness_report(series, rate, cutoff_hz=cutoff)
        report['sm_pave'] = caps_smoothness(series, rate, pave_normalisation=True)
        reports.append(report)
    smoothness = aggregate_smoothness(reports, rate)
    result = {'gym_id': env_id, 'episodes': episodes, 'seed': seed,
              'return': float(returns.mean()), 'return_std': float(returns.std()),
              'episode_length': float(lengths.mean()), 'sample_rate_hz': rate,
              'smoothness': smoothness}
    if keep_observations:
        result['observations'] = [np.stack(log) for log in states_log]
    return result
