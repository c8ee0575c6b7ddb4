"""
ROS 2 node: the Spot driver emulator (``spot_emulator``) behind the driver's own topics.

    ros2 launch quadruped_arm_bringup spot_emulator.launch.py [spot_name:=NS]
        [hardware_interface:=robot|mock] [driver_config:=DIR]

Wiring only; the behaviour lives in :mod:`quadruped_arm_bringup.spot_emulator`. Under the
launch's namespace it publishes ``low_level/joint_states`` and ``imu_sensor_broadcaster/imu``
(reliable, as ros2_control's broadcasters) and ``odometry`` (reliable, transient local, as
spot_driver), takes ``forward_position_controller/commands`` on a second node named
forward_position_controller whose ``joints`` and ``interface_names`` parameters are the stock
controller's, and answers ``controller_manager/set_hardware_component_state``. It runs on wall
clock in real time, so ``robot.launch.py`` runs against it unchanged.
"""

import signal
import time

from controller_manager_msgs.srv import SetHardwareComponentState
from nav_msgs.msg import Odometry
from quadruped_arm_bringup.spot_driver_config import read_driver_gains, SPOT_ARM_JOINTS
from quadruped_arm_bringup.spot_emulator import (
    BODY_FRAME, IMU, IMU_FRAME, JOINT_STATES, ODOM_FRAME, ODOMETRY, PHYSICS_RATE_HZ,
    SpotDriverEmulator)
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Imu, JointState
from sim_bridge.bridge import RealTimePacer, xyzw
from sim_bridge.config import robot_config_path
from std_msgs.msg import Float64MultiArray

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
PERIOD_S = 0.005   # the timer runs every physics step that is due


class SpotEmulatorNode(Node):
    """Publishes the emulated driver's topics and takes its commands."""

    def __init__(self):
        super().__init__('spot_driver_emulator')
        for name, default in (('hardware_interface', 'robot'), ('driver_config', ''),
                              ('robot_config', ''), ('seed', 0)):
            self.declare_parameter(name, default)
        param = self._param
        gains = read_driver_gains(param('driver_config')) if param('driver_config') else None
        robot = robot_config_path(param('robot_config')) if param('robot_config') else None
        namespace = self.get_namespace().strip('/')
        self.driver = SpotDriverEmulator(robot, namespace, param('hardware_interface'), gains,
                                         param('seed'))
        self.controller = Node('forward_position_controller', namespace=self.get_namespace())
        self.controller.declare_parameter('joints', list(SPOT_ARM_JOINTS))
        self.controller.declare_parameter('interface_names', ['position'])
        self.controller.create_subscription(Float64MultiArray, '~/commands', self.on_command,
                                            RELIABLE)
        self.joint_states = self.create_publisher(JointState, JOINT_STATES, RELIABLE)
        self.imu = self.create_publisher(Imu, IMU, RELIABLE)
        self.odometry = self.create_publisher(Odometry, ODOMETRY, LATCHED)
        self.create_service(SetHardwareComponentState,
                            'controller_manager/set_hardware_component_state',
                            self.on_set_hardware_state)
        self.pacer = RealTimePacer(1.0 / PHYSICS_RATE_HZ, 1.0, max_ticks_per_call=100)
        self.create_timer(PERIOD_S, self.on_timer)
        self.get_logger().info(
            f'emulating spot_ros2_control ({param("hardware_interface")}) with '
            f'{"the gains of " + param("driver_config") if gains else "the driver defaults"}')

    def _param(self, name):
        return self.get_parameter(name).value

    def on_command(self, message):
        error = self.driver.command(message.data)
        if error:
            self.controller.get_logger().error(error, throttle_duration_sec=1.0)

    def on_set_hardware_state(self, request, response):
        # A lifecycle state may come by id alone (lifecycle_msgs/State: 2 inactive, 3 active).
        label = request.target_state.label or {2: 'inactive', 3: 'active'}.get(
            request.target_state.id, '')
        response.ok = self.driver.set_hardware_state(request.name, label)
        response.state.label = 'active' if self.driver.active else 'inactive'
        response.state.id = 3 if self.driver.active else 2
        return response

    def on_timer(self):
        for _ in range(self.pacer.ticks_due(time.monotonic())):
            self.publish(self.driver.step())

    def publish(self, output):
        stamp = self.get_clock().now().to_msg()
        if output.joint_state is not None:
            positions, velocities, efforts = output.joint_state
            message = JointState(name=list(self.driver.joint_names), position=positions.tolist(),
                                 velocity=velocities.tolist(), effort=efforts.tolist())
            message.header.stamp = stamp
            self.joint_states.publish(message)
        if output.imu is not None:
            orientation, rates, acceleration = output.imu
            message = Imu()
            message.header.stamp, message.header.frame_id = stamp, self.driver.frame(IMU_FRAME)
            (message.orientation.x, message.orientation.y, message.orientation.z,
             message.orientation.w) = xyzw(orientation)
            (message.angular_velocity.x, message.angular_velocity.y,
             message.angular_velocity.z) = (float(value) for value in rates)
            (message.linear_acceleration.x, message.linear_acceleration.y,
             message.linear_acceleration.z) = (float(value) for value in acceleration)
            self.imu.publish(message)
        if output.odometry is not None:
            position, orientation, linear, angular = output.odometry
            message = Odometry()
            message.header.stamp, message.header.frame_id = stamp, self.driver.frame(ODOM_FRAME)
            message.child_frame_id = self.driver.frame(BODY_FRAME)
            pose, twist = message.pose.pose, message.twist.twist
            pose.position.x, pose.position.y, pose.position.z = (float(v) for v in position)
            (pose.orientation.x, pose.orientation.y, pose.orientation.z,
             pose.orientation.w) = xyzw(orientation)
            twist.linear.x, twist.linear.y, twist.linear.z = (float(v) for v in linear)
            twist.angular.x, twist.angular.y, twist.angular.z = (float(v) for v in angular)
            self.odometry.publish(message)


def main(args=None):
    """Run the emulator until shutdown."""
    rclpy.init(args=args)
    node = None
    executor = SingleThreadedExecutor()
    try:
        node = SpotEmulatorNode()
        executor.add_node(node)
        executor.add_node(node.controller)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if node is not None:
            node.controller.destroy_node()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
