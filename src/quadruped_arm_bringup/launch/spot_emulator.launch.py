"""
Emulate Spot's ROS 2 driver (spot_ros2_control) on the simulator, to dry-run robot.launch.py.

    ros2 launch quadruped_arm_bringup spot_emulator.launch.py [spot_name:=NS]
        [hardware_interface:=robot] [driver_config:=DIR]
    ros2 launch quadruped_arm_bringup robot.launch.py [spot_name:=NS] [driver_config:=DIR]

Starts the emulator node (``quadruped_arm_bringup.spot_emulator_node``): the driver's topics
under the namespace, its forward_position_controller (its ``joints`` parameter and
``~/commands``), controller_manager's set_hardware_component_state, on a simulated Spot lying
down at activation, in real time. Arguments as the driver's launch takes them:

- ``spot_name`` (empty): namespace of every topic; joint names become <spot_name>/<joint>.
- ``hardware_interface`` (robot): ``robot`` simulates the robot; ``mock`` forwards commands to
  the state with a NaN IMU and no odometry, as the driver's mock hardware.
- ``driver_config`` (empty: the driver's default gains): the config file (or
  spot_driver_config's output folder) with the k_q_p/k_qd_p the joint PD uses.
- ``robot_config`` (empty: the packaged robot): a sim_bridge robot configuration, e.g.
  ``menagerie_spot_arm`` (needs MENAGERIE_ROOT).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    """Declare the driver-like arguments and start the emulator in the namespace."""
    return LaunchDescription([
        DeclareLaunchArgument(
            'spot_name', default_value='',
            description='Namespace of the emulated driver; joint names get it as a prefix.'),
        DeclareLaunchArgument(
            'hardware_interface', default_value='robot', choices=['robot', 'mock'],
            description='robot: simulated Spot; mock: the driver mock hardware (NaN IMU, no '
                        'odometry).'),
        DeclareLaunchArgument(
            'driver_config', default_value='',
            description='Driver config file or spot_driver_config folder with k_q_p/k_qd_p; '
                        'empty: the driver default gains.'),
        DeclareLaunchArgument(
            'robot_config', default_value='',
            description='sim_bridge robot configuration (empty: the packaged robot).'),
        Node(package='quadruped_arm_bringup', executable='spot_emulator',
             name='spot_driver_emulator', namespace=LaunchConfiguration('spot_name'),
             output='screen',
             parameters=[{'hardware_interface': LaunchConfiguration('hardware_interface'),
                          'driver_config': LaunchConfiguration('driver_config'),
                          'robot_config': LaunchConfiguration('robot_config')}]),
    ])
