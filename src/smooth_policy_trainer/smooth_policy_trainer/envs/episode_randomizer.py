"""
The training environment's side of domain randomisation: one object the environment calls.

:class:`DomainRandomizer` joins the draws (episode_sampler.EpisodeSampler), the models
(sim_bridge.randomization.ModelRandomizer), the pushes, the action latency and the sensors
(sensor_delay.SensorDelay). The environment calls it at five places:

* ``before_reset(ids)``: draw and apply the episode's physics, latencies and push schedule;
* ``after_reset(ids, odometry)``: start the latency buffers from the reset state;
* ``step(targets)``: pushes that are due, then one control step with the action latency;
  it returns VectorSimulator.step's instability events;
* ``record(state, odometry)``: the sensors' samples of the new state;
* ``observe(state, odometry)``: what the policy sees of them.

The switch is decided once, in make_domain_randomizer: with every group off the environment
holds a :class:`NoDomainRandomization`, which draws nothing, steps the simulator as it is and
observes the state as it is, so the environment trains exactly as without randomisation.

Everything per step is batched over environments; per-environment Python runs only where a
model or a pushed base is changed (at resets and pushes).
"""

from dataclasses import fields

import numpy as np
from sim_bridge.randomization import ModelRandomizer, PhysicsParameters, push_bases
from smooth_policy_trainer.config.domain_randomization import (PHYSICS_GROUPS,
                                                               randomization_metadata)
from smooth_policy_trainer.envs.episode_sampler import EpisodeSampler
from smooth_policy_trainer.envs.sensor_delay import NOISE_FIELDS, NoSensorDelay, SensorDelay


class DomainRandomizer:
    """Draws and applies env.domain_randomization for a VectorSimulator's environments."""

    enabled = True

    def __init__(self, config, vector_simulator, seed):
        """``config``: a DomainRandomizationConfig with at least one group on."""
        self.config = config
        self.sim = vector_simulator
        self.num_envs = n = vector_simulator.num_envs
        robot = vector_simulator.config
        self.sampler = EpisodeSampler(config, seed, robot.joint_names)
        self.models = (ModelRandomizer(vector_simulator)
                       if any(getattr(config, g).enabled for g in PHYSICS_GROUPS) else None)
        self.parameters = {}   # field -> (N, ...) the parameters each environment runs with
        self.control_dt, self.physics_dt = robot.control_dt, robot.physics_dt
        self.substeps = robot.substeps
        # Action latency in physics steps: whole control steps from a history of targets, the
        # rest inside the step (VectorSimulator.step's late targets).
        self.latency_substeps = np.zeros(n, dtype=np.int64)
        longest = int(round(config.action_latency.seconds[1] / self.physics_dt)) \
            if config.action_latency.enabled else 0
        self.target_history = np.zeros((longest // self.substeps + 2, n, len(robot.joint_names)))
        self.time_to_push = np.full(n, np.inf)
        self.last_push = np.zeros((n, 3))      # the latest push of each environment (m/s)
        self.pushes = np.zeros(n, dtype=np.int64)
        # The sensors as the policy sees them: late and noisy, or as they are (decided here).
        self.sensors = NoSensorDelay()
        latency, noise = config.observation_latency, config.observation_noise
        if latency.enabled or noise.enabled:
            self.sensors = SensorDelay(
                n, {'joint_states': latency.joint_state_steps[1], 'imu': latency.imu_steps[1],
                    'odometry': latency.odometry_steps[1]} if latency.enabled else {},
                (1.0 / latency.odometry_rate_hz) / self.control_dt if latency.enabled else 1.0,
                {name: getattr(noise, key) for name, key in NOISE_FIELDS.items()}
                if noise.enabled else None, self.sampler.rng['observation_noise'])

    # -- episodes --------------------------------------------------------------------------------

    def before_reset(self, env_ids):
        """Draw and apply these environments' episode parameters (before their state reset)."""
        ids = np.asarray(env_ids, dtype=int)
        if self.models is not None:
            drawn = self.sampler.physics(len(ids))
            for item in fields(drawn):
                value = getattr(drawn, item.name)
                if value is None:
                    continue
                if item.name not in self.parameters:
                    self.parameters[item.name] = np.zeros((self.num_envs,) + value.shape[1:])
                self.parameters[item.name][ids] = value
            self.models.apply(ids, drawn)
        latency_s = self.sampler.action_latency_s(len(ids))
        self.latency_substeps[ids] = np.round(latency_s / self.physics_dt).astype(np.int64)
        if self.config.pushes.enabled:
            self.time_to_push[ids] = self.sampler.push_interval_s(len(ids))
            self.last_push[ids] = 0.0

    def after_reset(self, env_ids, odometry):
        """Start the reset environments' histories from their reset state (odometry: (N, 3))."""
        ids = np.asarray(env_ids, dtype=int)
        state = self.sim.read_state()
        # Until the first action arrives the motors hold the reset pose (Simulator.reset).
        limits = self.sim.envs[0].joint_limits
        self.target_history[:, ids] = np.clip(state.joint_positions[ids], limits[:, 0],
                                              limits[:, 1])
        # Both draws are zeros, drawing nothing, while observation_latency is off.
        self.sensors.reset(ids, _sensor_values(state, odometry),
                           self.sampler.sensor_latency_steps(len(ids)),
                           self.sampler.odometry_phase(len(ids)))

    # -- stepping --------------------------------------------------------------------------------

    def step(self, joint_targets):
        """Push the environments whose push is due, then step every one with its latency."""
        if self.config.pushes.enabled:
            self.time_to_push -= self.control_dt
            due = np.flatnonzero(self.time_to_push <= 1e-9)
            if len(due):
                change = self.sampler.push_velocity(len(due))
                push_bases(self.sim, due, change)
                self.last_push[due] = change
                self.pushes[due] += 1
                self.time_to_push[due] = self.sampler.push_interval_s(len(due))
        if not self.config.action_latency.enabled:
            return self.sim.step(joint_targets)
        self.target_history = np.roll(self.target_history, 1, axis=0)
        self.target_history[0] = joint_targets
        whole, part = np.divmod(self.latency_substeps, self.substeps)
        envs = np.arange(self.num_envs)
        return self.sim.step(self.target_history[whole, envs],
                             late_targets=self.target_history[whole + 1, envs],
                             late_substeps=part)

    def record(self, state, odometry):
        """Take the sensors' samples of the state after a step."""
        self.sensors.record(_sensor_values(state, odometry))

    def observe(self, state, odometry):
        """
        Return what the policy sees of the sensors.

        (joint positions, joint velocities, orientation, angular velocity, odometry velocity,
        odometry position).
        """
        seen = self.sensors.seen(_sensor_values(state, odometry))
        return (seen['joint_positions'], seen['joint_velocities'], seen['imu_orientation'],
                seen['imu_angular_velocity'], seen['linear_velocity'], seen['base_position'])

    # -- records ---------------------------------------------------------------------------------

    def metadata(self):
        """Return the ranges in use (the exported policy's ``randomization`` section)."""
        return randomization_metadata(self.config)

    def policy_metadata(self):
        """Return the policy metadata's ``randomization`` entry: the ranges trained with."""
        return {'randomization': self.metadata()}

    def state(self):
        """Return the checkpoint's ``domain_randomization`` entry (see get_state)."""
        return {'domain_randomization': self.get_state()}

    def load_state(self, state):
        """Restore from a checkpoint's entries (see state)."""
        self.set_state(state['domain_randomization'])

    def get_state(self):
        """Return everything a resumed run needs to continue exactly."""
        return {'streams': self.sampler.get_state(),
                'parameters': {name: value.copy() for name, value in self.parameters.items()},
                'latency_substeps': self.latency_substeps.copy(),
                'target_history': self.target_history.copy(),
                'time_to_push': self.time_to_push.copy(), 'last_push': self.last_push.copy(),
                'pushes': self.pushes.copy(),
                'sensors': self.sensors.get_state()}

    def set_state(self, state):
        """Restore from get_state() and set the saved physics on every model again."""
        self.sampler.set_state(state['streams'])
        self.parameters = {name: np.array(value) for name, value in state['parameters'].items()}
        if self.models is not None:
            self.models.apply(np.arange(self.num_envs), PhysicsParameters(**self.parameters))
        for name in ('latency_substeps', 'target_history', 'time_to_push', 'last_push',
                     'pushes'):
            setattr(self, name, np.array(state[name]))
        self.sensors.set_state(state['sensors'])


def _sensor_values(state, odometry):
    return {'joint_positions': state.joint_positions,
            'joint_velocities': state.joint_velocities,
            'imu_orientation': state.imu_orientation,
            'imu_angular_velocity': state.imu_angular_velocity,
            'linear_velocity': odometry,
            'base_position': state.base_position}   # the odometry pose's position


class NoDomainRandomization:
    """Every group off: nothing drawn, the simulator stepped and observed as it is."""

    enabled = False

    def __init__(self, vector_simulator):
        self.sim = vector_simulator

    def before_reset(self, env_ids):
        """Nothing to draw."""

    def after_reset(self, env_ids, odometry):
        """No histories to start."""

    def step(self, joint_targets):
        """Step the simulator; returns its instability events."""
        return self.sim.step(joint_targets)

    def record(self, state, odometry):
        """No sensor samples to keep."""

    def observe(self, state, odometry):
        """Return the state's own sensor values and the odometry estimate, as observed."""
        return (state.joint_positions, state.joint_velocities, state.imu_orientation,
                state.imu_angular_velocity, odometry, state.base_position)

    def policy_metadata(self):
        """Nothing randomised: the policy metadata has no ``randomization`` entry."""
        return {}

    def state(self):
        """Nothing to checkpoint."""
        return {}

    def load_state(self, state):
        """Nothing to restore."""


def make_domain_randomizer(config, vector_simulator, seed):
    """Return the randomizer of ``env.domain_randomization`` (any group on or none)."""
    if config.any_enabled:
        return DomainRandomizer(config, vector_simulator, seed)
    return NoDomainRandomization(vector_simulator)
