"""
Gymnasium tasks (MuJoCo locomotion such as Hopper-v5, Pendulum-v1) as off-policy tasks.

N copies of one task step side by side in this process (they are cheap). The adapter drives the
unwrapped environment and applies the registered time limit itself, so it sees each final
observation before it resets (a time-out bootstraps from it; a termination does not) and can
save and restore every environment exactly for checkpoints: the MuJoCo integration state
(mj_getState) or the classic-control ``state`` array, the environment's RNG and the episode
counters. Tasks that offer neither (Box2D) are refused. Actions are in the task's units, inside
its Box; there is no phase (0 everywhere).
"""

import gymnasium as gym
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
import mujoco
import numpy as np
from sim_bridge.instability import route_mujoco_messages
from smooth_policy_trainer.envs.offpolicy_tasks import TaskStep


class GymVectorEnv:
    """N copies of a Gymnasium task with a Box action space and a flat Box observation."""

    has_phase = False

    def __init__(self, env_id, num_envs=1, seed=0):
        route_mujoco_messages()   # Gym's MuJoCo tasks warn too: to logging, not MUJOCO_LOG.TXT
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
