"""
The control loop in plain Python: state in, joint targets out, under the safety machine.

The ROS node (node.py) only converts messages and calls this class, so everything here is tested
without ROS. Arrays are in policy joint order; times are seconds on one clock (the node's clock,
which is sim time under use_sim_time).

Passive damping with position targets only: the robot's joint PD computes
``tau = kp (q_target - q) - kd qdot``. Commanding ``q_target = q`` (the measured position) leaves
``tau = -kd qdot``, a pure damper. ``passive_extra_damping`` d adds more through the target,
``q_target = q - (d / kp) qdot``, giving ``tau = -(kd + d) qdot``.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from lpn_controller.curves import minimum_jerk
from lpn_controller.joint_map import HeldJoint
from lpn_controller.monitor import Level, MonitorConfig, MonitorReport, SmoothnessMonitor
from lpn_controller.observation import (EXTRA_INPUTS, motion_phase, ObservationBuilder,
                                        TERM_DESCRIPTIONS)
from lpn_controller.rotations import tilt_angle, yaw_angle
from lpn_controller.runtime import PolicyRuntime
from lpn_controller.safety import (
    SafetyConfig, SafetyInputs, SafetyMode, SafetyStateMachine, Transition)
from lpn_controller.state_inputs import (
    as_float_array, checked_orientation, checked_vector, InvalidInput, OdometryConfig,
    read_odometry)
import numpy as np


# Where each extra input comes from on the controller node, for the refusal message.
INPUT_HINTS = {
    'odometry': " (node: set odom_topic to the driver's nav_msgs/Odometry topic)",
    'command': ' (node: command_topic)',
}


class MissingInputError(ValueError):
    """The policy observes something this controller is given no source for."""


@dataclass(frozen=True)
class ControllerConfig:
    """
    Safety and monitor settings, extra passive damping (N m s/rad), rate override (Hz).

    ``supplied_inputs`` names the inputs beyond joint states and IMU the caller will feed
    (``'command'`` through set_command, ``'odometry'`` through set_odometry); a policy that
    observes another is refused at construction. ``odometry``: the odometry's twist frame,
    timeout and whether it, not the IMU, gives the body orientation (state_inputs.py).

    ``held_joints`` are joints the robot's command carries that the policy does not drive
    (Spot's gripper on its forward controller): see :meth:`ControllerCore._held_targets`.
    """

    safety: SafetyConfig = SafetyConfig()
    monitor: MonitorConfig = MonitorConfig()
    passive_extra_damping: float = 0.0
    control_rate_hz: Optional[float] = None
    supplied_inputs: Tuple[str, ...] = ('command', 'odometry')
    held_joints: Tuple[HeldJoint, ...] = ()
    odometry: OdometryConfig = OdometryConfig()


@dataclass(frozen=True)
class ControlOutput:
    """One step's result. ``joint_targets`` (rad, clamped) is None before any joint state."""

    time_s: float
    mode: SafetyMode
    joint_targets: Optional[np.ndarray]
    action: Optional[np.ndarray] = None   # the commanded action (after any low-pass filter)
    phase: Optional[float] = None
    transitions: List[Transition] = field(default_factory=list)
    # Targets of the config's held joints (rad, clamped), in their order; None before their
    # first finite reading, empty without held joints.
    held_targets: Optional[np.ndarray] = None


class ControllerCore:
    """Runs policy, observation builder, safety machine and monitor for one robot."""

    def __init__(self, runtime: PolicyRuntime, lower_limits: np.ndarray,
                 upper_limits: np.ndarray, config: ControllerConfig = ControllerConfig()):
        """Check the limits and set up the parts from the policy metadata."""
        self.runtime = runtime
        self.metadata = runtime.metadata
        self.config = config
        num_joints = self.metadata.num_joints
        self.lower_limits = np.asarray(lower_limits, dtype=np.float64)
        self.upper_limits = np.asarray(upper_limits, dtype=np.float64)
        for name, limits in (('lower', self.lower_limits), ('upper', self.upper_limits)):
            if limits.shape != (num_joints,):
                raise ValueError(f'{name} joint limits: {limits.size} values, expected '
                                 f'{num_joints} (one per policy joint)')
        if np.any(~(self.lower_limits < self.upper_limits)):
            raise ValueError('every lower joint limit must lie below its upper limit')
        self.control_rate_hz = float(config.control_rate_hz or self.metadata.control_rate_hz)
        if not self.control_rate_hz > 0.0:
            raise ValueError(f'control rate must be positive, got {self.control_rate_hz}')
        self.builder = ObservationBuilder(self.metadata.observation_terms,
                                          self.metadata.default_pose)
        missing = [name for name, source in zip(
            (term.name for term in self.builder.terms if term.name in EXTRA_INPUTS),
            self.builder.extra_inputs) if source not in config.supplied_inputs]
        if (config.odometry.orientation_source == 'odometry'
                and 'odometry' not in config.supplied_inputs):
            raise MissingInputError(
                "the body orientation is to come from odometry (orientation_source 'odometry') "
                f"but this controller is given no odometry input{INPUT_HINTS['odometry']}")
        if missing:
            raise MissingInputError('; '.join(
                f'the policy observes {name!r} ({TERM_DESCRIPTIONS[name]}) but this controller '
                f'is given no {EXTRA_INPUTS[name]} input{INPUT_HINTS[EXTRA_INPUTS[name]]}'
                for name in missing))
        self.safety = SafetyStateMachine(config.safety)
        self.monitor = SmoothnessMonitor(self.metadata.joint_names, self.control_rate_hz,
                                         config.monitor)
        self._damping_offset_gain = config.passive_extra_damping / self.metadata.kp
        self._positions: Optional[np.ndarray] = None
        self._last_finite_positions: Optional[np.ndarray] = None
        self._velocities: Optional[np.ndarray] = None
        self._joint_state_time: Optional[float] = None
        self._orientation: Optional[np.ndarray] = None
        self._angular_velocity: Optional[np.ndarray] = None
        self._tilt: Optional[float] = None
        self._imu_time: Optional[float] = None
        # The current IMU reading's bytes and when it first arrived: the frozen-IMU check.
        self._imu_reading: Optional[bytes] = None
        self._imu_changed_time: Optional[float] = None
        self._linear_velocity: Optional[np.ndarray] = None
        # The odometry pose's position and yaw (read only for the base_position term).
        self._odometry_position: Optional[np.ndarray] = None
        self._odometry_yaw = 0.0
        self._odometry_time: Optional[float] = None
        #: Whether odometry is read at all: for the base velocity or position, or the orientation.
        self.reads_odometry = (self.builder.uses_linear_velocity or self.builder.uses_position
                               or config.odometry.orientation_source == 'odometry')
        # The latest rejected message of each input, by input: the reason damping is held.
        self._rejected: Dict[str, str] = {}
        command_size = (self.builder.term_slice('command').stop
                        - self.builder.term_slice('command').start
                        if self.builder.uses_command else 0)
        self._command = np.zeros(command_size)
        self._previous_action = np.zeros(num_joints)
        self._filtered_action = np.zeros(num_joints)   # the low-pass filter's state
        self._interpolation_start: Optional[np.ndarray] = None
        self._policy_start_s = 0.0
        self._heading_origin = 0.0   # IMU yaw at engagement: the heading term's zero
        self._position_origin = np.zeros(3)   # odometry [x, y, yaw] at engagement
        self._init_held_joints(config.held_joints)

    def set_joint_state(self, now_s: float, positions: np.ndarray,
                        velocities: Optional[np.ndarray]):
        """
        Store joint positions (rad) and velocities (rad/s; None reads as unknown).

        Arrays of the wrong length are rejected (damping, named); NaN values are stored and
        name the damping reason, while the last finite positions stay the damping targets.
        """
        num_joints = self.metadata.num_joints
        try:
            positions = as_float_array(positions, 'joint positions', num_joints)
            velocities = (np.full(num_joints, np.nan) if velocities is None
                          else as_float_array(velocities, 'joint velocities', num_joints))
        except InvalidInput as error:
            self.reject_message('joint states', str(error))
            return
        self._rejected.pop('joint states', None)
        self._positions = positions
        if np.all(np.isfinite(self._positions)):
            self._last_finite_positions = self._positions
        self._velocities = velocities
        self._joint_state_time = now_s

    def set_imu(self, now_s: float, orientation_wxyz: Optional[np.ndarray],
                angular_velocity: np.ndarray):
        """
        Store the body orientation [w, x, y, z] and body-frame angular velocity (rad/s).

        ``orientation_wxyz`` None: the IMU reports none. Unless the orientation comes from the
        odometry, a missing, zero, non-finite or non-unit orientation rejects the reading, as
        do non-finite rates: damping (or waiting) with the reason, never an exception.
        """
        from_imu = self.config.odometry.orientation_source == 'imu'
        try:
            rates = checked_vector(angular_velocity, 'IMU angular velocity')
            orientation = (checked_orientation(orientation_wxyz, 'IMU orientation') if from_imu
                           else None)
        except InvalidInput as error:
            self.reject_message('IMU', str(error))
            return
        self._rejected.pop('IMU', None)
        self._angular_velocity = rates
        if orientation is not None:
            self._set_orientation(orientation)
        self._imu_time = now_s
        # Bytes, not values: "bit-identical" is the test.
        reading = (b'' if orientation is None else orientation.tobytes()) + rates.tobytes()
        if reading != self._imu_reading:
            self._imu_reading = reading
            self._imu_changed_time = now_s

    def set_odometry(self, now_s: float, linear_velocity: np.ndarray,
                     orientation_wxyz: Optional[np.ndarray] = None,
                     position: Optional[np.ndarray] = None):
        """
        Store the odometry twist's linear velocity (m/s) and, if used, its pose.

        The twist is in the frame ``config.odometry.twist_frame`` names: the body (nav_msgs'
        child frame) or odom, then rotated into the body with this message's orientation. The
        orientation is read only for that, for ``orientation_source: odometry`` or with the
        position; the position (m, odom frame) only for a policy that observes
        ``base_position``. A bad one, or a non-finite twist, rejects the message (damping with
        the reason).
        """
        try:
            reading = read_odometry(self.config.odometry, linear_velocity, orientation_wxyz,
                                    position, with_position=self.builder.uses_position)
        except InvalidInput as error:
            self.reject_message('odometry', str(error))
            return
        self._rejected.pop('odometry', None)
        self._linear_velocity = reading.body_velocity
        if self.builder.uses_position:
            self._odometry_position, self._odometry_yaw = reading.position, reading.yaw
        if self.config.odometry.orientation_source == 'odometry':
            self._set_orientation(reading.orientation)
        self._odometry_time = now_s

    def _set_orientation(self, orientation: np.ndarray):
        self._orientation = orientation
        self._tilt = float(tilt_angle(orientation))

    def reject_message(self, source: str, reason: str):
        """
        Record that a message of ``source`` could not be used, and why.

        Until a good message of the same source arrives the controller does not leave WAITING,
        and a running policy is replaced by latched damping, with this reason.
        """
        self._rejected[source] = f'{source} message rejected: {reason}'

    def set_command(self, command: np.ndarray):
        """Store the task command (only used if the observation layout has a command term)."""
        command = as_float_array(command, 'command')
        if command.shape != self._command.shape:
            raise ValueError(f'command has {command.size} values, the policy expects '
                             f'{self._command.size}')
        self._command = command

    def engage_estop(self, now_s: float, source: str) -> Optional[Transition]:
        """Engage the e-stop (latched until reset_estop)."""
        return self.safety.engage_estop(now_s, source)

    def reset_estop(self, now_s: float) -> Optional[Transition]:
        """Release the e-stop and clear faults; the robot re-interpolates before the policy."""
        return self.safety.reset(now_s)

    def _safety_inputs(self, now_s: float) -> SafetyInputs:
        def age(stamp):
            return None if stamp is None else now_s - stamp

        inputs = [('joint positions', self._positions), ('joint velocities', self._velocities),
                  ('body orientation', self._orientation),
                  ('IMU angular velocity', self._angular_velocity), ('command', self._command)]
        extra_ages = ()
        if self.builder.uses_linear_velocity:
            inputs.append(('odometry twist', self._linear_velocity))
        if self.builder.uses_position:
            inputs.append(('odometry position', self._odometry_position))
        if self.reads_odometry:
            extra_ages = (('odometry', age(self._odometry_time),
                           self.config.odometry.timeout_s),)
        non_finite = [name for name, value in inputs
                      if value is None or not np.all(np.isfinite(value))]
        # Measured between messages, not up to now: an IMU that stops is stale, not frozen.
        unchanged = (None if self._imu_time is None
                     else self._imu_time - self._imu_changed_time)
        return SafetyInputs(age(self._joint_state_time), age(self._imu_time), not non_finite,
                            self._tilt, extra_ages, unchanged,
                            rejected_message=next(iter(self._rejected.values()), None),
                            non_finite=', '.join(non_finite) or None)

    def step(self, now_s: float) -> ControlOutput:
        """Run one control step at time ``now_s`` and return what to command."""
        transitions = []
        transition = self.safety.update(now_s, self._safety_inputs(now_s))
        if transition is not None:
            transitions.append(transition)
            self._on_enter(transition)
        mode = self.safety.mode
        targets = action = phase = None
        if mode == SafetyMode.POLICY:
            phase = float(motion_phase(now_s, self._policy_start_s,
                                       self.metadata.phase_period_s))
            observation = self.builder.build(
                self._positions, self._velocities, self._orientation, self._angular_velocity,
                self._previous_action, self._command if self.builder.uses_command else None,
                linear_velocity=self._linear_velocity, heading_origin=self._heading_origin,
                position=self._odometry_position, position_origin=self._position_origin)
            action = self.runtime.act(observation, phase)
            if np.all(np.isfinite(action)):
                # The observation sees the policy's own action; the robot gets the filtered
                # command (the same thing unless the policy was trained with a low-pass filter).
                self._previous_action = action
                action = self._filtered_action = self.runtime.filter_action(
                    action, self._filtered_action)
                targets = self.runtime.joint_targets(action)
                self.monitor.push(self.metadata.action_scale * action)
            else:
                transitions.append(self.safety.fault(now_s, 'policy produced a NaN or inf action'))
                mode, action, phase = self.safety.mode, None, None
        elif mode == SafetyMode.INTERPOLATING:
            blend = minimum_jerk(self.safety.interpolation_fraction(now_s))
            start = self._interpolation_start
            targets = start + blend * (self.metadata.default_pose - start)
        if targets is None:
            targets = self._damping_targets(now_s)
        if targets is not None:
            targets = np.clip(targets, self.lower_limits, self.upper_limits)
        held = self._held_targets(now_s, mode, transitions)
        return ControlOutput(now_s, mode, targets, action, phase, transitions, held)

    def _on_enter(self, transition: Transition):
        if transition.mode == SafetyMode.INTERPOLATING:
            self._interpolation_start = self._positions.copy()
        elif transition.mode == SafetyMode.POLICY:
            # Phase 0 and a zero previous action at engagement, as at a training episode start.
            self._policy_start_s = transition.time_s
            # A training episode starts at heading 0 too: the heading term counts from here.
            self._heading_origin = float(yaw_angle(self._orientation))
            # And the distance moved (base_position), in the odometry's heading frame then.
            if self.builder.uses_position:
                self._position_origin = np.array([*self._odometry_position[:2],
                                                  self._odometry_yaw])
            self._previous_action = np.zeros(self.metadata.num_joints)
            self._filtered_action = np.zeros(self.metadata.num_joints)
            self.monitor.reset()

    def _damping_targets(self, now_s: float) -> Optional[np.ndarray]:
        positions = self._last_finite_positions
        if positions is None:
            return None
        # The velocity term only with fresh, finite state: a stale velocity would push forever.
        fresh = now_s - self._joint_state_time <= self.config.safety.state_timeout_s
        velocities = self._velocities
        if fresh and self._positions is positions and np.all(np.isfinite(velocities)):
            return positions - self._damping_offset_gain * velocities
        return positions.copy()

    def monitor_report(self) -> MonitorReport:
        """Return the smoothness monitor's report; level OK while the policy is not engaged."""
        if self.safety.mode != SafetyMode.POLICY:
            return MonitorReport(Level.OK, f'policy not engaged ({self.safety.mode.value})',
                                 self.monitor.sample_rate_hz, self.monitor.window_length,
                                 self.monitor.samples)
        return self.monitor.report()

    # -- held joints: commanded, not driven by the policy -------------------------------------

    def _init_held_joints(self, held_joints):
        self.held_joints = tuple(held_joints)
        self._held_lower = np.array([joint.lower for joint in self.held_joints])
        self._held_upper = np.array([joint.upper for joint in self.held_joints])
        self._held_measured: Optional[np.ndarray] = (np.zeros(0) if not self.held_joints
                                                     else None)
        self._held_start = self._held_goal = self._held_measured

    def set_held_joint_positions(self, positions: np.ndarray):
        """Store the held joints' measured positions (rad, held-joint order); NaN keeps last."""
        positions = np.asarray(positions, dtype=np.float64)
        if positions.shape != (len(self.held_joints),):
            raise ValueError(f'{positions.size} held joint positions, expected '
                             f'{len(self.held_joints)}')
        if self._held_measured is None:
            if np.all(np.isfinite(positions)):
                self._held_measured = positions.copy()
            return
        finite = np.isfinite(positions)
        self._held_measured = np.where(finite, positions, self._held_measured)

    def _held_targets(self, now_s: float, mode: SafetyMode,
                      transitions: List[Transition]) -> Optional[np.ndarray]:
        """
        Return the held joints' targets, moved and limited as the policy joints' are.

        Waiting and damping: the measured position (the driver's damping alone acts on them).
        Engagement (leaving waiting) fixes the goal: the position measured then, or the
        profile's fixed value, reached with the same minimum-jerk blend as the default pose.
        """
        measured = self._held_measured
        if measured is None or not self.held_joints:
            return measured
        if any(transition.mode == SafetyMode.INTERPOLATING for transition in transitions):
            self._held_start = measured.copy()
            self._held_goal = np.array([measured[index] if joint.hold is None else joint.hold
                                        for index, joint in enumerate(self.held_joints)])
        if mode == SafetyMode.INTERPOLATING:
            blend = minimum_jerk(self.safety.interpolation_fraction(now_s))
            targets = self._held_start + blend * (self._held_goal - self._held_start)
        elif mode == SafetyMode.POLICY:
            targets = self._held_goal
        else:
            targets = measured
        return np.clip(targets, self._held_lower, self._held_upper)
