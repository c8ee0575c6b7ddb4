"""
An emulator of spot_ros2_control's public interface on the MuJoCo simulator core, without ROS.

What a Spot owner's controller meets, as the driver (bdaiinstitute/spot_ros2) presents it, so
robot.launch.py and its controller can be dry-run with no robot:

* ``/low_level/joint_states`` (sensor_msgs/JointState, reliable) at the hardware's 333 Hz (here
  every third step of 1 kHz physics, 333.3 Hz): 19 joints in the driver's order, the gripper
  ``arm_f1x`` last, positions, velocities and efforts;
* ``/imu_sensor_broadcaster/imu`` (sensor_msgs/Imu, reliable) at the same rate, frame
  ``imu_sensor_frame``;
* ``/odometry`` (nav_msgs/Odometry, reliable and transient local) at 50 Hz from the state
  publisher, frames ``odom`` and ``body``, with the twist of the body *expressed in the odom
  frame* as the driver fills it (not in the child frame nav_msgs specifies);
* ``/forward_position_controller/commands`` (std_msgs/Float64MultiArray) taken at the next
  333 Hz controller update; an array of another length than 19 is dropped with the forward
  controller's error (at most once a second, as its throttled log), and the last accepted
  target stays;
* activation holds the pose read first (the driver copies the first state into its commands):
  the robot starts lying down, as a powered-off Spot does, and stands only when commanded;
* the joint PD uses the driver's gains: the driver config file's ``k_q_p``/``k_qd_p`` (19 long)
  or, as the driver, Boston Dynamics' defaults;
* under a namespace every topic moves under ``/NS/``, joint names become ``NS/<joint>`` and
  frames ``NS/<frame>``;
* deactivating the hardware component (controller_manager's set_hardware_component_state,
  :meth:`SpotDriverEmulator.set_hardware_state`) stops applying commands and emulates Spot's
  safe power-off: the robot sits down (its legs fold over ``SIT_S``), then motor power is cut;
* ``mock`` mode emulates the driver's mock hardware: states follow commands with no physics,
  the IMU reads NaN and there is no odometry.

The packaged robot has no gripper joint: there ``arm_f1x`` is a separate 1-DoF jaw (inertia
0.01 kg m^2) under the driver's gripper gains, not coupled to the arm. Menagerie's Spot has the
joint; it stays on Menagerie's own position servo, commanded with the driver's target.
"""

from dataclasses import dataclass
import math
from typing import List, Optional, Sequence, Tuple

from lpn_controller.rotations import rotate_into_world
import mujoco
import numpy as np
from quadruped_arm_bringup.spot_driver_config import (
    DRIVER_DEFAULT_KQ_P, DRIVER_DEFAULT_KQD_P, GRIPPER, SPOT_ARM_JOINTS)
from sim_bridge.config import load_config
from sim_bridge.physics import PhysicsConfig
from sim_bridge.simulator import Simulator

PHYSICS_RATE_HZ = 1000.0
STATE_EVERY = 3          # 333.3 Hz joint states, IMU and controller updates
ODOMETRY_EVERY = 20      # 50 Hz odometry
# Topics and frames relative to the namespace, and their QoS as the driver creates them.
JOINT_STATES = 'low_level/joint_states'
IMU = 'imu_sensor_broadcaster/imu'
ODOMETRY = 'odometry'
COMMANDS = 'forward_position_controller/commands'
IMU_FRAME, ODOM_FRAME, BODY_FRAME = 'imu_sensor_frame', 'odom', 'body'
QOS = {JOINT_STATES: 'reliable', IMU: 'reliable', ODOMETRY: 'reliable, transient local',
       COMMANDS: 'reliable'}
MODES = ('robot', 'mock')
# A powered-off Spot lies on its folded legs: hip y, knee per leg (rad).
LYING_LEG = (0.0, 1.3, -2.6)
SETTLE_S = 1.5
SIT_S = 2.0              # the emulated safe power-off's sit-down time
HARDWARE_COMPONENT = 'SpotSystem'
JAW_INERTIA = 0.01       # kg m^2, the emulated gripper jaw of the packaged robot
GRIPPER_LIMITS = (-1.57, 0.0)


def topic_name(relative: str, namespace: str = '') -> str:
    """Return the absolute topic the driver uses under ``namespace``."""
    return f'/{namespace}/{relative}' if namespace else f'/{relative}'


def frame_name(frame: str, namespace: str = '') -> str:
    """Return a frame or joint name as the driver prefixes it under ``namespace``."""
    return f'{namespace}/{frame}' if namespace else frame


@dataclass
class DriverOutput:
    """What the driver publishes after one physics step (None: nothing on that topic now)."""

    time: float
    joint_state: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None  # pos, vel, effort
    imu: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None  # wxyz, gyro, accel
    odometry: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = None
    # Ground truth for the dry run's world figures (not published): position, orientation.
    base_pose: Optional[Tuple[np.ndarray, np.ndarray]] = None


class _Jaw:
    """The packaged robot's emulated gripper: one rotor under the driver's gripper PD."""

    def __init__(self, position):
        self.position, self.velocity, self.effort = float(position), 0.0, 0.0

    def step(self, target, kp, kd, dt):
        self.effort = kp * (target - self.position) - kd * self.velocity
        self.velocity += dt * self.effort / JAW_INERTIA
        self.position = min(max(self.position + dt * self.velocity, GRIPPER_LIMITS[0]),
                            GRIPPER_LIMITS[1])


class SpotDriverEmulator:
    """The driver's topics on a simulated Spot with arm; advance with :meth:`step`."""

    def __init__(self, robot_config=None, namespace: str = '', mode: str = 'robot',
                 gains: Optional[Tuple[Sequence[float], Sequence[float]]] = None, seed: int = 0,
                 start_yaw_rad: float = 0.0):
        """
        Load the robot, lay it down, settle it, then activate (hold the first-read pose).

        ``start_yaw_rad``: the heading it lies at in the odom frame (the odometry's twist, in
        that frame, then differs from the body's).
        """
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        self.mode, self.namespace = mode, namespace
        self.joint_names = tuple(frame_name(name, namespace) for name in SPOT_ARM_JOINTS)
        kq_p, kqd_p = gains if gains is not None else (DRIVER_DEFAULT_KQ_P, DRIVER_DEFAULT_KQD_P)
        self.kq_p, self.kqd_p = np.array(kq_p, dtype=float), np.array(kqd_p, dtype=float)
        if self.kq_p.shape != (19,) or self.kqd_p.shape != (19,):
            raise ValueError('driver gains are 19 values each (the driver would fall back to '
                             'its defaults; pass None for those)')
        config = load_config(robot_config)
        self.sim = Simulator(config, seed=seed,
                             physics=PhysicsConfig('driver_emulator',
                                                   physics_rate_hz=PHYSICS_RATE_HZ))
        model_names = {name: config.joint_map.get(name, name) for name in SPOT_ARM_JOINTS}
        index = {name: i for i, name in enumerate(self.sim.joint_names)}
        missing = [name for name in SPOT_ARM_JOINTS[:-1] if model_names[name] not in index]
        if missing:
            raise ValueError(f'{config.source} simulates no {", ".join(missing)}: not a Spot '
                             'with arm')
        # Driver order (18 leg and arm joints) -> simulator joint order.
        self._sim_index = np.array([index[model_names[name]] for name in SPOT_ARM_JOINTS[:-1]])
        self._gripper_joint = self._model_gripper(model_names[GRIPPER])
        kp, kd = np.zeros(len(index)), np.zeros(len(index))
        kp[self._sim_index], kd[self._sim_index] = self.kq_p[:18], self.kqd_p[:18]
        self.sim.set_pd_gains(kp, kd)
        self._lie_down(start_yaw_rad)
        self.commands_dropped = 0
        self.errors: List[Tuple[float, str]] = []
        self._last_error_s = -math.inf
        self._pending: Optional[np.ndarray] = None
        self._steps = 0
        self.active = True
        self._power_off: Optional[Tuple[float, np.ndarray]] = None
        # Activation: the first state read becomes the command (the pose the robot holds).
        self.targets = self._read()[0].copy()
        self.activation_pose = self.targets.copy()
        self._apply(self.targets)

    # -- set-up --------------------------------------------------------------------------------

    def _model_gripper(self, name):
        joint = mujoco.mj_name2id(self.sim.model, mujoco.mjtObj.mjOBJ_JOINT, name)
        if joint < 0:
            self._jaw = _Jaw(GRIPPER_LIMITS[1])
            return None
        self._jaw = None
        actuators = [a for a in range(self.sim.model.nu)
                     if self.sim.model.actuator_trnid[a, 0] == joint]
        return (self.sim.model.jnt_qposadr[joint], self.sim.model.jnt_dofadr[joint],
                actuators[0] if actuators else None)

    def _lie_down(self, yaw):
        """Start as a powered-off Spot: body on the ground, legs folded, arm stowed."""
        state = self.sim.read_state()
        pose = state.joint_positions.copy()
        for leg in range(4):
            pose[self._sim_index[3 * leg:3 * leg + 3]] = LYING_LEG
        self.sim.reset_to_pose([0.0, 0.0, 0.2], [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)],
                               pose)
        if self.mode == 'robot':
            for _ in range(int(SETTLE_S * PHYSICS_RATE_HZ)):
                self.sim.physics_step(pose)
        self._mock_positions = None

    # -- the driver's side -----------------------------------------------------------------------

    def command(self, data: Sequence[float]) -> Optional[str]:
        """
        Take a Float64MultiArray command; return the driver's error if it drops it.

        Like the forward controller: a wrong length is dropped (the error logged at most once a
        second); the last accepted command is applied at the next controller update.
        """
        data = list(data)
        if not self.active:
            return None   # the hardware streams nothing while inactive; the controller is quiet
        if len(data) != len(self.joint_names):
            return self._error(f'command size ({len(data)}) does not match number of '
                               f'interfaces ({len(self.joint_names)})')
        values = np.asarray(data, dtype=float)
        if not np.all(np.isfinite(values)):
            # The stock controller forwards NaN to the hardware; the emulator cannot simulate it.
            return self._error('non-finite command (the driver would forward it to the robot)')
        self._pending = values
        return None

    def _error(self, text):
        self.commands_dropped += 1
        now = self.sim.time
        if now - self._last_error_s >= 1.0:
            self._last_error_s = now
            self.errors.append((now, text))
        return text

    def step(self) -> DriverOutput:
        """Advance the physics by 1 ms; return what the driver publishes now."""
        self._steps += 1
        update = self._steps % STATE_EVERY == 0
        if update and self._pending is not None and self.active:   # the controller update
            self.targets, self._pending = self._pending, None
            self._apply(self.targets)
        if self._power_off is not None:
            self._sit_down()
        if self.mode == 'robot':
            self.sim.physics_step()
            if self._jaw is not None:
                self._jaw.step(self.targets[-1], self.kq_p[-1], self.kqd_p[-1],
                               1.0 / PHYSICS_RATE_HZ)
        else:
            self.sim.data.time += 1.0 / PHYSICS_RATE_HZ
        output = DriverOutput(self.sim.time)
        if update:
            output.joint_state = self._read()
            output.imu = self._imu()
            state = self.sim.read_state()
            output.base_pose = (state.base_position, state.base_orientation)
        if self.mode == 'robot' and self._steps % ODOMETRY_EVERY == 0:
            state = self.sim.read_state()
            # The driver's twist: the body's velocity expressed in the odom frame, linear and
            # angular, although child_frame_id says body.
            output.odometry = (state.base_position, state.base_orientation,
                               state.base_linear_velocity,
                               rotate_into_world(state.base_orientation,
                                                 state.base_angular_velocity))
        return output

    def set_hardware_state(self, component: str, state: str) -> bool:
        """Answer set_hardware_component_state: 'inactive' sits the robot down, powers off."""
        if component != HARDWARE_COMPONENT or state not in ('inactive', 'active'):
            return False
        if state == 'active':
            return self.active   # re-activation would take the lease again: not emulated
        if self.active:
            self.active, self._pending = False, None
            self._power_off = (self.sim.time, self._read()[0].copy())
        return True

    def _sit_down(self):
        start_s, pose = self._power_off
        fraction = (self.sim.time - start_s) / SIT_S
        if fraction >= 1.0:
            if self.mode == 'robot' and np.any(self.sim.kp):
                self.sim.set_pd_gains(0.0, 0.0)   # motor power cut
            return
        lying = pose.copy()
        for leg in range(4):
            lying[3 * leg + 1:3 * leg + 3] = LYING_LEG[1:]
        self.targets = pose + min(fraction, 1.0) * (lying - pose)
        self._apply(self.targets)

    def _apply(self, targets):
        if self.mode == 'mock':
            self._mock_positions = targets.copy()
            return
        commanded = self.sim.joint_targets
        commanded[self._sim_index] = targets[:18]
        self.sim.set_joint_targets(commanded)
        if self._gripper_joint is not None and self._gripper_joint[2] is not None:
            self.sim.data.ctrl[self._gripper_joint[2]] = targets[-1]

    def _read(self):
        if self.mode == 'mock' and self._mock_positions is not None:
            # Mock hardware: the state is the command; nothing moves or measures.
            return self._mock_positions.copy(), np.zeros(19), np.zeros(19)
        state = self.sim.read_state()
        positions = np.empty(19)
        velocities = np.empty(19)
        efforts = np.empty(19)
        positions[:18] = state.joint_positions[self._sim_index]
        velocities[:18] = state.joint_velocities[self._sim_index]
        efforts[:18] = state.joint_efforts[self._sim_index]
        if self._jaw is not None:
            positions[18], velocities[18], efforts[18] = (self._jaw.position, self._jaw.velocity,
                                                          self._jaw.effort)
        else:
            qpos, dof, actuator = self._gripper_joint
            positions[18], velocities[18] = self.sim.data.qpos[qpos], self.sim.data.qvel[dof]
            efforts[18] = 0.0 if actuator is None else self.sim.data.actuator_force[actuator]
        return positions, velocities, efforts

    def _imu(self):
        if self.mode == 'mock':
            nan = np.full(3, np.nan)
            return np.full(4, np.nan), nan, nan.copy()
        state = self.sim.read_state()
        return (state.imu_orientation, state.imu_angular_velocity,
                state.imu_linear_acceleration)

    # -- names as the driver publishes them -------------------------------------------------------

    def topic(self, relative: str) -> str:
        """Return a driver topic's absolute name under this emulator's namespace."""
        return topic_name(relative, self.namespace)

    def frame(self, frame: str) -> str:
        """Return a frame name as the driver prefixes it."""
        return frame_name(frame, self.namespace)
