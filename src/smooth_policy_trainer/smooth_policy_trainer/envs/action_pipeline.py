"""
The imitation environment's action pipeline: what happens to a policy's output before the servos.

Raw actions are clipped to ``action_clip`` (as the robot's runtime clips), refused if not finite,
low-pass filtered (``action_filter_alpha``, METHODS.md 6; 1 = none), delayed by each
environment's latency (domain randomisation; 0 = none) and turned into joint targets
``default_pose + action_scale * action``. The policy observes, and the action-rate term charges,
its own unfiltered output (``previous_action``).
"""

from lpn_controller.runtime import low_pass
import numpy as np


class ActionPipeline:
    """Clip, filter and delay actions for N environments; holds the actions' history."""

    STATE = ('previous_action', 'commanded_action', 'latency', 'action_history')

    def __init__(self, config, num_envs, num_actions, default_pose):
        self.clip, self.scale = config.action_clip, config.action_scale
        self.filter_alpha = config.action_filter_alpha
        self.default_pose = default_pose
        self.num_envs = num_envs
        self.previous_action = np.zeros((num_envs, num_actions))
        self.commanded_action = np.zeros((num_envs, num_actions))   # after the low-pass filter
        self.latency = np.zeros(num_envs, dtype=np.int64)           # control steps, per env
        depth = config.randomization.max_latency_steps + 1
        self.action_history = np.zeros((depth, num_envs, num_actions))

    def reset(self, ids):
        """Start the given environments' episodes with no action history."""
        self.previous_action[ids] = 0.0
        self.commanded_action[ids] = 0.0
        self.action_history[:, ids] = 0.0

    def joint_targets(self, actions):
        """
        Return the joint targets (N, n) of raw policy actions and the change of those actions.

        The change is from the previous step's raw actions (0 at an episode's start).
        """
        actions = np.clip(np.asarray(actions, dtype=float), -self.clip, self.clip)
        if not np.all(np.isfinite(actions)):
            raise ValueError('policy actions contain NaN or inf')
        self.commanded_action = low_pass(actions, self.commanded_action, self.filter_alpha)
        self.action_history = np.roll(self.action_history, 1, axis=0)
        self.action_history[0] = self.commanded_action
        applied = self.action_history[self.latency, np.arange(self.num_envs)]
        # The policy's own output, unfiltered: what it observes and what the rate term charges.
        action_change = actions - self.previous_action
        self.previous_action = actions
        return self.default_pose + self.scale * applied, action_change

    def state(self):
        """Return copies of the arrays a checkpoint holds."""
        return {name: getattr(self, name).copy() for name in self.STATE}

    def load_state(self, state):
        """Restore from state(); missing entries keep their current values."""
        for name in self.STATE:
            setattr(self, name, np.array(state.get(name, getattr(self, name))))
