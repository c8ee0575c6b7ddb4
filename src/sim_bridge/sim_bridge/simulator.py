"""
The MuJoCo simulator core: joint-space PD at the physics rate, robot-like readouts.

The bridge node and the trainer's environments step this same class, so what a policy saw in
training is what it sees through ROS. Conventions: SI units, joint arrays in the configured joint
order, quaternions as [w, x, y, z] (MuJoCo's order; the node converts for ROS messages).
"""

from dataclasses import dataclass

import mujoco
import numpy as np

from sim_bridge import mjcf
from sim_bridge.config import ConfigError, load_config
from sim_bridge.instability import (clear_message, InstabilityWatch, route_mujoco_messages,
                                    SimulationUnstable)
from sim_bridge.physics import (apply_physics, DEFAULT_PHYSICS, geoms_of_bodies,
                                physics_config, robot_config_for)

# The bindings' enums do not compare reliably with numpy integers; compare as ints.
_COMMANDABLE_JOINT_TYPES = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))


@dataclass
class RobotState:
    """
    What a real robot reports, plus ground truth for evaluation.

    Joint arrays follow the configured joint order. IMU values are in the IMU site's frame:
    angular velocity (rad/s), linear acceleration as an accelerometer measures it (specific
    force, m/s^2, +9.81 on z when standing still). Ground truth: base position and orientation
    in the world, linear velocity in the world frame, angular velocity in the body frame.
    """

    time: float
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    joint_efforts: np.ndarray
    imu_orientation: np.ndarray
    imu_angular_velocity: np.ndarray
    imu_linear_acceleration: np.ndarray
    base_position: np.ndarray
    base_orientation: np.ndarray
    base_linear_velocity: np.ndarray
    base_angular_velocity: np.ndarray


def load_model(config, physics=DEFAULT_PHYSICS, contact_bodies=()):
    """
    Compile the MJCF named by the configuration (see mjcf) with a physics configuration's options.

    ``contact_bodies``: body patterns that keep their floor contacts where ``physics`` filters
    collisions (see sim_bridge.physics).
    """
    try:
        model = mjcf.compile_model(config.model_path, config.sites)
    except ValueError as error:
        raise ConfigError(f"{config.source}: field 'model': {error}") from None
    return apply_physics(model, config, physics, contact_bodies)


class Simulator:
    """
    One simulated robot, stepped one control period (several physics steps) at a time.

    A step after which the state is no longer physics (MuJoCo reset it on NaN or huge values, or
    dropped contacts; see sim_bridge.instability) returns an InstabilityEvent, also kept in
    ``self.instability`` until the next reset; stepping again before a reset raises
    SimulationUnstable. ``self.instabilities`` counts the events since construction.

    ``physics`` names the physics configuration (sim_bridge.physics); its rate replaces the
    robot configuration's in ``self.config``. A given ``model`` must come from load_model with
    the same physics configuration.
    """

    def __init__(self, config=None, seed=None, model=None, physics=DEFAULT_PHYSICS,
                 contact_bodies=()):
        route_mujoco_messages()   # MuJoCo's warnings go to logging, never to MUJOCO_LOG.TXT
        self.physics = physics_config(physics)
        self.config = robot_config_for(config if config is not None else load_config(),
                                       self.physics)
        self.model = model if model is not None else load_model(self.config, self.physics,
                                                                contact_bodies)
        self.model.opt.timestep = self.config.physics_dt
        self.data = mujoco.MjData(self.model)
        self.rng = np.random.default_rng(seed)
        self.state_version = 0
        self.instability = None
        self.instabilities = 0
        self._watch = InstabilityWatch(self.config.model_path, self.data)
        self.joint_names = self.config.joint_names
        self._index_model()
        self.set_pd_gains(self.config.kp, self.config.kd)
        self.reset()

    # -- model bookkeeping -------------------------------------------------------------------

    def _index_model(self):
        model, config = self.model, self.config
        where = f'model {config.model_path}'

        def fail(message):
            raise ConfigError(f'{config.source}: {message}')

        mjcf.check_names(model, config, fail)
        qpos_ids, dof_ids, actuator_ids = [], [], []
        for name in self.joint_names:
            joint_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
            if int(model.jnt_type[joint_id]) not in _COMMANDABLE_JOINT_TYPES:
                raise ConfigError(f"{config.source}: joint '{name}' is not a hinge or slide "
                                  'joint and cannot be commanded')
            actuators = [a for a in range(model.nu)
                         if int(model.actuator_trntype[a]) == int(mujoco.mjtTrn.mjTRN_JOINT)
                         and model.actuator_trnid[a, 0] == joint_id]
            if len(actuators) != 1:
                raise ConfigError(f"{config.source}: joint '{name}' needs exactly one actuator "
                                  f'in {where}, found {len(actuators)}')
            qpos_ids.append(model.jnt_qposadr[joint_id])
            dof_ids.append(model.jnt_dofadr[joint_id])
            actuator_ids.append(actuators[0])
        self._qpos_ids = np.array(qpos_ids)
        self._dof_ids = np.array(dof_ids)
        self._actuator_ids = np.array(actuator_ids)
        # The PD output is only clamped by MuJoCo where the actuator is force-limited.
        self.effort_limits = np.array([
            model.actuator_forcerange[a, 1] if model.actuator_forcelimited[a] else np.inf
            for a in actuator_ids])
        joint_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n)
                     for n in self.joint_names]
        self.joint_limits = np.array([
            model.jnt_range[j] if model.jnt_limited[j] else (-np.inf, np.inf) for j in joint_ids])

        base = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, config.base_body)
        root = model.body_jntadr[base]
        self._root_qpos = model.jnt_qposadr[root]
        self._root_dof = model.jnt_dofadr[root]
        self._base_body = base
        self._imu_site = (mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, config.imu_site)
                          if config.imu_site else -1)
        self._imu_slices = {}
        for key, sensor in (vars(config.imu_sensors) if config.imu_sensors else {}).items():
            sensor_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, sensor)
            start = model.sensor_adr[sensor_id]
            self._imu_slices[key] = slice(start, start + model.sensor_dim[sensor_id])
        self._keyframe_id = self._keyframe(config.keyframe)

    def _keyframe(self, name):
        key = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_KEY, name)
        if key < 0:
            names = [self.model.key(i).name for i in range(self.model.nkey)]
            raise ConfigError(f"{self.config.source}: keyframe '{name}' is not in model "
                              f'{self.config.model_path}; its keyframes are {names}')
        return key

    # -- control -----------------------------------------------------------------------------

    def set_pd_gains(self, kp, kd):
        """Set the joint servos to torque = kp (target - q) - kd dq (per joint or scalar)."""
        kp = np.broadcast_to(np.asarray(kp, dtype=float), (len(self.joint_names),))
        kd = np.broadcast_to(np.asarray(kd, dtype=float), (len(self.joint_names),))
        if np.any(~np.isfinite(kp)) or np.any(~np.isfinite(kd)) or np.any(kp < 0) or \
                np.any(kd < 0):
            raise ValueError('PD gains must be finite and non-negative')
        ids = self._actuator_ids
        self.model.actuator_gaintype[ids] = mujoco.mjtGain.mjGAIN_FIXED
        self.model.actuator_biastype[ids] = mujoco.mjtBias.mjBIAS_AFFINE
        self.model.actuator_gainprm[ids, 0] = kp
        self.model.actuator_biasprm[ids, 0] = 0.0
        self.model.actuator_biasprm[ids, 1] = -kp
        self.model.actuator_biasprm[ids, 2] = -kd
        self.kp, self.kd = kp.copy(), kd.copy()

    def set_joint_targets(self, joint_targets):
        """Hold these joint position targets (rad) until changed; clamped to the joint limits."""
        joint_targets = np.asarray(joint_targets, dtype=float)
        if joint_targets.shape != (len(self.joint_names),):
            raise ValueError(f'expected {len(self.joint_names)} joint targets, got shape '
                             f'{joint_targets.shape}')
        bad = ~np.isfinite(joint_targets)
        if bad.any():
            names = [n for n, b in zip(self.joint_names, bad) if b]
            raise ValueError(f'non-finite joint targets for {names}')
        self.hold_targets(np.clip(joint_targets, self.joint_limits[:, 0],
                                  self.joint_limits[:, 1]))

    def hold_targets(self, joint_targets):
        """Hold targets already checked and clipped (VectorSimulator checks a whole batch)."""
        self.data.ctrl[self._actuator_ids] = joint_targets

    def set_base_wrench(self, force_world, torque_world=(0.0, 0.0, 0.0)):
        """
        Apply an external force (N) and torque (N m), world frame, at the base body's CoM.

        It acts on every physics step until changed (zeros remove it): a push on the robot.
        """
        wrench = np.concatenate([np.asarray(force_world, dtype=float),
                                 np.asarray(torque_world, dtype=float)])
        if wrench.shape != (6,) or not np.all(np.isfinite(wrench)):
            raise ValueError(f'a base wrench is a finite 3-vector force and torque, got '
                             f'{force_world!r}, {torque_world!r}')
        self.data.xfrc_applied[self._base_body] = wrench

    def add_base_velocity(self, velocity_change_world):
        """
        Add a velocity change (m/s, world frame) to the base at once: a push as an impulse.

        The joints keep their velocities; the next readout and the next step start from it.
        """
        change = np.asarray(velocity_change_world, dtype=float)
        if change.shape != (3,) or not np.all(np.isfinite(change)):
            raise ValueError(f'a base velocity change is a finite 3-vector, got '
                             f'{velocity_change_world!r}')
        root = self._root_dof
        self.data.qvel[root:root + 3] += change
        self._state_changed(fresh=False)

    @property
    def joint_targets(self):
        """Return the joint position targets being tracked."""
        return self.data.ctrl[self._actuator_ids].copy()

    def step(self, joint_targets=None):
        """
        Advance one control period: PD tracking of the targets at the physics rate.

        Returns None, or the InstabilityEvent when the state stopped being physics (see class).
        """
        if joint_targets is not None:
            self.set_joint_targets(joint_targets)
        return self._advance(self.config.substeps)

    def physics_step(self, joint_targets=None):
        """Advance one physics step (for callers that publish a clock every physics step)."""
        if joint_targets is not None:
            self.set_joint_targets(joint_targets)
        return self._advance(1)

    def _advance(self, steps):
        if self.instability is not None:
            raise SimulationUnstable(f'{self.instability}. Reset the simulator before stepping '
                                     'it again')
        start = self.data.time
        clear_message()
        mujoco.mj_step(self.model, self.data, nstep=steps)
        self._state_changed(fresh=False)
        if self._watch.tripped():
            return self._went_unstable(start, steps)
        return None

    def _went_unstable(self, start, steps):
        self.instability = self._watch.event(start)
        self.instabilities += 1
        # MuJoCo's reset set the clock back to 0: keep it monotonic (the bridge publishes it).
        self.data.time = start + steps * self.model.opt.timestep
        return self.instability

    def _state_changed(self, fresh):
        # The version lets VectorSimulator tell which environments' cached readouts are stale.
        self.state_version += 1
        self._readouts_fresh = fresh

    def refresh_readouts(self):
        """Bring sensors, contacts and site poses up to the current state (see below)."""
        # After mj_step, sensors, contacts and site poses still describe the state before the
        # last integration. Recompute them from the current state, once per read rather than
        # every physics step: readouts then depend on the state alone (exact resume), and the
        # IMU is not 2 ms older than the joint encoders. The trajectory itself is unchanged.
        if not self._readouts_fresh:
            mujoco.mj_forward(self.model, self.data)
            self._readouts_fresh = True

    @property
    def time(self):
        """Return the simulated time in seconds since the last reset (see reset)."""
        return float(self.data.time)

    # -- reset and state -----------------------------------------------------------------------

    def reset(self, keyframe=None, qpos=None, qvel=None, joint_position_noise=0.0,
              joint_velocity_noise=0.0, keep_time=False):
        """
        Reset to a keyframe (the configured one by default) or a given qpos/qvel.

        Optional uniform noise (rad, rad/s) on the commanded joints comes from this simulator's
        seeded generator, so equal seeds give equal episodes. The joint targets are set to the
        resulting pose, so nothing jumps on the first step. ``keep_time`` keeps the clock running
        (the bridge node must never send /clock backwards).
        """
        now = self.data.time
        key = self._keyframe_id if keyframe is None else self._keyframe(keyframe)
        mujoco.mj_resetDataKeyframe(self.model, self.data, key)
        if qpos is not None:
            self.data.qpos[:] = _checked(qpos, self.model.nq, 'qpos')
        if qvel is not None:
            self.data.qvel[:] = _checked(qvel, self.model.nv, 'qvel')
        n = len(self.joint_names)
        if joint_position_noise:
            self.data.qpos[self._qpos_ids] += self.rng.uniform(
                -joint_position_noise, joint_position_noise, n)
        if joint_velocity_noise:
            self.data.qvel[self._dof_ids] += self.rng.uniform(
                -joint_velocity_noise, joint_velocity_noise, n)
        if keep_time:
            self.data.time = now
        mujoco.mj_forward(self.model, self.data)
        self.instability = None   # mj_resetData zeroed MuJoCo's warning counters too
        self._state_changed(fresh=True)
        self.set_joint_targets(self.data.qpos[self._qpos_ids])
        return self.read_state()

    def reset_to_pose(self, root_position, root_orientation, joint_positions,
                      root_linear_velocity=(0.0, 0.0, 0.0), root_angular_velocity=(0.0, 0.0, 0.0),
                      joint_velocities=None, keep_time=False):
        """
        Reset to a given robot pose and velocity (e.g. a reference motion's frame).

        Root linear velocity is in the world frame, angular velocity in the body frame (the
        conventions of RobotState); joint arrays follow the configured joint order.
        """
        qpos = self.model.key_qpos[self._keyframe_id].copy()
        qvel = np.zeros(self.model.nv)
        root_q, root_v = self._root_qpos, self._root_dof
        qpos[root_q:root_q + 3] = root_position
        qpos[root_q + 3:root_q + 7] = root_orientation
        qpos[self._qpos_ids] = joint_positions
        qvel[root_v:root_v + 3] = root_linear_velocity
        qvel[root_v + 3:root_v + 6] = root_angular_velocity
        if joint_velocities is not None:
            qvel[self._dof_ids] = joint_velocities
        return self.reset(qpos=qpos, qvel=qvel, keep_time=keep_time)

    def geoms_of_bodies(self, body_patterns):
        """Return the ids of the geoms on bodies whose names match any shell-style pattern."""
        return np.array(geoms_of_bodies(self.model, body_patterns,
                                        f'model {self.config.model_path}'), dtype=int)

    def touches_ground(self, geom_ids):
        """Return True when any of these geoms touches a geom of the world body (the floor)."""
        self.refresh_readouts()
        contacts = self.data.contact.geom[:self.data.ncon]
        if len(contacts) == 0:
            return False
        world = self.model.geom_bodyid[contacts] == 0
        ours = np.isin(contacts, geom_ids)
        return bool(np.any((ours[:, 0] & world[:, 1]) | (ours[:, 1] & world[:, 0])))

    def get_physics_state(self):
        """Return the full physics state (time, qpos, qvel, actuation, ...) as one array."""
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        state = np.empty(mujoco.mj_stateSize(self.model, spec))
        mujoco.mj_getState(self.model, self.data, state, spec)
        return state

    def set_physics_state(self, state):
        """Restore a state taken with get_physics_state."""
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        state = _checked(state, mujoco.mj_stateSize(self.model, spec), 'physics state')
        mujoco.mj_setState(self.model, self.data, state, spec)
        self._watch.clear()
        self.instability = None
        mujoco.mj_forward(self.model, self.data)
        self._state_changed(fresh=True)

    def read_state(self):
        """Read the robot's sensors and the ground truth into a RobotState (copies)."""
        self.refresh_readouts()
        data = self.data
        root_q, root_v = self._root_qpos, self._root_dof
        imu = self._imu_readings()
        return RobotState(
            time=float(data.time),
            joint_positions=data.qpos[self._qpos_ids],
            joint_velocities=data.qvel[self._dof_ids],
            joint_efforts=data.actuator_force[self._actuator_ids],
            imu_orientation=imu[0],
            imu_angular_velocity=imu[1],
            imu_linear_acceleration=imu[2],
            base_position=data.qpos[root_q:root_q + 3].copy(),
            base_orientation=data.qpos[root_q + 3:root_q + 7].copy(),
            base_linear_velocity=data.qvel[root_v:root_v + 3].copy(),
            base_angular_velocity=data.qvel[root_v + 3:root_v + 6].copy(),
        )

    def _imu_readings(self):
        """Return (orientation, angular velocity, specific force) from the sensors or the frame."""
        if self.config.imu_sensors is None:
            return mjcf.frame_imu(self.model, self.data, self._imu_site, self._base_body)
        sensors, imu = self.data.sensordata, self._imu_slices
        return (sensors[imu['orientation']].copy(), sensors[imu['angular_velocity']].copy(),
                sensors[imu['linear_acceleration']].copy())

    def site_positions(self, sites):
        """Return world positions (k x 3) of sites given by name or id (feet, gripper)."""
        self.refresh_readouts()
        return self.data.site_xpos[[self._site_id(site) for site in sites]]

    def _site_id(self, site):
        if isinstance(site, (int, np.integer)):
            return int(site)
        site_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, site)
        if site_id < 0:
            raise ValueError(f"unknown site '{site}' in model {self.config.model_path}")
        return site_id


def _checked(values, size, name):
    values = np.asarray(values, dtype=float)
    if values.shape != (size,):
        raise ValueError(f'{name} must have shape ({size},), got {values.shape}')
    if not np.all(np.isfinite(values)):
        raise ValueError(f'{name} contains NaN or inf')
    return values
