"""
ROS 2 node: the MuJoCo simulator core behind /clock, /joint_states, /imu and /odom.

Wiring only; the behaviour lives in :mod:`sim_bridge.bridge` and :mod:`sim_bridge.simulator`.
Messages are stamped with simulated time. The node paces itself on a steady wall-clock timer
(scaled by real_time_factor), never on /clock, which it publishes. MuJoCo's own warnings reach
this node's logger; an unstable step is logged as an error and reported on /diagnostics.
"""

import logging
import signal
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from lpn_controller.rotations import rotate_into_body
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import ParameterDescriptor
import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Imu, JointState
from sim_bridge.bridge import (BridgeCore, BridgeSettings, CommandError, CommandMode,
                               DIAGNOSTIC_NAME, NODE_PARAMETERS, RealTimePacer, stamp, xyzw)
from sim_bridge.config import load_config
from sim_bridge.instability import forward_mujoco_log
from sim_bridge.simulator import Simulator
from sim_bridge.viewer import open_viewer, ViewerSync
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import SetBool, Trigger


class SimBridgeNode(Node):
    """Publishes the simulated robot's state and applies joint commands."""

    def __init__(self):
        super().__init__('sim_bridge')
        for name, default, description in NODE_PARAMETERS:
            self.declare_parameter(name, default, ParameterDescriptor(description=description))
        param = self._param
        self.stop_mujoco_log = forward_mujoco_log(self._log_mujoco)
        config = load_config(param('robot_config') or None)
        settings = BridgeSettings(
            clock_every=param('clock_every'), state_rate_hz=param('state_rate_hz'),
            command_timeout_s=param('command_timeout_s'), hold_kp_scale=param('hold_kp_scale'),
            hold_kd_scale=param('hold_kd_scale'), real_time_factor=param('real_time_factor'),
            on_unstable=param('on_unstable'))
        self.core = BridgeCore(Simulator(config, seed=param('seed')), settings)
        self.core.paused = param('start_paused')
        self.frames = {key: param(f'{key}_frame_id') for key in ('odom', 'base', 'imu')}

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.clock_pub = self.create_publisher(ClockMsg, '/clock', reliable)
        self.joint_state_pub = self.create_publisher(JointState, '/joint_states',
                                                     qos_profile_sensor_data)
        self.imu_pub = self.create_publisher(Imu, '/imu', qos_profile_sensor_data)
        self.odom_pub = self.create_publisher(Odometry, '/odom', qos_profile_sensor_data)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(JointState, param('joint_command_topic'),
                                 self.on_joint_command, reliable)
        if param('array_command_topic'):
            self.create_subscription(Float64MultiArray, param('array_command_topic'),
                                     self.on_array_command, reliable)
        self.create_service(Trigger, '~/reset', self.on_reset)
        self.create_service(SetBool, '~/pause', self.on_pause)
        self.pacer = RealTimePacer(self.core.plan.tick_dt, settings.real_time_factor)
        self.timer = self.create_timer(self.core.plan.wall_period, self.on_tick,
                                       clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.create_timer(param('diagnostics_period_s'), self.publish_diagnostics,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.viewer = self._open_viewer() if param('viewer') else None
        self.get_logger().info(
            f'simulating {config.model_path.name}: {len(config.joint_names)} joints, physics '
            f'{config.physics_rate_hz:g} Hz, control {config.control_rate_hz:g} Hz, real-time '
            f'factor {settings.real_time_factor:g}; {self.core.mode.value}')

    def _param(self, name):
        return self.get_parameter(name).value

    def _log_mujoco(self, level, text):
        logger = self.get_logger()
        if level >= logging.ERROR:
            logger.error(text)
        elif level >= logging.WARNING:
            logger.warning(text)
        else:
            logger.info(text)

    def _open_viewer(self):
        handle, problem = open_viewer(self.core.sim.model, self.core.sim.data)
        if handle is None:
            self.get_logger().warn(f'viewer not opened: {problem}; running headless')
            return None
        self.get_logger().info('MuJoCo viewer open')
        return ViewerSync(handle)

    def on_joint_command(self, msg):
        self._apply(self.core.command_by_name, msg.name, msg.position)

    def on_array_command(self, msg):
        self._apply(self.core.command_array, msg.data)

    def _apply(self, command, *args):
        try:
            command(*args)
        except CommandError as error:
            self.get_logger().warn(str(error), throttle_duration_sec=1.0)

    def on_tick(self):
        if self.core.paused:
            self.pacer.origin = None  # resume from now, not with a burst of missed ticks
            return
        dropped = self.pacer.dropped
        for _ in range(self.pacer.ticks_due(time.monotonic())):
            result = self.core.tick()
            if result is None:   # paused by an unstable step in this burst
                break
            self.publish_tick(result)
        if self.viewer is not None and not self.viewer.update(time.monotonic()):
            self.get_logger().info('viewer closed; the simulation runs on headless')
            self.viewer = None
        if self.pacer.dropped > dropped:
            self.get_logger().warn(
                f'simulation cannot keep up with real_time_factor '
                f'{self.core.settings.real_time_factor:g}: dropped '
                f'{self.pacer.dropped - dropped} ticks', throttle_duration_sec=5.0)

    def publish_tick(self, result):
        if result.instability is not None:
            self.get_logger().error(f'{result.instability}; the simulation is '
                                    + ('paused until ~/reset' if self.core.paused
                                       else 'reset to the keyframe, waiting for commands'))
            self.publish_diagnostics()
        if result.mode_change is CommandMode.TRACKING:
            self.get_logger().info(result.mode_change.value)
        elif result.mode_change is not None:
            self.get_logger().warn(result.mode_change.value)
        sec, nanosec = stamp(result.time)
        clock = ClockMsg()
        clock.clock.sec, clock.clock.nanosec = sec, nanosec
        self.clock_pub.publish(clock)
        if result.state is not None:
            self.publish_state(result.state, clock.clock)

    def publish_state(self, state, time):
        joints = JointState()
        joints.header.stamp = time
        joints.name = list(self.core.joint_names)
        joints.position = state.joint_positions.tolist()
        joints.velocity = state.joint_velocities.tolist()
        joints.effort = state.joint_efforts.tolist()
        self.joint_state_pub.publish(joints)

        imu = Imu()
        imu.header.stamp, imu.header.frame_id = time, self.frames['imu']
        q = imu.orientation
        q.x, q.y, q.z, q.w = xyzw(state.imu_orientation)
        w = imu.angular_velocity
        w.x, w.y, w.z = state.imu_angular_velocity.tolist()
        a = imu.linear_acceleration
        a.x, a.y, a.z = state.imu_linear_acceleration.tolist()
        self.imu_pub.publish(imu)

        odom = Odometry()
        odom.header.stamp, odom.header.frame_id = time, self.frames['odom']
        odom.child_frame_id = self.frames['base']
        pose = odom.pose.pose
        pose.position.x, pose.position.y, pose.position.z = state.base_position.tolist()
        o = pose.orientation
        o.x, o.y, o.z, o.w = xyzw(state.base_orientation)
        twist = odom.twist.twist
        linear = rotate_into_body(state.base_orientation, state.base_linear_velocity)
        twist.linear.x, twist.linear.y, twist.linear.z = linear.tolist()
        twist.angular.x, twist.angular.y, twist.angular.z = state.base_angular_velocity.tolist()
        self.odom_pub.publish(odom)

    def publish_diagnostics(self):
        level, message, values = self.core.diagnostic()
        status = DiagnosticStatus(name=DIAGNOSTIC_NAME, message=message,
                                  hardware_id=self.get_name())
        status.level = {0: DiagnosticStatus.OK, 1: DiagnosticStatus.WARN,
                        2: DiagnosticStatus.ERROR}[level]
        status.values = [KeyValue(key=key, value=value) for key, value in values]
        diagnostics = DiagnosticArray(status=[status])
        diagnostics.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(diagnostics)

    def on_reset(self, request, response):
        self.core.reset()
        response.success, response.message = True, 'reset to the keyframe; waiting for commands'
        self.get_logger().info(response.message)
        return response

    def on_pause(self, request, response):
        response.success, response.message = self.core.set_paused(bool(request.data))
        return response


def main(args=None):
    rclpy.init(args=args)
    node = None
    try:
        node = SimBridgeNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # Ctrl-C shuts the context down from a signal handler, possibly in the middle of a tick,
        # whose next publish then fails: that is a normal stop, anything else is not.
        if rclpy.ok():
            raise
    finally:
        # Ctrl-C in a terminal reaches a launched node twice (the process group, then launch's
        # own SIGINT): the second must not turn a normal stop into a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if node is not None:
            if node.viewer is not None:
                node.viewer.close()
            node.stop_mujoco_log()
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
