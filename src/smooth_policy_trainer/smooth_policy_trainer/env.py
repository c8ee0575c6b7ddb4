"""
Vectorised motion-imitation environment over the sim_bridge simulator core.

N robots (VectorSimulator, the stepping code of the bridge node) follow one motion clip.
Observations come from lpn_controller's ObservationBuilder, the function the controller runs
on the robot; the phase is a separate input, as the policies take it. Episodes start from a
reference frame at a random phase (reference state initialisation), end early on a fall, and are
truncated after ``episode_length_s``. Finished environments reset themselves inside step().

An episode whose simulation went unstable (MuJoCo reset the state: see sim_bridge.instability)
ends with its own reason, ``unstable``: neither a fall nor a time-out. Its last step earns no
reward and is no transition to learn from (the learners leave it out); its episode is left out
of ``finished_returns`` and ``finished_lengths``.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict

from lpn_controller.observation import ObservationBuilder, ObservationTerm, yaw_angle
from lpn_controller.runtime import low_pass
import numpy as np
from sim_bridge.config import load_config
from sim_bridge.rotations import rotate_into_body, tilt_angle
from sim_bridge.vector import VectorSimulator
from smooth_policy_trainer.clip_joints import robot_joint_map
from smooth_policy_trainer.clip_kinematics import end_effector_site_names
from smooth_policy_trainer.clips import load_clip, load_shipped_clip, read_clip_header
from smooth_policy_trainer.domain_randomization import DomainRandomizationConfig
from smooth_policy_trainer.episode_randomizer import DomainRandomizer
from smooth_policy_trainer.floor_start import FloorStart
from smooth_policy_trainer.imitation import (DEFAULT_REWARD_TERMS, imitation_errors,
                                             imitation_reward, RewardTerm, WORLD_TERMS)


@dataclass
class RandomizationConfig:
    """Domain randomisation, drawn per environment at every reset (off by default)."""

    enabled: bool = False
    friction: tuple = (0.6, 1.2)          # floor sliding friction
    base_mass_scale: tuple = (0.9, 1.1)
    pd_gain_scale: tuple = (0.85, 1.15)   # kp and kd together
    max_latency_steps: int = 0            # actions applied 0..k control steps late


@dataclass
class LinearVelocityObservation:
    """
    The base linear velocity term, as a robot's odometry estimate delivers it (off by default).

    Without it the policy cannot sense whether the body moves: a robot that trots in place loses
    little reward. On the robot the value is the driver's state estimate, so training sees the
    true body-frame velocity plus a per-episode bias, per-step noise and a per-episode delay.
    """

    enabled: bool = False
    scale: float = 1.0                    # observation = scale * v_body, v in m/s
    noise: float = 0.05                   # m/s, uniform in [-noise, noise] per step and axis
    bias: float = 0.05                    # m/s, uniform per episode and axis
    max_latency_steps: int = 1            # the estimate is 0..k control steps old, per episode


@dataclass
class EnvConfig:
    """Everything that defines the task; written into checkpoints and policy provenance."""

    clip: str = 'trot'                    # shipped clip name, or a path to a clip
    num_envs: int = 32
    episode_length_s: float = 10.0
    robot_config: str = ''                # '' = the packaged quadruped with arm
    # Clip joint name -> this robot's joint name, over the robot config's joint_map (a clip
    # made for another robot); {} = the robot config's joint_map alone.
    joint_remap: Dict[str, str] = field(default_factory=dict)
    physics: str = 'full'                 # sim_bridge.physics configuration: 'full' or 'fast'
    action_scale: float = 0.5             # joint_target = default_pose + scale * action
    action_clip: float = 10.0
    default_pose: str = 'clip_mean'       # 'clip_mean' or 'keyframe'
    angular_velocity_scale: float = 0.25
    joint_velocity_scale: float = 0.05
    base_linear_velocity: LinearVelocityObservation = field(
        default_factory=LinearVelocityObservation)
    # The yaw turned since the episode started (IMU), so that heading drift is observable and
    # can be undone; the controller counts it from engagement. Clips must keep a constant yaw.
    observe_heading: bool = False
    reward_terms: dict = field(default_factory=lambda: {
        name: {'weight': term.weight, 'scale': term.scale}
        for name, term in DEFAULT_REWARD_TERMS.items()})
    # Bodies whose ground contact is a fall (patterns); () = the robot config's fall_bodies.
    fall_bodies: tuple = ()
    max_height_error: float = 0.25        # m, from the reference root height
    max_orientation_error: float = 0.8    # rad of tilt (roll/pitch) from the reference's;
    #                                       heading drift is scored by the reward, not a fall
    max_root_drift: float = 0.0           # m, horizontal distance from the reference root that
    #                                       ends the episode (DeepMimic's early termination); 0 off
    reset_joint_noise: float = 0.05       # rad, uniform
    # Reference starts with the root height set so the lowest foot stands on this model's
    # floor at the clip's clearance (floor_start.py): for models the clip was not made on.
    start_on_floor: bool = False
    # Smoothness baselines (METHODS.md 6), off by default:
    action_rate_weight: float = 0.0       # r_rate = -w sum_j (a_t,j - a_t-1,j)^2 dt_policy
    action_filter_alpha: float = 1.0      # command = alpha a + (1 - alpha) command; 1 = none
    seed: int = 0
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    # Dynamics, latencies, noise and pushes (domain_randomization.py); every group off by default.
    domain_randomization: DomainRandomizationConfig = field(
        default_factory=DomainRandomizationConfig)


@dataclass
class StepResult:
    """What step() returns; arrays have a leading environment axis."""

    observations: np.ndarray
    phases: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray                # a fall (or drift past max_root_drift)
    truncated: np.ndarray                 # a time-out
    reward_terms: dict
    finished_returns: np.ndarray          # returns of the episodes that ended this step
    finished_lengths: np.ndarray
    # The simulation went unstable in this step (not a fall, not a time-out): the environment
    # was reset, and the step is no transition (no reward; nothing after it to bootstrap from).
    unstable: np.ndarray


class ImitationEnv:
    """N quadrupeds imitating one clip; numpy in, numpy out."""

    def __init__(self, config=EnvConfig()):
        self.config = config
        self.robot = load_config(config.robot_config or None)
        self.fall_bodies = tuple(config.fall_bodies or self.robot.fall_bodies)
        if not self.fall_bodies:
            raise ValueError(f'env.fall_bodies is empty and the robot configuration '
                             f'{self.robot.source} names no fall_bodies: list the bodies whose '
                             'ground contact is a fall')
        # Fall detection reads the fall bodies' floor contacts: a physics configuration that
        # filters collisions must keep them.
        self.sim = VectorSimulator(config.num_envs, self.robot, seed=config.seed,
                                   physics=config.physics, contact_bodies=self.fall_bodies)
        self.num_envs = config.num_envs
        # The clip's joint names reach this robot's through its joint_map and env.joint_remap.
        load = (load_clip if Path(config.clip).suffix in ('.yaml', '.npz')
                else load_shipped_clip)
        self.clip = load(config.clip, self.robot, self.sim.envs[0].model,
                         dict(config.joint_remap))
        self.joint_names = self.robot.joint_names
        self.num_actions = len(self.joint_names)
        # Reset noise is drawn in the clip file's joint order, so the order a robot config
        # lists its joints in does not change the episodes (a transfer starts as at home).
        self._noise_order = robot_joint_map(
            read_clip_header(config.clip)['joint_names'], self.robot,
            config.joint_remap).output_indices(self.joint_names)
        first = self.sim.envs[0]
        self.default_pose = (self.clip.joint_positions.mean(axis=0)
                             if config.default_pose == 'clip_mean' else first.joint_targets)
        if config.default_pose not in ('clip_mean', 'keyframe'):
            raise ValueError("env.default_pose must be 'clip_mean' or 'keyframe', got "
                             f"'{config.default_pose}'")
        n = self.num_actions
        velocity = config.base_linear_velocity
        self.observation_terms = (
            ObservationTerm('projected_gravity', 3, 1.0),
            ObservationTerm('base_angular_velocity', 3, config.angular_velocity_scale),
            *([ObservationTerm('base_linear_velocity', 3, velocity.scale)]
              if velocity.enabled else []),
            *([ObservationTerm('heading', 1, 1.0)] if config.observe_heading else []),
            ObservationTerm('joint_positions', n, 1.0),
            ObservationTerm('joint_velocities', n, config.joint_velocity_scale),
            ObservationTerm('previous_action', n, 1.0),
        )
        self.builder = ObservationBuilder(self.observation_terms, self.default_pose)
        self.observation_size = self.builder.size
        if config.observe_heading:
            yaw = np.degrees(yaw_angle(self.clip.root_orientation))
            if np.ptp(yaw) > 1.0:
                raise ValueError(f'env.observe_heading: clip {self.clip.name!r} turns by '
                                 f'{np.ptp(yaw):.1f} deg; the heading term assumes the '
                                 "reference's yaw stays constant")
        self.reward_terms = {name: RewardTerm(**term)
                             for name, term in config.reward_terms.items()}
        self._uses_world_terms = any(self.reward_terms[name].weight != 0.0
                                     for name in WORLD_TERMS if name in self.reward_terms)
        self.control_dt = self.robot.control_dt
        self.max_episode_steps = int(round(config.episode_length_s / self.control_dt))
        self.end_effector_names = end_effector_site_names(self.robot)
        self._site_ids = [first.model.site(name).id for name in self.end_effector_names]
        self._fall_geoms = first.geoms_of_bodies(self.fall_bodies)
        self.sim.track(sites=self._site_ids, ground_geoms=self._fall_geoms)
        self._floor = [int(g) for g in range(first.model.ngeom) if first.model.geom_bodyid[g] == 0]
        self._nominal_mass = first.model.body_mass.copy()
        self._base_body = first.model.body(self.robot.base_body).id
        self.rng = np.random.default_rng(config.seed)

        self.start_phase = np.zeros(self.num_envs)
        self.episode_step = np.zeros(self.num_envs, dtype=np.int64)
        self.episode_return = np.zeros(self.num_envs)
        self.previous_action = np.zeros((self.num_envs, n))
        self.commanded_action = np.zeros((self.num_envs, n))   # after the low-pass filter
        self.latency = np.zeros(self.num_envs, dtype=np.int64)
        depth = config.randomization.max_latency_steps + 1
        self.action_history = np.zeros((depth, self.num_envs, n))
        # The odometry estimate: true body-frame velocities, newest first, and what is observed.
        self.velocity_history = np.zeros((velocity.max_latency_steps + 1, self.num_envs, 3))
        self.velocity_bias = np.zeros((self.num_envs, 3))
        self.velocity_latency = np.zeros(self.num_envs, dtype=np.int64)
        self.observed_velocity = np.zeros((self.num_envs, 3))
        self.heading_origin = np.zeros(self.num_envs)   # IMU yaw at each episode's start
        # Hook (issue 29): domain randomisation, None when every group is off.
        self.randomizer = (DomainRandomizer(config.domain_randomization, self.sim, config.seed)
                           if config.domain_randomization.any_enabled else None)
        # Hook (issue 29): starts on this model's floor, None for the clip's root height.
        self.floor_start = (FloorStart(self.clip, first.model, self.robot)
                            if config.start_on_floor else None)

    # -- phase -----------------------------------------------------------------------------------

    @property
    def phase_period_s(self):
        """Return the seconds per phase cycle of the clip."""
        return self.clip.phase_period_s

    def absolute_phase(self):
        """Return the phase since each episode's phase 0 (the integer part counts cycles)."""
        return self.start_phase + self.episode_step * self.control_dt / self.phase_period_s

    def phases(self):
        """Return the phase the policy sees, in [0, 1)."""
        return np.mod(self.absolute_phase(), 1.0)

    # -- episodes --------------------------------------------------------------------------------

    def reset(self):
        """Reset every environment; returns (observations, phases)."""
        self._reset_envs(np.arange(self.num_envs))
        return self._observe(), self.phases()

    def _reset_envs(self, ids):
        config = self.config
        if self.randomizer is not None:   # hook (issue 29): this episode's physics first
            self.randomizer.before_reset(ids)
        self.start_phase[ids] = self.rng.uniform(0.0, 1.0, len(ids))
        self.episode_step[ids] = 0
        self.episode_return[ids] = 0.0
        self.previous_action[ids] = 0.0
        self.commanded_action[ids] = 0.0
        self.action_history[:, ids] = 0.0
        reference = self.clip.sample(self.start_phase[ids])
        noise = self.rng.uniform(-config.reset_joint_noise, config.reset_joint_noise,
                                 (len(ids), self.num_actions))[:, self._noise_order]
        for row, i in enumerate(ids):
            sim = self.sim.envs[i]
            if config.randomization.enabled:
                self._randomize(sim, i)
            limits = sim.joint_limits
            pose = (reference.root_orientation[row],
                    np.clip(reference.joint_positions[row] + noise[row], limits[:, 0],
                            limits[:, 1]),
                    reference.root_linear_velocity[row], reference.root_angular_velocity[row],
                    reference.joint_velocities[row])
            sim.reset_to_pose(reference.root_position[row], *pose)
            if self.floor_start is not None:   # hook (issue 29): the same pose, on the floor
                sim.reset_to_pose(self.floor_start.root_position(sim, reference, row), *pose)
            if config.observe_heading:
                self.heading_origin[i] = yaw_angle(sim.read_state().imu_orientation)
        if config.base_linear_velocity.enabled:
            self._reset_velocity_estimate(ids, rotate_into_body(reference.root_orientation,
                                                                reference.root_linear_velocity))
        if self.randomizer is not None:   # hook (issue 29): latency buffers from the new state
            self.randomizer.after_reset(ids, self.sim.read_state(), self.observed_velocity)

    def _reset_velocity_estimate(self, ids, body_velocity):
        # Episodes start moving at the reference's velocity: that is what the history holds.
        spec = self.config.base_linear_velocity
        self.velocity_bias[ids] = self.rng.uniform(-spec.bias, spec.bias, (len(ids), 3))
        self.velocity_latency[ids] = self.rng.integers(0, spec.max_latency_steps + 1, len(ids))
        self.velocity_history[:, ids] = body_velocity
        self.observed_velocity[ids] = self._estimate(body_velocity, self.velocity_bias[ids])

    def _estimate(self, delayed_velocity, bias):
        noise = self.config.base_linear_velocity.noise
        return delayed_velocity + bias + self.rng.uniform(-noise, noise, delayed_velocity.shape)

    def _update_velocity_estimate(self, state):
        self.velocity_history = np.roll(self.velocity_history, 1, axis=0)
        self.velocity_history[0] = rotate_into_body(state.base_orientation,
                                                    state.base_linear_velocity)
        delayed = self.velocity_history[self.velocity_latency, np.arange(self.num_envs)]
        self.observed_velocity = self._estimate(delayed, self.velocity_bias)

    def _randomize(self, sim, i):
        spec = self.config.randomization
        model = sim.model
        model.geom_friction[self._floor, 0] = self.rng.uniform(*spec.friction)
        model.body_mass[self._base_body] = self._nominal_mass[self._base_body] * \
            self.rng.uniform(*spec.base_mass_scale)
        gain_scale = self.rng.uniform(*spec.pd_gain_scale)
        sim.set_pd_gains(np.multiply(self.robot.kp, gain_scale),
                         np.multiply(self.robot.kd, gain_scale))
        self.latency[i] = self.rng.integers(0, spec.max_latency_steps + 1)

    # -- stepping --------------------------------------------------------------------------------

    def step(self, actions):
        """Apply raw policy actions (N, m) for one control period."""
        actions = np.clip(np.asarray(actions, dtype=float), -self.config.action_clip,
                          self.config.action_clip)
        if not np.all(np.isfinite(actions)):
            raise ValueError('policy actions contain NaN or inf')
        self.commanded_action = low_pass(actions, self.commanded_action,
                                         self.config.action_filter_alpha)
        self.action_history = np.roll(self.action_history, 1, axis=0)
        self.action_history[0] = self.commanded_action
        applied = self.action_history[self.latency, np.arange(self.num_envs)]
        # Hook (issue 29): the randomizer pushes and delays the targets on their way.
        unstable = self._unstable_mask((self.randomizer or self.sim).step(
            self.default_pose + self.config.action_scale * applied))
        # The policy's own output, unfiltered: what it observes and what the rate term charges.
        action_change = actions - self.previous_action
        self.previous_action = actions
        self.episode_step += 1

        state = self.sim.read_state()
        if self.config.base_linear_velocity.enabled:
            self._update_velocity_estimate(state)   # before resets, which restart theirs
        if self.randomizer is not None:   # hook (issue 29): the sensors' samples of this step
            self.randomizer.record(state, self.observed_velocity)
        reference = self.clip.sample(self.absolute_phase())
        errors = imitation_errors(state, self.end_effectors_in_body(state), reference,
                                  world=self._uses_world_terms)
        rewards, weighted = imitation_reward(errors, self.reward_terms)
        if self.config.action_rate_weight:
            # legged_gym's action-rate term; the first step of an episode compares with 0.
            rate_penalty = self.config.action_rate_weight * self.control_dt * \
                (action_change ** 2).sum(axis=1)
            rewards = rewards - rate_penalty
            weighted = {**weighted, 'action_rate': -rate_penalty}
        if unstable.any():   # a state MuJoCo reset earns nothing
            rewards, weighted = _without(unstable, rewards, weighted)
        self.episode_return += rewards

        fell = self.sim.touching_ground()
        height_error = np.abs(state.base_position[:, 2] - reference.root_position[:, 2])
        tilt = tilt_angle(state.base_orientation, reference.root_orientation)
        terminated = fell | (height_error > self.config.max_height_error) | \
            (tilt > self.config.max_orientation_error)
        if self.config.max_root_drift:   # the root position term's squared horizontal error
            terminated |= errors['root_position'] > self.config.max_root_drift ** 2
        terminated &= ~unstable
        truncated = ~terminated & ~unstable & (self.episode_step >= self.max_episode_steps)
        finished = np.flatnonzero(terminated | truncated)
        finished_returns = self.episode_return[finished].copy()
        finished_lengths = self.episode_step[finished].copy()
        done = np.flatnonzero(terminated | truncated | unstable)
        if len(done):
            self._reset_envs(done)
            state = None  # the reset environments must be read again
        return StepResult(self._observe(state), self.phases(), rewards, terminated, truncated,
                          weighted, finished_returns, finished_lengths, unstable)

    def _unstable_mask(self, events):
        """Return the (N,) mask of the environments in VectorSimulator.step's events."""
        unstable = np.zeros(self.num_envs, dtype=bool)
        unstable[[i for i, _ in events]] = True
        return unstable

    def end_effectors_in_body(self, state):
        """Return the feet and gripper positions (N, k, 3) in the body frame."""
        world = self.sim.site_positions()
        relative = world - state.base_position[:, None, :]
        return rotate_into_body(state.base_orientation[:, None, :], relative)

    def _observe(self, state=None):
        # step() passes the state it read for the reward: one batched read per step, not two.
        state = self.sim.read_state() if state is None else state
        # The velocity estimate is kept in observed_velocity (updated by step and resets), so
        # observing again (set_state) draws no noise and resume stays bit for bit.
        if self.randomizer is None:
            return self.builder.build(state.joint_positions, state.joint_velocities,
                                      state.imu_orientation, state.imu_angular_velocity,
                                      self.previous_action,
                                      linear_velocity=self.observed_velocity,
                                      heading_origin=self.heading_origin)
        # Hook (issue 29): the sensors as the policy sees them (late, noisy, held).
        positions, velocities, orientation, angular_velocity, linear_velocity = \
            self.randomizer.observe(state, self.observed_velocity)
        return self.builder.build(positions, velocities, orientation, angular_velocity,
                                  self.previous_action, linear_velocity=linear_velocity,
                                  heading_origin=self.heading_origin)

    def policy_metadata(self):
        """Return the task-side fields of an exported policy's metadata (lpn_controller format)."""
        return {
            'joint_names': list(self.joint_names),
            'observation_terms': self.observation_terms,
            'action_scale': self.config.action_scale,
            'action_clip': self.config.action_clip,
            'action_filter_alpha': self.config.action_filter_alpha,
            'default_pose': self.default_pose.copy(),
            'kp': np.array(self.robot.kp), 'kd': np.array(self.robot.kd),
            'joint_limits': self.sim.envs[0].joint_limits.copy(),
            'control_rate_hz': self.robot.control_rate_hz, 'physics': self.sim.physics.name,
            'clip': self.clip.name, 'phase_period_s': self.phase_period_s,
            # Hook (issue 29): the ranges trained with; absent when nothing is randomised.
            **({'randomization': self.randomizer.metadata()} if self.randomizer else {}),
        }

    def get_state(self):
        """Return everything needed to continue exactly (for checkpoints): plain arrays."""
        models = [sim.model for sim in self.sim.envs]
        return {
            'physics': np.stack([sim.get_physics_state() for sim in self.sim.envs]),
            'floor_friction': np.stack([m.geom_friction[self._floor, 0] for m in models]),
            'base_mass': np.array([m.body_mass[self._base_body] for m in models]),
            'kp': np.stack([sim.kp for sim in self.sim.envs]),
            'kd': np.stack([sim.kd for sim in self.sim.envs]),
            'rng': self.rng.bit_generator.state,
            **{name: getattr(self, name).copy() for name in self._EPISODE_ARRAYS},
            # Hook (issue 29): the randomizer's draws, buffers and streams.
            **({'domain_randomization': self.randomizer.get_state()} if self.randomizer
               else {}),
        }

    def set_state(self, state):
        """Restore a state from get_state(); returns (observations, phases)."""
        for i, sim in enumerate(self.sim.envs):
            sim.model.geom_friction[self._floor, 0] = state['floor_friction'][i]
            sim.model.body_mass[self._base_body] = state['base_mass'][i]
            sim.set_pd_gains(state['kp'][i], state['kd'][i])
            sim.set_physics_state(state['physics'][i])
        self.rng.bit_generator.state = state['rng']
        if self.randomizer is not None:   # hook (issue 29)
            self.randomizer.set_state(state['domain_randomization'])
        for name in self._EPISODE_ARRAYS:
            # Checkpoints from before the velocity estimate existed lack its arrays (zeros).
            setattr(self, name, np.array(state.get(name, getattr(self, name))))
        return self._observe(), self.phases()

    _EPISODE_ARRAYS = ('start_phase', 'episode_step', 'episode_return', 'previous_action',
                       'commanded_action', 'latency', 'action_history', 'velocity_history',
                       'velocity_bias', 'velocity_latency', 'observed_velocity',
                       'heading_origin')

    def close(self):
        """Stop the simulator threads."""
        self.sim.close()


def _without(unstable, rewards, weighted):
    """Zero the rewards and reward terms of the environments whose step went unstable."""
    return (np.where(unstable, 0.0, rewards),
            {name: np.where(unstable, 0.0, term) for name, term in weighted.items()})
