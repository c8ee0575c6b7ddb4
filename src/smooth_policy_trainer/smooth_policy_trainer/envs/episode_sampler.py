"""
The draws of domain randomisation: one random stream per group, spawned from ``env.seed``.

Every group draws from its own stream, so turning one group on or off leaves the others' draws
unchanged, and the same seed gives the same draws. The streams are not the environment's own
(start phases, reset noise): turning randomisation on leaves those alone. Gain and strength
scales are drawn log-uniformly, everything else uniformly (config/domain_randomization.py).
"""

from fnmatch import fnmatchcase

import numpy as np
from sim_bridge.randomization import PhysicsParameters
from smooth_policy_trainer.config.domain_randomization import GROUPS

# Mixed into env.seed so these streams are not the environment's own (start phases, noise).
STREAM_TAG = 0x5D0A1


class EpisodeSampler:
    """One random stream per group (spawned from the seed) and the draws of each group."""

    def __init__(self, config, seed, joint_names):
        """``joint_names`` in the robot's order (the arm ranges go to the arm's joints)."""
        self.config = config
        streams = np.random.SeedSequence([STREAM_TAG, int(seed)]).spawn(len(GROUPS))
        self.rng = {name: np.random.default_rng(stream) for name, stream in zip(GROUPS, streams)}
        self.arm = np.array([fnmatchcase(name, config.actuators.arm_joints)
                             for name in joint_names])
        self.num_joints = len(joint_names)

    def physics(self, count):
        """Return the drawn physics parameters of ``count`` episodes (PhysicsParameters)."""
        c, p = self.config, PhysicsParameters()
        if c.mass.enabled:
            rng = self.rng['mass']
            p.base_mass_scale = rng.uniform(*c.mass.base_scale, count)
            p.link_mass_scale = rng.uniform(*c.mass.link_scale, count)
        if c.center_of_mass.enabled:
            p.base_com_offset = self.rng['center_of_mass'].uniform(
                *c.center_of_mass.offset_m, (count, 3))
        if c.inertia.enabled:
            p.base_inertia_scale = self.rng['inertia'].uniform(*c.inertia.base_scale, count)
        if c.friction.enabled:
            p.friction = self.rng['friction'].uniform(*c.friction.value_range, count)
        if c.foot_contact.enabled:
            rng, foot = self.rng['foot_contact'], c.foot_contact
            p.foot_solref = np.stack([rng.uniform(*foot.solref_timeconst_s, count),
                                      rng.uniform(*foot.solref_dampratio, count)], axis=1)
            p.foot_solimp = np.stack([rng.uniform(*foot.solimp_dmin, count),
                                      rng.uniform(*foot.solimp_dmax, count)], axis=1)
            p.foot_solimp[:, 1] = np.maximum(p.foot_solimp[:, 1], p.foot_solimp[:, 0])
            p.foot_radius_scale = rng.uniform(*foot.radius_scale, count)
        if c.actuators.enabled:
            rng, act, shape = self.rng['actuators'], c.actuators, (count, self.num_joints)
            p.kp_scale = np.where(self.arm, log_uniform(rng, act.arm_kp_scale, shape),
                                  log_uniform(rng, act.kp_scale, shape))
            p.kd_scale = np.where(self.arm, log_uniform(rng, act.arm_kd_scale, shape),
                                  log_uniform(rng, act.kd_scale, shape))
            p.strength_scale = log_uniform(rng, act.strength_scale, shape)
        if c.joint_dynamics.enabled:
            rng, joints = self.rng['joint_dynamics'], c.joint_dynamics
            p.armature_scale = rng.uniform(*joints.armature_scale, (count, self.num_joints))
            p.damping_scale = rng.uniform(*joints.damping_scale, (count, self.num_joints))
        return p

    def action_latency_s(self, count):
        """Return ``count`` action latencies (s); zeros when the group is off."""
        spec = self.config.action_latency
        if not spec.enabled:
            return np.zeros(count)
        return self.rng['action_latency'].uniform(*spec.seconds, count)

    def sensor_latency_steps(self, count):
        """Return {sensor: (count,) ints} of per-episode latencies (zeros when off)."""
        spec = self.config.observation_latency
        ranges = {'joint_states': spec.joint_state_steps, 'imu': spec.imu_steps,
                  'odometry': spec.odometry_steps}
        if not spec.enabled:
            return {name: np.zeros(count, dtype=np.int64) for name in ranges}
        rng = self.rng['observation_latency']
        return {name: rng.integers(low, high + 1, count) for name, (low, high) in
                ranges.items()}

    def odometry_phase(self, count):
        """Return where in its period each episode's odometry starts, in [0, 1)."""
        if not self.config.observation_latency.enabled:
            return np.zeros(count)
        return self.rng['observation_latency'].uniform(0.0, 1.0, count)

    def push_interval_s(self, count):
        """Return the times to the next push of ``count`` environments (s)."""
        return self.rng['pushes'].uniform(*self.config.pushes.interval_s, count)

    def push_velocity(self, count):
        """Return ``count`` pushes (world-frame velocity changes, m/s): any horizontal heading."""
        spec, rng = self.config.pushes, self.rng['pushes']
        heading = rng.uniform(-np.pi, np.pi, count)
        size = rng.uniform(0.0, spec.max_velocity_m_s, count)
        vertical = rng.uniform(-spec.vertical_m_s, spec.vertical_m_s, count)
        return np.stack([size * np.cos(heading), size * np.sin(heading), vertical], axis=1)

    def get_state(self):
        """Return every stream's state."""
        return {name: rng.bit_generator.state for name, rng in self.rng.items()}

    def set_state(self, state):
        """Restore the streams from get_state()."""
        for name, rng in self.rng.items():
            rng.bit_generator.state = state[name]


def log_uniform(rng, bounds, shape):
    """Draw from a log-uniform distribution over [low, high] (positive bounds)."""
    low, high = np.log(bounds[0]), np.log(bounds[1])
    return np.exp(rng.uniform(low, high, shape))
