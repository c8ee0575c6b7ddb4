"""
What the policy observes of the robot's sensors: each sensor late, noisy, odometry at its rate.

Three sensors, as the Spot driver delivers them: ``joint_states`` (joint positions and
velocities), ``imu`` (orientation and angular velocity) and ``odometry`` (the body-frame linear
velocity estimate and the base position). Each keeps a ring buffer of its last samples per
environment; the policy sees the sample ``latency`` control steps old (drawn per episode, per
sensor). Odometry is sampled at its own rate and held in between (sample-and-hold, with a
per-episode phase), then delayed. Noise is drawn when a sample is taken and stays with it, so
re-reading the same state (a resumed run) observes the same values.

All arrays are batched over environments: no Python loop over environments per step.
"""

from lpn_controller.rotations import quat_multiply
import numpy as np

SENSORS = {'joint_states': ('joint_positions', 'joint_velocities'),
           'imu': ('imu_orientation', 'imu_angular_velocity'),
           'odometry': ('linear_velocity', 'base_position')}
NOISE_FIELDS = {'joint_positions': 'joint_position_rad',
                'joint_velocities': 'joint_velocity_rad_s',
                'imu_angular_velocity': 'angular_velocity_rad_s',
                'imu_orientation': 'orientation_rad',
                'linear_velocity': 'linear_velocity_m_s'}


class SensorDelay:
    """Per-sensor latency ring buffers, odometry sample-and-hold and noise (see module)."""

    def __init__(self, num_envs, max_latency_steps, odometry_period_steps=1.0, noise=None,
                 rng=None):
        """
        Keep ``max_latency_steps`` ({sensor: the largest latency}) of samples per sensor.

        ``odometry_period_steps``: control steps between odometry samples (>= 1); ``noise``:
        {field: half-width} or None; ``rng`` draws the noise.
        """
        self.num_envs = num_envs
        self.depth = {name: int(max_latency_steps.get(name, 0)) + 1 for name in SENSORS}
        self.odometry_period = max(float(odometry_period_steps), 1.0)
        self.noise = {name: float(value) for name, value in (noise or {}).items() if value}
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.buffers = {}
        self.latency = {name: np.zeros(num_envs, dtype=np.int64) for name in SENSORS}
        self.head = 0   # the newest sample's slot, the same for every sensor and environment
        self.odometry_clock = np.zeros(num_envs)   # control steps since the last odometry sample

    def _ensure(self, values):
        for sensor, names in SENSORS.items():
            for name in names:
                if name not in self.buffers:
                    self.buffers[name] = np.zeros((self.depth[sensor], self.num_envs,
                                                   np.shape(values[name])[-1]))

    def reset(self, env_ids, values, latency, odometry_phase):
        """
        Start these environments' episodes: every slot holds their current (noisy) sample.

        ``values``: {field: (N, dim)} of every environment, rows of ``env_ids`` used;
        ``latency``: {sensor: (len(env_ids),)} steps; ``odometry_phase`` in [0, 1) per id.
        """
        self._ensure(values)
        ids = np.asarray(env_ids, dtype=int)
        for sensor in SENSORS:
            self.latency[sensor][ids] = latency[sensor]
        self.odometry_clock[ids] = np.asarray(odometry_phase) * self.odometry_period
        for name, buffer in self.buffers.items():
            buffer[:, ids] = self._noisy(name, np.asarray(values[name])[ids])

    def record(self, values):
        """Take this control step's samples (every environment; {field: (N, dim)})."""
        self._ensure(values)
        self.head += 1
        self.odometry_clock += 1.0
        fresh = self.odometry_clock >= self.odometry_period - 1e-9
        self.odometry_clock[fresh] -= self.odometry_period
        for sensor, names in SENSORS.items():
            depth = self.depth[sensor]
            slot, previous = self.head % depth, (self.head - 1) % depth
            for name in names:
                buffer = self.buffers[name]
                sample = self._noisy(name, np.asarray(values[name]))
                if sensor == 'odometry':   # held until the next sample is due
                    sample = np.where(fresh[:, None], sample, buffer[previous])
                buffer[slot] = sample

    def seen(self, values):
        """Return what the policy sees now (the samples taken, not ``values`` themselves)."""
        return self.observe()

    def observe(self):
        """Return {field: (N, dim)}: each sensor's sample ``latency`` steps old."""
        envs = np.arange(self.num_envs)
        observed = {}
        for sensor, names in SENSORS.items():
            slot = (self.head - self.latency[sensor]) % self.depth[sensor]
            for name in names:
                if name in self.buffers:
                    observed[name] = self.buffers[name][slot, envs]
        return observed

    def _noisy(self, name, value):
        amplitude = self.noise.get(name)
        if not amplitude:
            return value.copy()
        if name == 'imu_orientation':
            return perturb_quaternion(value, self.rng.uniform(-amplitude, amplitude,
                                                              value[..., :3].shape))
        return value + self.rng.uniform(-amplitude, amplitude, value.shape)

    def get_state(self):
        """Return the buffers, latencies, clocks and the noise stream (for checkpoints)."""
        return {'buffers': {name: value.copy() for name, value in self.buffers.items()},
                'latency': {name: value.copy() for name, value in self.latency.items()},
                'head': self.head, 'odometry_clock': self.odometry_clock.copy(),
                'rng': self.rng.bit_generator.state}

    def set_state(self, state):
        """Restore from get_state()."""
        self.buffers = {name: np.array(value) for name, value in state['buffers'].items()}
        self.latency = {name: np.array(value) for name, value in state['latency'].items()}
        self.head = int(state['head'])
        self.odometry_clock = np.array(state['odometry_clock'])
        self.rng.bit_generator.state = state['rng']


class NoSensorDelay:
    """Neither sensor latency nor observation noise: the policy sees the sensors as they are."""

    def reset(self, env_ids, values, latency, odometry_phase):
        """No samples to keep."""

    def record(self, values):
        """No samples to keep."""

    def seen(self, values):
        """Return ``values`` ({field: (N, dim)}) as they are."""
        return values

    def get_state(self):
        """Nothing to checkpoint."""
        return None

    def set_state(self, state):
        """Nothing to restore."""


def perturb_quaternion(quaternion_wxyz, rotation_vector):
    """Return q * exp(rotation_vector / 2) normalised: a small rotation in the body frame."""
    half = 0.5 * np.asarray(rotation_vector)
    delta = np.concatenate([np.ones(half.shape[:-1] + (1,)), half], axis=-1)
    product = quat_multiply(quaternion_wxyz, delta)
    return product / np.linalg.norm(product, axis=-1, keepdims=True)
