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

The environment is written as named parts (MuJoCo Playground's layout), each in its own module:
the action pipeline (action_pipeline.py), the observation with its optional inputs, odometry and
heading (observed_inputs.py), the reward as a dict of named terms (imitation_reward.py), the
termination with named reasons (termination.py), the resets with domain randomisation
(randomization.py, ``env.randomization``), the wider domain randomisation of dynamics, latencies,
sensor noise and pushes (episode_randomizer.py, ``env.domain_randomization``), and where a
reference start stands (floor_start.py, ``env.start_on_floor``). Every on/off switch is decided
once, where its part is made.
"""

from dataclasses import dataclass
from pathlib import Path

from lpn_controller.observation import ObservationBuilder, ObservationTerm
from lpn_controller.rotations import rotate_into_body, yaw_angle
import numpy as np
from sim_bridge.config import load_config
from sim_bridge.vector import VectorSimulator
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.envs.action_pipeline import ActionPipeline
from smooth_policy_trainer.envs.episode_randomizer import make_domain_randomizer
from smooth_policy_trainer.envs.floor_start import make_reference_start
from smooth_policy_trainer.envs.imitation_reward import ImitationReward
from smooth_policy_trainer.envs.observed_inputs import make_heading, make_odometry, make_position
from smooth_policy_trainer.envs.privileged_inputs import privileged_inputs
from smooth_policy_trainer.envs.randomization import make_randomization
from smooth_policy_trainer.envs.termination import Termination
from smooth_policy_trainer.motion.clip_files import read_clip_header
from smooth_policy_trainer.motion.clips import load_clip, load_shipped_clip
from smooth_policy_trainer.motion.joints import robot_joint_map
from smooth_policy_trainer.motion.kinematics import end_effector_site_names


@dataclass
class StepResult:
    """What step() returns; arrays have a leading environment axis."""

    observations: np.ndarray
    phases: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray                # a fall (or another reason of termination.py)
    truncated: np.ndarray                 # a time-out
    reward_terms: dict                    # {name: (N,) weighted term}, summing to rewards
    finished_returns: np.ndarray          # returns of the episodes that ended this step
    finished_lengths: np.ndarray
    termination_reasons: dict = None      # {reason: (N,) bool}, see termination.py
    # The simulation went unstable in this step (not a fall, not a time-out): the environment
    # was reset, and the step is no transition (no reward; nothing after it to bootstrap from).
    unstable: np.ndarray = None


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
            # Last, so a second stage can add it to a policy trained without (init_from.py).
            *([ObservationTerm('base_position', 2, config.observe_position_scale)]
              if config.observe_position_scale > 0 else []),
        )
        self.builder = ObservationBuilder(self.observation_terms, self.default_pose)
        self.observation_size = self.builder.size
        if config.observe_heading:
            yaw = np.degrees(yaw_angle(self.clip.root_orientation))
            if np.ptp(yaw) > 1.0:
                raise ValueError(f'env.observe_heading: clip {self.clip.name!r} turns by '
                                 f'{np.ptp(yaw):.1f} deg; the heading term assumes the '
                                 "reference's yaw stays constant")
        if config.observe_position_scale > 0:
            travel = max(np.ptp(self.clip.root_position[:, :2], axis=0).max(),
                         np.linalg.norm(np.asarray(self.clip.root_displacement_per_cycle)[:2]))
            if travel > 0.2:
                raise ValueError(f'env.observe_position_scale: clip {self.clip.name!r} moves its '
                                 f'root {travel:.2f} m; the base position term is for clips '
                                 'that hold their place')
        self.control_dt = self.robot.control_dt
        self.max_episode_steps = int(round(config.episode_length_s / self.control_dt))
        self.reward = ImitationReward(config.reward_terms, config.action_rate_weight,
                                      self.control_dt)
        self.reward_terms = self.reward.terms
        self.end_effector_names = end_effector_site_names(self.robot)
        self._site_ids = [first.model.site(name).id for name in self.end_effector_names]
        self._fall_geoms = first.geoms_of_bodies(self.fall_bodies)
        self.sim.track(sites=self._site_ids, ground_geoms=self._fall_geoms)
        self.termination = Termination(config, self.sim.touching_ground)
        self.rng = np.random.default_rng(config.seed)
        # The parts with state, each made once with its switch decided (see their modules).
        self.actions = ActionPipeline(config, self.num_envs, n, self.default_pose)
        self.randomization = make_randomization(config.randomization, self.robot, first.model,
                                                self.rng)
        self.odometry = make_odometry(velocity, self.num_envs, self.rng)
        self.heading = make_heading(config.observe_heading, self.num_envs)
        self.position = make_position(config.observe_position_scale > 0, self.num_envs)
        # Dynamics, latencies, noise and pushes: its own random streams, not self.rng.
        self.randomizer = make_domain_randomizer(config.domain_randomization, self.sim,
                                                 config.seed)
        self.reference_start = make_reference_start(config.start_on_floor, self.clip,
                                                    first.model, self.robot)

        self.start_phase = np.zeros(self.num_envs)
        self.episode_step = np.zeros(self.num_envs, dtype=np.int64)
        self.episode_return = np.zeros(self.num_envs)

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
        self.randomizer.before_reset(ids)   # this episode's physics first
        self.start_phase[ids] = self.rng.uniform(0.0, 1.0, len(ids))
        self.episode_step[ids] = 0
        self.episode_return[ids] = 0.0
        self.actions.reset(ids)
        reference = self.clip.sample(self.start_phase[ids])
        noise = self.rng.uniform(-config.reset_joint_noise, config.reset_joint_noise,
                                 (len(ids), self.num_actions))[:, self._noise_order]
        for row, i in enumerate(ids):
            sim = self.sim.envs[i]
            self.randomization.apply(sim, self.actions.latency, i)
            limits = sim.joint_limits
            pose = (reference.root_orientation[row],
                    np.clip(reference.joint_positions[row] + noise[row], limits[:, 0],
                            limits[:, 1]),
                    reference.root_linear_velocity[row], reference.root_angular_velocity[row],
                    reference.joint_velocities[row])
            self.reference_start.place(sim, reference, row, pose)
            self.heading.reset(i, sim)
            self.position.reset(i, sim)
        self.odometry.reset(ids, reference)
        # The latency buffers start from the reset state.
        self.randomizer.after_reset(ids, self.odometry.observed_velocity)

    # -- stepping --------------------------------------------------------------------------------

    def step(self, actions):
        """Apply raw policy actions (N, m) for one control period."""
        targets, action_change = self.actions.joint_targets(actions)
        # The randomizer pushes and delays the targets on their way; it returns the simulator's
        # instability events.
        unstable = self._unstable_mask(self.randomizer.step(targets))
        self.episode_step += 1

        state = self.sim.read_state()
        self.odometry.update(state)   # before resets, which restart theirs
        self.randomizer.record(state, self.odometry.observed_velocity)   # the sensors' samples
        reference = self.clip.sample(self.absolute_phase())
        errors = self.reward.errors(state, self.end_effectors_in_body(state), reference)
        rewards, weighted = self.reward(errors, action_change)
        if unstable.any():   # a state MuJoCo reset earns nothing
            rewards, weighted = _without(unstable, rewards, weighted)
        self.episode_return += rewards

        terminated, reasons = self.termination(state, reference, errors)
        terminated &= ~unstable
        reasons = {name: hit & ~unstable for name, hit in reasons.items()}
        truncated = ~terminated & ~unstable & (self.episode_step >= self.max_episode_steps)
        finished = np.flatnonzero(terminated | truncated)
        finished_returns = self.episode_return[finished].copy()
        finished_lengths = self.episode_step[finished].copy()
        done = np.flatnonzero(terminated | truncated | unstable)
        if len(done):
            self._reset_envs(done)
            state = None  # the reset environments must be read again
        return StepResult(self._observe(state), self.phases(), rewards, terminated, truncated,
                          weighted, finished_returns, finished_lengths, reasons, unstable)

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
        # The velocity estimate is kept by the odometry model (updated by step and resets), and
        # sensor noise is drawn as samples are recorded, so observing again (set_state) draws
        # no noise and resume stays bit for bit. The sensors as the policy sees them (late,
        # noisy, held with randomisation; as they are without):
        positions, velocities, orientation, angular_velocity, linear_velocity, base_position = \
            self.randomizer.observe(state, self.odometry.observed_velocity)
        return self.builder.build(positions, velocities, orientation, angular_velocity,
                                  self.actions.previous_action, linear_velocity=linear_velocity,
                                  heading_origin=self.heading.heading_origin,
                                  position=base_position,
                                  position_origin=self.position.position_origin)

    def privileged_inputs(self, names):
        """Return the critic-only inputs ``names`` of the current states (privileged_inputs.py)."""
        if not names:
            return np.zeros((self.num_envs, 0), dtype=np.float32)
        return privileged_inputs(names, self.sim.read_state(),
                                 self.clip.sample(self.absolute_phase()))

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
            **self.randomizer.policy_metadata(),   # the ranges trained with; none when off
        }

    def get_state(self):
        """Return everything needed to continue exactly (for checkpoints): plain arrays."""
        models = [sim.model for sim in self.sim.envs]
        floor, base = self.randomization.floor_geoms, self.randomization.base_body
        return {
            'physics': np.stack([sim.get_physics_state() for sim in self.sim.envs]),
            'floor_friction': np.stack([m.geom_friction[floor, 0] for m in models]),
            'base_mass': np.array([m.body_mass[base] for m in models]),
            'kp': np.stack([sim.kp for sim in self.sim.envs]),
            'kd': np.stack([sim.kd for sim in self.sim.envs]),
            'rng': self.rng.bit_generator.state,
            **{name: getattr(self, name).copy() for name in self._EPISODE_ARRAYS},
            **self.actions.state(), **self.odometry.state(), **self.heading.state(),
            **self.position.state(),
            **self.randomizer.state(),
        }

    def set_state(self, state):
        """Restore a state from get_state(); returns (observations, phases)."""
        floor, base = self.randomization.floor_geoms, self.randomization.base_body
        for i, sim in enumerate(self.sim.envs):
            sim.model.geom_friction[floor, 0] = state['floor_friction'][i]
            sim.model.body_mass[base] = state['base_mass'][i]
            sim.set_pd_gains(state['kp'][i], state['kd'][i])
            sim.set_physics_state(state['physics'][i])
        self.rng.bit_generator.state = state['rng']
        for name in self._EPISODE_ARRAYS:
            setattr(self, name, np.array(state[name]))
        # Checkpoints from before the velocity estimate existed lack its arrays (zeros).
        for part in (self.actions, self.odometry, self.heading, self.position, self.randomizer):
            part.load_state(state)
        return self._observe(), self.phases()

    _EPISODE_ARRAYS = ('start_phase', 'episode_step', 'episode_return')

    def close(self):
        """Stop the simulator threads."""
        self.sim.close()


def _without(unstable, rewards, weighted):
    """Zero the rewards and reward terms of the environments whose step went unstable."""
    return (np.where(unstable, 0.0, rewards),
            {name: np.where(unstable, 0.0, term) for name, term in weighted.items()})
