"""
The optional inputs of the imitation observation, each a small object with its own state.

Each switch is decided once, where its object is made (make_odometry, make_heading): a disabled
input is an object that observes zeros, draws no random numbers and keeps no history, so the
environment's step and reset never test the switch again.

- Odometry (``env.base_linear_velocity``): the body-frame base linear velocity as a robot's
  odometry estimate delivers it: the true velocity plus a per-episode bias, per-step noise and
  a per-episode delay of 0..k control steps.
- Heading (``env.observe_heading``): the IMU yaw at each episode's start, from which the
  observation builder measures the heading turned since.
- Position (``env.observe_position_scale``): the base position and yaw at each episode's
  start, from which the observation builder measures the distance moved since (in that
  heading's frame).
"""

from lpn_controller.rotations import rotate_into_body, yaw_angle
import numpy as np


class _Checkpointed:
    """The arrays named in STATE are what a checkpoint holds of the object."""

    STATE = ()

    def state(self):
        """Return copies of the arrays a checkpoint holds."""
        return {name: getattr(self, name).copy() for name in self.STATE}

    def load_state(self, state):
        """Restore from state(); checkpoints from before an array existed keep its zeros."""
        for name in self.STATE:
            setattr(self, name, np.array(state.get(name, getattr(self, name))))


class OdometryModel(_Checkpointed):
    """The velocity estimate of N environments: history, bias, delay and what is observed."""

    STATE = ('velocity_history', 'velocity_bias', 'velocity_latency', 'observed_velocity')

    def __init__(self, spec, num_envs, rng):
        self.spec, self.num_envs, self.rng = spec, num_envs, rng
        # True body-frame velocities, newest first, and what is observed.
        self.velocity_history = np.zeros((spec.max_latency_steps + 1, num_envs, 3))
        self.velocity_bias = np.zeros((num_envs, 3))
        self.velocity_latency = np.zeros(num_envs, dtype=np.int64)
        self.observed_velocity = np.zeros((num_envs, 3))

    def reset(self, ids, reference):
        """Episodes start moving at the reference's velocity: that is what the history holds."""
        body_velocity = rotate_into_body(reference.root_orientation,
                                         reference.root_linear_velocity)
        spec = self.spec
        self.velocity_bias[ids] = self.rng.uniform(-spec.bias, spec.bias, (len(ids), 3))
        self.velocity_latency[ids] = self.rng.integers(0, spec.max_latency_steps + 1, len(ids))
        self.velocity_history[:, ids] = body_velocity
        self.observed_velocity[ids] = self._estimate(body_velocity, self.velocity_bias[ids])

    def update(self, state):
        """Take in one step's true velocities; draws this step's noise."""
        self.velocity_history = np.roll(self.velocity_history, 1, axis=0)
        self.velocity_history[0] = rotate_into_body(state.base_orientation,
                                                    state.base_linear_velocity)
        delayed = self.velocity_history[self.velocity_latency, np.arange(self.num_envs)]
        self.observed_velocity = self._estimate(delayed, self.velocity_bias)

    def _estimate(self, delayed_velocity, bias):
        noise = self.spec.noise
        return delayed_velocity + bias + self.rng.uniform(-noise, noise, delayed_velocity.shape)


class NoOdometry(OdometryModel):
    """base_linear_velocity disabled: observes zeros (the term is not in the layout)."""

    def reset(self, ids, reference):
        """Nothing to estimate."""

    def update(self, state):
        """Nothing to estimate."""


def make_odometry(spec, num_envs, rng):
    """Return the odometry model of ``env.base_linear_velocity`` (enabled or not)."""
    return (OdometryModel if spec.enabled else NoOdometry)(spec, num_envs, rng)


class HeadingOrigin(_Checkpointed):
    """The IMU yaw at each environment's episode start (rad)."""

    STATE = ('heading_origin',)

    def __init__(self, num_envs):
        self.heading_origin = np.zeros(num_envs)

    def reset(self, i, sim):
        """Record environment ``i``'s IMU yaw (its simulator ``sim``) as its episode starts."""
        self.heading_origin[i] = yaw_angle(sim.read_state().imu_orientation)


class NoHeading(HeadingOrigin):
    """observe_heading disabled: the origins stay 0 (the term is not in the layout)."""

    def reset(self, i, sim):
        """Nothing to record."""


def make_heading(enabled, num_envs):
    """Return the heading origin of ``env.observe_heading`` (enabled or not)."""
    return (HeadingOrigin if enabled else NoHeading)(num_envs)


class PositionOrigin(_Checkpointed):
    """The base's ``[x, y, yaw]`` at each environment's episode start (m, m, rad)."""

    STATE = ('position_origin',)

    def __init__(self, num_envs):
        self.position_origin = np.zeros((num_envs, 3))

    def reset(self, i, sim):
        """Record environment ``i``'s base position and yaw (its simulator ``sim``)."""
        state = sim.read_state()
        self.position_origin[i, :2] = state.base_position[:2]
        self.position_origin[i, 2] = yaw_angle(state.base_orientation)


class NoPosition(PositionOrigin):
    """observe_position_scale 0: the origins stay 0 (the term is not in the layout)."""

    def reset(self, i, sim):
        """Nothing to record."""


def make_position(enabled, num_envs):
    """Return the position origin of ``env.observe_position_scale`` (on or off)."""
    return (PositionOrigin if enabled else NoPosition)(num_envs)
