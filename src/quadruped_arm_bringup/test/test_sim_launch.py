"""
Launch test: sim.launch.py brings up the bridge and the controller, and state and actions flow.

Runs under launch_testing (``colcon test`` or ``launch_test``); skips where ROS 2 is absent.
"""

from pathlib import Path
import time
import unittest

import pytest

rclpy = pytest.importorskip('rclpy')
launch = pytest.importorskip('launch')
launch_ros = pytest.importorskip('launch_ros')
launch_testing = pytest.importorskip('launch_testing')

from launch.actions import IncludeLaunchDescription  # noqa: E402, I100
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402

SIM_LAUNCH = Path(__file__).resolve().parents[1] / 'launch' / 'sim.launch.py'


@pytest.mark.launch_test
def generate_test_description():
    sim = IncludeLaunchDescription(PythonLaunchDescriptionSource(str(SIM_LAUNCH)),
                                   launch_arguments={'record': 'false'}.items())
    return launch.LaunchDescription([sim, launch_testing.actions.ReadyToTest()])


class TestSimLaunch(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        rclpy.init()

    @classmethod
    def tearDownClass(cls):
        rclpy.shutdown()

    def setUp(self):
        self.node = rclpy.create_node('sim_launch_test_probe')

    def tearDown(self):
        self.node.destroy_node()

    def test_joint_states_and_policy_actions_flow(self):
        states, actions = [], []
        self.node.create_subscription(JointState, '/joint_states', states.append,
                                      qos_profile_sensor_data)
        self.node.create_subscription(JointState, '/lpn_controller/action', actions.append, 10)
        # The controller interpolates to the default pose (2 s of simulated time) before the
        # policy acts; start-up and discovery take a few seconds more on a loaded machine.
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and len(actions) < 25:
            rclpy.spin_once(self.node, timeout_sec=0.1)
        self.assertGreaterEqual(len(states), 50, f'{len(states)} joint states')
        self.assertGreaterEqual(len(actions), 25, f'{len(actions)} actions')
        self.assertEqual(len(states[-1].name), 18)
        self.assertEqual(list(actions[-1].name), list(states[-1].name))
        stamps = [a.header.stamp.sec + 1e-9 * a.header.stamp.nanosec for a in actions[-25:]]
        self.assertTrue(all(b > a for a, b in zip(stamps, stamps[1:])), 'stamps not increasing')
        # Simulated time at the policy's 50 Hz: 25 actions span 0.48 s of /clock.
        self.assertAlmostEqual(stamps[-1] - stamps[0], 24 / 50.0, delta=0.05)


@launch_testing.post_shutdown_test()
class TestSimLaunchShutdown(unittest.TestCase):

    def test_exit_code(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0, -2, -15])
