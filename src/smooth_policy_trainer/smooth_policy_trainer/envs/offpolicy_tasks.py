"""
What the off-policy runner steps: one interface over the imitation tasks and the Gym tasks.

A task is a set of N environments stepped together, numpy in and out, that resets finished
episodes itself. Besides what an on-policy rollout needs, an off-policy learner needs each
transition's true successor state: ``TaskStep.next_observations`` holds it, next to the
observations the policy acts on next (which, for a finished episode, are the next episode's).
gym_tasks.GymVectorEnv is the Gym side; ImitationTask below wraps ImitationEnv.
"""

from dataclasses import dataclass

import numpy as np
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.envs.task_metadata import task_to_plain


@dataclass
class TaskStep:
    """One step of all environments; arrays have a leading environment axis."""

    observations: np.ndarray        # what the policy acts on next
    phases: np.ndarray
    next_observations: np.ndarray   # the successor of the state just acted on
    next_phases: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray          # a true end: no bootstrapping
    truncated: np.ndarray           # a time-out
    next_valid: np.ndarray          # next_observations is the true successor (same episode)
    keep: np.ndarray                # the transition belongs in the replay buffer
    finished_returns: np.ndarray    # returns of the episodes that ended this step
    finished_lengths: np.ndarray
    unstable: np.ndarray = None     # the simulation went unstable (None: a task without)


class ImitationTask:
    """
    The motion-imitation environment as an off-policy task (actions in raw policy units).

    ImitationEnv resets a finished robot inside its step and reports the new episode's
    observation, so the true successor of a final state is gone: a fall is kept (terminated, no
    bootstrapping; its successor is marked invalid), a time-out is left out of the replay
    buffer (one transition in episode_length_s * 50), and so is a step whose simulation went
    unstable (its successor is MuJoCo's reset state, not physics). The action box is
    +-action_clip, the clip the environment and the robot's runtime apply.
    """

    has_phase = True

    def __init__(self, env_config):
        self.env = ImitationEnv(env_config)
        self.name = self.env.clip.name
        self.num_envs = self.env.num_envs
        self.observation_size, self.num_actions = self.env.observation_size, self.env.num_actions
        self.action_high = np.full(self.num_actions, float(env_config.action_clip))
        self.action_low = -self.action_high
        self.control_rate_hz = float(self.env.robot.control_rate_hz)

    def reset(self):
        """Reset every environment; returns (observations, phases)."""
        return self.env.reset()

    def step(self, actions):
        """Apply actions (N, m) for one control period; returns a TaskStep."""
        result = self.env.step(actions)
        ended = result.terminated | result.truncated | result.unstable
        return TaskStep(result.observations, result.phases, result.observations, result.phases,
                        result.rewards, result.terminated, result.truncated, ~ended,
                        ~result.truncated & ~result.unstable, result.finished_returns,
                        result.finished_lengths, result.unstable)

    def task_metadata(self):
        """Return the exported policy's task fields, checkpoint-friendly."""
        return task_to_plain(self.env.policy_metadata())

    def get_state(self):
        """Return the environments' state (plain arrays) for checkpoints."""
        return self.env.get_state()

    def set_state(self, state):
        """Restore a state from get_state()."""
        return self.env.set_state(state)

    def close(self):
        """Stop the simulator threads."""
        self.env.close()
