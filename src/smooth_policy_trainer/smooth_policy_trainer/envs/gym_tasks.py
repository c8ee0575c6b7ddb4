"""
Gymnasium tasks (MuJoCo locomotion such as Hopper-v5, Pendulum-v1) as off-policy tasks.

N copies of one task step side by side in this process (they are cheap). The adapter drives the
unwrapped environment and applies the registered time limit itself, so it sees each final
observation before it resets (a time-out bootstraps from it; a termination does not) and can
save and restore every environment exactly for checkpoints: the MuJoCo integration state
(mj_getState) or the classic-control ``state`` array, the environment's RNG and the episode
counters. Tasks that offer neither (Box2D) are refused. Actions are in the task's units, inside
its Box; there is no phase (0 everywhere).

evaluate_gym_policy runs deterministic episodes and reports the return, Sm in PAVE's
normalisation (raw |FFT|, f_s = 1; METHODS.md 8) next to ours, and HFR with f_s the task's
control rate (1 / dt), all from lpn_controller.metrics.
"""

import gymnasium as gym
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from lpn_controller.metrics import caps_smoothness, smoothness_report
import mujoco
import numpy as np
from smooth_policy_trainer.evaluate import MIN_WINDOW
from smooth_policy_trainer.offpolicy_tasks import TaskStep

EVAL_SEED = 10_000   # evaluation episodes start from seeds no training environment uses


class GymVectorEnv:
    """N copies of a Gymnasium task with a Box action space and a flat Box observation."""

    has_phase = False

    def __init__(self, env_id, num_envs=1, seed=0):
        try:
            self._made = [gym.make(env_id, disable_env_checker=True) for _ in range(num_envs)]
        except gym.error.Error as error:
            raise ValueError(f"gym task '{env_id}': {error}") from None
        self.envs = [env.unwrapped for env in self._made]
        first = self._made[0]
        if not isinstance(first.action_space, gym.spaces.Box):
            raise ValueError(f"gym task '{env_id}' has a {type(first.action_space).__name__} "
                             'action space; the off-policy learners need a continuous Box')
        if len(first.observation_space.shape) != 1:
            raise ValueError(f"gym task '{env_id}': observations of shape "
                             f'{first.observation_space.shape}, expected a flat vector')
        if not (isinstance(self.envs[0], MujocoEnv)
                or 'classic_control' in type(self.envs[0]).__module__):
            raise ValueError(f"gym task '{env_id}': its state cannot be saved for exact "
                             'resume (supported: MuJoCo tasks and classic-control tasks with '
                             'a state array, e.g. Hopper-v5, Pendulum-v1)')
        self.name, self.num_envs, self.seed = env_id, num_envs, seed
        self.max_episode_steps = first.spec.max_episode_steps   # None: no time limit
        self.observation_size = first.observation_space.shape[0]
        self.num_actions = first.action_space.shape[0]
        self.action_low = first.action_space.low.astype(np.float64)
        self.action_high = first.action_space.high.astype(np.float64)
        self._action_dtype = first.action_space.dtype
        self.control_rate_hz = 1.0 / float(self.envs[0].dt)
        self.episode_step = np.zeros(num_envs, dtype=np.int64)
        self.episode_return = np.zeros(num_envs)

    def reset(self):
        """Restart environment i from seed + i; returns (observations, phases)."""
        observations = np.stack([env.reset(seed=self.seed + i)[0]
                                 for i, env in enumerate(self.envs)]).astype(np.float64)
        self.episode_step[:] = 0
        self.episode_return[:] = 0.0
        return observations, np.zeros(self.num_envs)

    def step(self, actions):
        """Apply actions (N, m) in the task's units; finished episodes restart."""
        actions = np.asarray(actions, dtype=np.float64)
        if actions.shape != (self.num_envs, self.num_actions):
            raise ValueError(f'expected actions of shape {(self.num_envs, self.num_actions)}, '
                             f'got {actions.shape}')
        if not np.all(np.isfinite(actions)):
            raise ValueError('policy actions contain NaN or inf')
        n = self.num_envs
        observations = np.zeros((n, self.observation_size))
        next_observations = np.zeros((n, self.observation_size))
        rewards, terminated, truncated = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
        finished_returns, finished_lengths = [], []
        for i, env in enumerate(self.envs):
            observation, reward, terminated[i], truncated[i], _ = env.step(
                np.clip(actions[i], self.action_low, self.action_high).astype(
                    self._action_dtype))
            rewards[i] = reward
            self.episode_step[i] += 1
            self.episode_return[i] += reward
            if self.max_episode_steps is not None and \
                    self.episode_step[i] >= self.max_episode_steps:
                truncated[i] = not terminated[i]
            next_observations[i] = observation
            if terminated[i] or truncated[i]:
                finished_returns.append(self.episode_return[i])
                finished_lengths.append(self.episode_step[i])
                self.episode_step[i], self.episode_return[i] = 0, 0.0
                observation = env.reset()[0]   # unseeded: the environment's RNG goes on
            observations[i] = observation
        zeros, ones = np.zeros(n), np.ones(n, bool)
        return TaskStep(observations, zeros, next_observations, zeros, rewards, terminated,
                        truncated, ones, ones, np.array(finished_returns),
                        np.array(finished_lengths, dtype=np.int64))

    def task_metadata(self):
        """Return what identifies the task in checkpoints."""
        return {'gym_id': self.name, 'control_rate_hz': self.control_rate_hz}

    def get_state(self):
        """Return every environment's state (plain arrays and RNG states) for checkpoints."""
        state = {'episode_step': self.episode_step.copy(),
                 'episode_return': self.episode_return.copy(),
                 'rng': [env.np_random.bit_generator.state for env in self.envs]}
        if isinstance(self.envs[0], MujocoEnv):
            spec = mujoco.mjtState.mjSTATE_INTEGRATION
            physics = np.zeros((self.num_envs, mujoco.mj_stateSize(self.envs[0].model, spec)))
            for row, env in zip(physics, self.envs):
                mujoco.mj_getState(env.model, env.data, row, spec)
            state['physics'] = physics
        else:
            state['state'] = np.stack([np.asarray(env.state, dtype=np.float64)
                                       for env in self.envs])
        return state

    def set_state(self, state):
        """Restore a state from get_state()."""
        for i, env in enumerate(self.envs):
            env.np_random.bit_generator.state = state['rng'][i]
            if isinstance(env, MujocoEnv):
                spec = mujoco.mjtState.mjSTATE_INTEGRATION
                mujoco.mj_setState(env.model, env.data, np.asarray(state['physics'][i]), spec)
                mujoco.mj_forward(env.model, env.data)
            else:
                env.state = np.array(state['state'][i], dtype=np.float64)
        self.episode_step = np.array(state['episode_step'], dtype=np.int64)
        self.episode_return = np.array(state['episode_return'], dtype=np.float64)

    def close(self):
        """Close the environments."""
        for env in self._made:
            env.close()


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
    figures, units, parameters, windows = {}, {}, {}, []
    for log in actions_log:
        if len(log) < MIN_WINDOW:
            continue
        series = np.stack(log)
        report = smoothness_report(series, rate, cutoff_hz=cutoff)
        report['sm_pave'] = caps_smoothness(series, rate, pave_normalisation=True)
        for name, metric in report.items():
            figures.setdefault(name, []).append(metric.value)
            units[name], parameters[name] = metric.unit, metric.parameters
        windows.append(len(log))
    smoothness = {name: {
        'value': float(np.mean(values)), 'unit': units[name], 'sample_rate_hz': rate,
        'window_length': int(round(np.mean(windows))), 'window_length_min': int(min(windows)),
        'episodes': len(values), 'parameters': parameters[name]}
        for name, values in figures.items()}
    result = {'gym_id': env_id, 'episodes': episodes, 'seed': seed,
              'return': float(returns.mean()), 'return_std': float(returns.std()),
              'episode_length': float(lengths.mean()), 'sample_rate_hz': rate,
              'smoothness': smoothness}
    if keep_observations:
        result['observations'] = [np.stack(log) for log in states_log]
    return result
