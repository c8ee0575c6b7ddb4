"""
Dry-run robot.launch.py against the Spot driver emulator over ROS (runs under colcon test).

Skipped where ROS 2 (rclpy, launch_testing) is not installed; without ROS the same emulator and
controller cores run in test_spot_dry_run.py.
"""

import os
import time
import unittest

try:
    from ament_index_python.packages import get_package_share_directory
    from controller_manager_msgs.srv import SetHardwareComponentState
    from diagnostic_msgs.msg import DiagnosticArray
    import launch
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    import launch_testing.actions
    import pytest
    from rcl_interfaces.srv import GetParameters
    import rclpy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
except ImportError as missing:
    import pytest
    pytest.skip(f'ROS 2 is not installed here ({missing.name})', allow_module_level=True)


@pytest.mark.launch_test
def generate_test_description():
    launch_dir = os.path.join(get_package_share_directory('quadruped_arm_bringup'), 'launch')

    def include(name):
        return launch.actions.IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(launch_dir, name)))
    return launch.LaunchDescription([
        include('spot_emulator.launch.py'), include('robot.launch.py'),
        launch_testing.actions.ReadyToTest()])


class TestRobotLaunchAgainstTheEmulator(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        rclpy.init()

    @classmethod
    def tearDownClass(cls):
        rclpy.shutdown()

    def setUp(self):
        self.node = rclpy.create_node('spot_emulator_test_probe')

    def tearDown(self):
        self.node.destroy_node()

    def spin_until(self, condition, timeout):
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            rclpy.spin_once(self.node, timeout_sec=0.1)
        return condition()

    def test_driver_topics_carry_19_joints_gripper_last(self):
        states = []
        self.node.create_subscription(JointState, '/low_level/joint_states', states.append, 10)
        self.assertTrue(self.spin_until(lambda: len(states) >= 10, 20.0))
        self.assertEqual(len(states[-1].name), 19)
        self.assertEqual(states[-1].name[-1], 'arm_f1x')

    def test_forward_controller_joints_parameter_is_readable(self):
        client = self.node.create_client(GetParameters,
                                         '/forward_position_controller/get_parameters')
        self.assertTrue(client.wait_for_service(timeout_sec=20.0))
        future = client.call_async(GetParameters.Request(names=['joints']))
        self.assertTrue(self.spin_until(future.done, 10.0))
        self.assertEqual(list(future.result().values[0].string_array_value)[-1], 'arm_f1x')

    def test_controller_sends_19_long_commands_and_engages_the_policy(self):
        commands, modes = [], []
        self.node.create_subscription(Float64MultiArray, '/forward_position_controller/commands',
                                      commands.append, 10)
        self.node.create_subscription(
            DiagnosticArray, '/diagnostics',
            lambda message: modes.extend(status.message for status in message.status), 10)
        self.assertTrue(self.spin_until(lambda: len(commands) >= 10, 30.0))
        self.assertEqual(len(commands[-1].data), 19)
        self.assertTrue(self.spin_until(lambda: any(mode.startswith('policy:') for mode in modes),
                                        30.0),
                        modes[-5:])

    def test_hardware_deactivation_is_answered(self):
        client = self.node.create_client(SetHardwareComponentState,
                                         '/controller_manager/set_hardware_component_state')
        self.assertTrue(client.wait_for_service(timeout_sec=20.0))
        request = SetHardwareComponentState.Request(name='OtherSystem')
        request.target_state.label = 'inactive'
        future = client.call_async(request)
        self.assertTrue(self.spin_until(future.done, 10.0))
        self.assertFalse(future.result().ok)   # only SpotSystem exists
