"""
Launch test: the controller node starts on a small policy and publishes under a fake robot.

Runs under launch_testing (``colcon test`` or ``launch_test``); skips where ROS 2 is absent.
"""

import os
import tempfile
import time
import unittest

import pytest

rclpy = pytest.importorskip('rclpy')
launch = pytest.importorskip('launch')
launch_ros = pytest.importorskip('launch_ros')
launch_testing = pytest.importorskip('launch_testing')

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402, I100
import launch_ros.actions  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
from lpn_controller.example_policy import make_example_policy  # noqa: E402
from lpn_controller.policy_format import save_policy  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Imu, JointState  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

JOINTS = ('front_left_hip_x', 'front_left_hip_y', 'front_left_knee', 'arm_sh0')
METADATA, WEIGHTS = make_example_policy('lpn', JOINTS, seed=0)


@pytest.mark.launch_test
def generate_test_description():
    policy_path = os.path.join(tempfile.mkdtemp(prefix='lpn_controller_test_'), 'policy')
    save_policy(policy_path, METADATA, WEIGHTS)
    controller = launch_ros.actions.Node(
        package='lpn_controller', executable='node', name='lpn_controller', output='screen',
        parameters=[{'policy_path': policy_path, 'interpolation_duration_s': 0.2,
                     'diagnostics_period_s': 0.2}])
    return (launch.LaunchDescription([controller, launch_testing.actions.ReadyToTest()]),
            {'controller': controller})


class TestControllerNode(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        rclpy.init()

    @classmethod
    def tearDownClass(cls):
        rclpy.shutdown()

    def setUp(self):
        self.node = rclpy.create_node('lpn_controller_test_driver')
        self.received = {'targets': [], 'action': [], 'diagnostics': []}
        self.node.create_subscription(JointState, '/joint_commands',
                                      self.received['targets'].append, 10)
        self.node.create_subscription(JointState, '/lpn_controller/action',
                                      self.received['action'].append, 10)
        self.node.create_subscription(DiagnosticArray, '/diagnostics',
                                      self.received['diagnostics'].append, 10)
        self.joint_states = self.node.create_publisher(JointState, '/joint_states',
                                                       qos_profile_sensor_data)
        self.imu = self.node.create_publisher(Imu, '/imu', qos_profile_sensor_data)

    def tearDown(self):
        self.node.destroy_node()

    def drive_robot(self, until, timeout_s=20.0):
        """Publish a standing robot's state until ``until()`` holds; return whether it did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stamp = self.node.get_clock().now().to_msg()
            joint_state = JointState()
            joint_state.header.stamp = stamp
            joint_state.name = list(JOINTS)
            joint_state.position = [float(x) for x in METADATA.default_pose]
            joint_state.velocity = [0.0] * len(JOINTS)
            self.joint_states.publish(joint_state)
            imu = Imu()
            imu.header.stamp = stamp
            imu.orientation.w = 1.0
            # A live IMU's readings change every message; bit-identical ones are a frozen
            # driver, which the controller's frozen-IMU check latches into damping.
            imu.angular_velocity.z = 1e-6 * (time.monotonic() % 1.0)
            self.imu.publish(imu)
            rclpy.spin_once(self.node, timeout_sec=0.01)
            if until():
                return True
        return False

    def test_comes_up_engages_and_publishes(self):
        engaged = self.drive_robot(
            lambda: self.received['action'] and self.received['diagnostics'])
        counts = {name: len(messages) for name, messages in self.received.items()}
        self.assertTrue(engaged, f'messages received: {counts}')
        targets = self.received['targets'][-1]
        self.assertEqual(list(targets.name), list(JOINTS))
        self.assertEqual(len(targets.position), len(JOINTS))
        action = self.received['action'][-1]
        self.assertEqual(list(action.name), list(JOINTS))
        self.assertGreater(action.header.stamp.sec + action.header.stamp.nanosec, 0)
        names = {status.name for message in self.received['diagnostics']
                 for status in message.status}
        self.assertIn('lpn_controller: safety', names)
        self.assertIn('lpn_controller: smoothness', names)

    def test_estop_service_stops_the_policy(self):
        self.drive_robot(lambda: self.received['action'])
        client = self.node.create_client(Trigger, '/lpn_controller/estop')
        self.assertTrue(client.wait_for_service(timeout_sec=10.0))
        future = client.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=10.0)
        self.assertTrue(future.result().success)

        def damping_reported():
            return any(value.value == 'damping'
                       for message in self.received['diagnostics'][-3:]
                       for status in message.status for value in status.values
                       if value.key == 'mode')
        self.assertTrue(self.drive_robot(damping_reported, timeout_s=5.0))


@launch_testing.post_shutdown_test()
class TestControllerShutdown(unittest.TestCase):

    def test_exit_code(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0, -2, -15])
