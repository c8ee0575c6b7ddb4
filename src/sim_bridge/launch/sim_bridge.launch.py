"""Start the simulator bridge alone: ros2 launch sim_bridge sim_bridge.launch.py."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    default_params = os.path.join(get_package_share_directory('sim_bridge'), 'config',
                                  'sim_bridge.yaml')
    return LaunchDescription([
        DeclareLaunchArgument('params_file', default_value=default_params,
                              description='Parameter file of the sim_bridge node.'),
        DeclareLaunchArgument('real_time_factor', default_value='1.0',
                              description='Simulated seconds per wall-clock second.'),
        Node(package='sim_bridge', executable='node', name='sim_bridge', output='screen',
             parameters=[LaunchConfiguration('params_file'),
                         {'real_time_factor': ParameterValue(
                             LaunchConfiguration('real_time_factor'), value_type=float)}]),
    ])
