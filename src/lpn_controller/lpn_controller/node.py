"""
ROS 2 controller node: wires topics, parameters and timers to controller.ControllerCore.

``ros2 run lpn_controller node --ros-args -p policy_path:=/path/to/policy``

Subscribes to joint states and IMU (sensor-data QoS), to odometry (nav_msgs/Odometry, sensor-data
QoS; for a policy that observes the base linear velocity, or for the orientation under
``orientation_source: odometry``) and to an e-stop Bool; a message that cannot be used is rejected
with its reason (controller damping), never raised; runs the policy on a timer of the node clock at
the control rate (sim time under use_sim_time); publishes joint targets (sensor_msgs/JointState by
name, optionally std_msgs/Float64MultiArray for a ros2_control forward controller), the raw policy
action stamped on ``~/action`` (JointState: names are the policy joints, ``position`` holds the
unscaled action), and /diagnostics. Services ``~/estop`` and ``~/reset_estop`` (std_srvs/Trigger).
Passive damping commands the measured positions as targets (see controller.py).

Against a ros2_control forward controller the Float64MultiArray carries every joint it lists,
those the policy does not drive held by the controller (``held_joint_*``); at start-up the node
reads that controller's own ``joints`` and refuses to start on a difference. Safe stop
(lpn_controller.safe_stop): after latched damping on an e-stop or fault, and when the node stops
(SIGINT, SIGTERM, an exception; rclpy's own handlers are off so that the calls can still be
made), a last damping command and controller_manager's set_hardware_component_state.

This is the only module of the package that imports ROS.
"""

import signal

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from lpn_controller.controller import ControlOutput
from lpn_controller.controller_setup import build_controller, safe_stop_config
from lpn_controller.joint_map import forward_controller_mismatch, JointMapError
from lpn_controller.message_fields import (
    command_fields, imu_fields, joint_state_fields, monitor_diagnostic, odometry_fields,
    safety_diagnostic)
from lpn_controller.node_parameters import NODE_PARAMETERS, Unset
from lpn_controller.policy_format import load_policy
from lpn_controller.policy_metadata import PolicyFormatError
from lpn_controller.safe_stop import SafeStopPlanner, stop_hint
from lpn_controller.safety import SafetyMode
from lpn_controller.state_inputs import InvalidInput
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rcl_interfaces.srv import GetParameters
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger

# DiagnosticStatus levels are single bytes in rclpy.
_DIAGNOSTIC_LEVELS = {0: DiagnosticStatus.OK, 1: DiagnosticStatus.WARN,
                      2: DiagnosticStatus.ERROR}


class ControllerNode(Node):
    """Thin rclpy wrapper around ControllerCore."""

    def __init__(self):
        """Declare parameters, load the policy, check the joint mapping, create the I/O."""
        super().__init__('lpn_controller')
        for name, default, description in NODE_PARAMETERS:
            if isinstance(default, Unset):
                default = getattr(Parameter.Type, default.type_name)
            self.declare_parameter(
                name, default, ParameterDescriptor(description=description, read_only=True))
        policy_path = self._param('policy_path')
        if not policy_path:
            raise ValueError('parameter policy_path is required (exported policy directory)')
        policy = load_policy(policy_path)
        metadata = policy.metadata
        setup = build_controller(policy, self._param)
        self._core, self._joint_map = setup.core, setup.joint_map
        self._command_layout = setup.command_layout
        self._use_float64_array = self._param('use_float64_array')
        self._check_forward_controller_joints()
        self._init_safe_stop()

        command_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                 history=HistoryPolicy.KEEP_LAST)
        self._targets_publisher = self.create_publisher(
            JointState, self._param('joint_targets_topic'), command_qos)
        self._array_publisher = None
        if self._use_float64_array:
            self._array_publisher = self.create_publisher(
                Float64MultiArray, self._param('float64_array_topic'), command_qos)
        self._action_publisher = self.create_publisher(JointState, '~/action', 10)
        self._diagnostics_publisher = self.create_publisher(DiagnosticArray, '/diagnostics', 10)

        self.create_subscription(JointState, self._param('joint_states_topic'),
                                 self._on_joint_state, qos_profile_sensor_data)
        self.create_subscription(Imu, self._param('imu_topic'), self._on_imu,
                                 qos_profile_sensor_data)
        if self._core.reads_odometry:
            self.create_subscription(Odometry, self._param('odom_topic'), self._on_odometry,
                                     qos_profile_sensor_data)
        self.create_subscription(Bool, '~/estop', self._on_estop_topic, 10)
        if self._core.builder.uses_command:
            self.create_subscription(Float64MultiArray, self._param('command_topic'),
                                     self._on_command, 10)
        self.create_service(Trigger, '~/estop', self._on_estop_service)
        self.create_service(Trigger, '~/reset_estop', self._on_reset_service)

        # Timers use the node clock by default, so they follow /clock under use_sim_time.
        self.create_timer(1.0 / self._core.control_rate_hz, self._on_control_timer)
        self.create_timer(self._param('diagnostics_period_s'), self._on_diagnostics_timer)
        self._last_output = None
        self.get_logger().info(
            f'policy {policy.source}: {metadata.kind}, {metadata.num_joints} joints, clip '
            f'{metadata.motion_clip!r}, {self._core.control_rate_hz:g} Hz, revision '
            f'{metadata.git_revision}')

    def _check_forward_controller_joints(self):
        """Refuse to start when the forward controller's own `joints` differ from ours."""
        controller = self._param('forward_controller_node')
        expected = self._param('forward_controller_joints')
        if not controller or not expected:
            return
        client = self.create_client(GetParameters, f'{controller}/get_parameters')
        timeout = self._param('forward_controller_check_timeout_s')
        reported = None
        if client.wait_for_service(timeout_sec=timeout):
            future = client.call_async(GetParameters.Request(names=['joints']))
            rclpy.spin_until_future_complete(self, future, timeout_sec=timeout)
            values = future.result().values if future.done() and future.result() else []
            if values and values[0].type == ParameterType.PARAMETER_STRING_ARRAY:
                reported = list(values[0].string_array_value)
        self.destroy_client(client)
        if reported is None:
            self.get_logger().warning(
                f"could not read {controller}'s joints parameter within {timeout:g} s: the "
                'command order is not checked against the forward controller')
            return
        problem = forward_controller_mismatch(expected, reported, controller)
        if problem:
            raise ValueError(problem)
        self.get_logger().info(f'{controller} joints match the command order '
                               f'({len(reported)} joints)')

    # -- safe stop: what the driver is left doing (see lpn_controller.safe_stop) --------------

    def _init_safe_stop(self):
        self._safe_stop = SafeStopPlanner(safe_stop_config(self._param))
        self._power_off_client = None
        if self._safe_stop.config.hardware_component:
            # Only needed against a ros2_control driver: imported where it is asked for.
            from controller_manager_msgs.srv import SetHardwareComponentState
            self._power_off_type = SetHardwareComponentState
            self._power_off_client = self.create_client(SetHardwareComponentState,
                                                        self._safe_stop.config.service)

    def _after_step_safe_stop(self, now_s):
        safety = self._core.safety
        request = self._safe_stop.after_step(now_s, safety.mode, safety.mode_start_s,
                                             safety.reason, safety.estop_active)
        if request is not None:
            self._call_power_off(request)

    def _call_power_off(self, request, executor=None):
        """Ask the controller manager to deactivate the hardware; wait only with executor."""
        config = self._safe_stop.config
        client = self._power_off_client
        ready = client.service_is_ready() if executor is None else \
            client.wait_for_service(timeout_sec=config.timeout_s)
        if not ready:
            self._power_off_done(None, f'{config.service} is not available')
            return
        self.get_logger().warning(
            f'{request.reason}: deactivating {request.component} through {config.service} '
            '(Spot sits down and powers off)')
        message = self._power_off_type.Request()
        message.name = request.component
        message.target_state.id = request.state_id
        message.target_state.label = request.state_label
        future = client.call_async(message)
        if executor is None:
            future.add_done_callback(lambda done: self._power_off_done(done.result()))
            return
        rclpy.spin_until_future_complete(self, future, executor=executor,
                                         timeout_sec=config.timeout_s)
        self._power_off_done(future.result() if future.done() else None,
                             f'no answer within {config.timeout_s:g} s')

    def _power_off_done(self, response, problem='the controller manager refused'):
        ok = bool(response is not None and response.ok)
        self._safe_stop.done(ok)
        if ok:
            self.get_logger().warning(f'{self._safe_stop.config.hardware_component} is '
                                      'inactive: the robot sits down and powers off')
        else:
            self.get_logger().error(
                f'could not deactivate the hardware ({problem}): the driver keeps streaming '
                f'the last target. Stop it with: {stop_hint(self._safe_stop.config)}')

    def safe_shutdown(self, cause, executor):
        """Leave the driver safe as the node stops: a last damping command, then power off."""
        self._core.engage_estop(self._now()[1], cause)
        self._on_control_timer()   # the last target the driver keeps: the measured pose
        request = self._safe_stop.at_shutdown(cause)
        if request is not None and self._power_off_client is not None:
            self._call_power_off(request, executor)
        elif not self._safe_stop.powered_off:
            self.get_logger().warning(
                f'stopping ({cause}): the last command was passive damping (the measured pose), '
                'which a ros2_control forward controller keeps streaming. Stop it with: '
                f'{stop_hint(self._safe_stop.config)}')

    def _param(self, name):
        # Unset typed parameters read as None.
        return self.get_parameter_or(name).value

    def _now(self):
        now = self.get_clock().now()
        return now, now.nanoseconds * 1e-9

    # Input callbacks: convert (message_fields), hand to the core, which checks the values. A
    # message that cannot be used is rejected with its reason (damping until a good one); no
    # exception leaves a callback, an unexpected one included.
    def _reject(self, source, error):
        reason = str(error) if isinstance(error, (InvalidInput, JointMapError)) \
            else f'unexpected {type(error).__name__}: {error}'
        self._core.reject_message(source, reason)
        self.get_logger().error(f'{source} message rejected: {reason}',
                                throttle_duration_sec=5.0)

    def _on_joint_state(self, message: JointState):
        try:
            names, measured, velocities = joint_state_fields(message)
            positions = self._joint_map.to_policy_order(names, measured)
            if velocities is not None:
                velocities = self._joint_map.to_policy_order(names, velocities)
            held = self._command_layout.held_positions(names, measured)
            self._core.set_joint_state(self._now()[1], positions, velocities)
            self._core.set_held_joint_positions(held)
        except Exception as error:  # noqa: B902 (a callback must not raise)
            self._reject('joint states', error)

    def _on_imu(self, message: Imu):
        try:
            self._core.set_imu(self._now()[1], *imu_fields(message))
        except Exception as error:  # noqa: B902
            self._reject('IMU', error)

    def _on_odometry(self, message: Odometry):
        try:
            self._core.set_odometry(self._now()[1], *odometry_fields(message))
        except Exception as error:  # noqa: B902
            self._reject('odometry', error)

    def _on_command(self, message: Float64MultiArray):
        try:
            self._core.set_command(command_fields(message))
        except Exception as error:  # noqa: B902
            self._reject('command', error)

    def _log_transitions(self, transitions):
        for transition in transitions:
            text = (f'{transition.previous.value} -> {transition.mode.value}: '
                    f'{transition.reason}')
            if transition.mode == SafetyMode.DAMPING:
                self.get_logger().warning(text)
            else:
                self.get_logger().info(text)

    def _on_estop_topic(self, message: Bool):
        if message.data:
            self._log_transitions(
                filter(None, [self._core.engage_estop(self._now()[1], 'topic')]))

    def _on_estop_service(self, request, response):
        self._log_transitions(filter(None, [self._core.engage_estop(self._now()[1], 'service')]))
        response.success = True
        response.message = 'e-stop engaged: passive damping until ~/reset_estop'
        return response

    def _on_reset_service(self, request, response):
        refusal = self._safe_stop.reset_refusal()
        if refusal:
            response.success, response.message = False, refusal
            return response
        self._log_transitions(filter(None, [self._core.reset_estop(self._now()[1])]))
        response.success = True
        response.message = 'e-stop released and faults cleared: waiting for fresh state'
        return response

    def _on_control_timer(self):
        now, now_s = self._now()
        output = self._guarded_step(now_s)
        self._after_step_safe_stop(now_s)
        self._last_output = output
        self._log_transitions(output.transitions)
        stamp = now.to_msg()
        if output.joint_targets is not None:
            targets = JointState()
            targets.header.stamp = stamp
            targets.name = list(self._joint_map.robot_joint_names)
            targets.position = output.joint_targets.tolist()
            self._targets_publisher.publish(targets)
            if self._array_publisher is not None and output.held_targets is not None:
                array = Float64MultiArray()
                array.data = self._command_layout.assemble(
                    output.joint_targets, output.held_targets).tolist()
                self._array_publisher.publish(array)
        if output.action is not None:
            action = JointState()
            action.header.stamp = stamp
            action.name = list(self._joint_map.policy_joint_names)
            action.position = output.action.tolist()
            self._action_publisher.publish(action)

    def _guarded_step(self, now_s):
        """Run a control step; one that raises latches damping with the error as its reason."""
        try:
            return self._core.step(now_s)
        except Exception as error:  # noqa: B902 (a timer callback must not raise)
            transition = self._core.safety.fault(
                now_s, f'control step failed: {type(error).__name__}: {error}')
            self._log_transitions(filter(None, [transition]))
            try:
                return self._core.step(now_s)   # in damping: the measured positions only
            except Exception as again:  # noqa: B902
                self.get_logger().error(f'no damping targets this step: {again}',
                                        throttle_duration_sec=1.0)
                return ControlOutput(now_s, self._core.safety.mode, None)

    def _on_diagnostics_timer(self):
        now, _ = self._now()
        safety = self._core.safety
        phase = None if self._last_output is None else self._last_output.phase
        diagnostics = DiagnosticArray()
        diagnostics.header.stamp = now.to_msg()
        for name, (level, message, values) in (
                ('lpn_controller: safety',
                 safety_diagnostic(safety.mode, safety.reason, safety.estop_active,
                                   self._core.control_rate_hz, phase)),
                ('lpn_controller: smoothness', monitor_diagnostic(self._core.monitor_report()))):
            status = DiagnosticStatus()
            status.name = name
            status.hardware_id = self.get_name()
            status.level = _DIAGNOSTIC_LEVELS[level]
            status.message = message
            status.values = [KeyValue(key=key, value=value) for key, value in values]
            diagnostics.status.append(status)
        self._diagnostics_publisher.publish(diagnostics)


def _init_without_signal_handlers(args):
    # rclpy's own handlers shut the context down on SIGINT/SIGTERM, after which no last command
    # or service call is possible: the node handles both itself (see main).
    try:
        from rclpy.signals import SignalHandlerOptions
    except ImportError:
        rclpy.init(args=args)
    else:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)


def main(args=None):
    """Run the controller node until a signal, then stop safely; exit code 1 on start-up errors."""
    _init_without_signal_handlers(args)
    signals = []

    def on_signal(number, frame):
        signals.append(signal.Signals(number).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    node = None
    executor = SingleThreadedExecutor()
    try:
        try:
            node = ControllerNode()
        except (PolicyFormatError, JointMapError, ValueError) as error:  # MissingInputError too
            get_logger('lpn_controller').fatal(f'cannot start: {error}')
            return 1
        executor.add_node(node)
        try:
            # Short waits: a signal's handler runs between them (at the latest 0.1 s later).
            while rclpy.ok() and not signals:
                executor.spin_once(timeout_sec=0.1)
        except ExternalShutdownException:
            return 0
        except Exception as error:
            node.get_logger().fatal(f'{type(error).__name__}: {error}')
            node.safe_shutdown('exception', executor)
            raise
        if rclpy.ok():
            node.safe_shutdown(signals[0] if signals else 'shutdown', executor)
    finally:
        # Ctrl-C in a terminal reaches a launched node twice (the process group, then launch's
        # own SIGINT): later signals must not interrupt the stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if node is not None:
            executor.remove_node(node)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
