"""
Run the smooth-policy controller alone against a real robot's driver.

    ros2 launch quadruped_arm_bringup robot.launch.py [robot:=spot_arm] [policy:=PATH]
        [spot_name:=NS] [driver_config:=DIR] [record:=true [bag:=PATH]]

Starts only the controller node (``lpn_controller``: the policy, its safety state machine and
its smoothness monitor on /diagnostics) on wall-clock time. Topics and joint names come from the
robot's profile ``config/robots/<robot>.yaml`` (format: ``quadruped_arm_bringup.robot_profile``;
``spot_arm.yaml`` is Spot with arm through spot_ros2_control's stock
forward_position_controller, 19 joints with the gripper held), checked against the policy
before the node starts. Until fresh joint states and IMU arrive the controller only waits
(passive damping); it then interpolates from the first-read pose to the policy's default pose
over the profile's ``interpolation_duration_s`` and hands over to the policy. Stale or
non-finite state, excessive tilt or ``~/estop`` latch damping until ``~/reset_estop``.

On Spot the joint PD runs on the robot with the gains of the driver's config file: a policy run
with the driver's default gains is NOT the policy that was evaluated. Start spot_ros2_control
with the file ``ros2 run quadruped_arm_bringup spot_driver_config --policy P --output DIR``
writes, and pass ``driver_config:=DIR`` here: the launch then refuses a file whose gains differ
from the policy's; without it, it says loudly what the robot may be running.

Arguments (``ros2 launch quadruped_arm_bringup robot.launch.py --show-args``):

- ``robot`` (spot_arm): robot profile name, the file ``config/robots/<robot>.yaml``.
- ``robot_profile`` (that file): a profile YAML elsewhere.
- ``task`` (trot_arm_wave): motion clip to perform; selects the shipped policy ``lpn_<task>``;
  a policy trained on another clip is refused.
- ``policy`` (the shipped ``policies/lpn_<task>``): exported policy directory or archive.
- ``spot_name`` (empty): the namespace spot_ros2_control was launched under; topics move
  under /<spot_name>/ and joint names become <spot_name>/<joint>, as the driver's are.
- ``driver_config`` (empty): the driver config file (or spot_driver_config's output folder)
  spot_ros2_control was started with; its k_q_p/k_qd_p are checked against the policy's gains.
- ``use_sim_time`` (false): true only against a simulated driver that publishes /clock.
- ``record`` (false): record the profile's topics, /lpn_controller/action and /diagnostics with
  ``ros2 bag record -s mcap``.
- ``bag`` (empty: rosbag2's timestamped folder in the current directory): bag output folder;
  it must not exist yet.
- ``controller_params``, ``monitor_params`` (this package's config/controller.yaml and
  monitor.yaml): the controller's base parameters; the profile's topics, joint names, joint
  limits and safety settings override them.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from quadruped_arm_bringup.policy_selection import select_policy
from quadruped_arm_bringup.recording import bag_record_command, robot_topics
from quadruped_arm_bringup.robot_profile import (controller_parameters, load_robot_profile,
                                                 namespaced_topics)
from quadruped_arm_bringup.spot_driver_config import gains_notice

PACKAGE = 'quadruped_arm_bringup'
BOOLEAN = ['true', 'false']


def launch_controller_and_recorder(context, policies_dir):
    """Check profile and policy together, then start the controller and, if asked, the bag."""
    profile = load_robot_profile(LaunchConfiguration('robot_profile').perform(context))
    policy = LaunchConfiguration('policy').perform(context)
    loaded = select_policy(policy, LaunchConfiguration('task').perform(context), policies_dir)
    use_sim_time = LaunchConfiguration('use_sim_time').perform(context) == 'true'
    namespace = LaunchConfiguration('spot_name').perform(context)
    parameters = controller_parameters(profile, loaded.metadata, namespace)
    parameters.update(policy_path=policy, use_sim_time=use_sim_time)
    actions = [
        LogInfo(msg=f'robot profile {profile.source}: {profile.description}'),
    ]
    if profile.driver_gains:
        actions.append(LogInfo(msg=gains_notice(
            loaded.metadata, profile.joint_names,
            LaunchConfiguration('driver_config').perform(context))))
    actions += [
        Node(package='lpn_controller', executable='node', name='lpn_controller',
             exec_name='lpn_controller', output='screen',
             parameters=[LaunchConfiguration('controller_params'),
                         LaunchConfiguration('monitor_params'), parameters]),
    ]
    if LaunchConfiguration('record').perform(context) == 'true':
        actions.append(ExecuteProcess(
            cmd=bag_record_command(robot_topics(namespaced_topics(profile, namespace)),
                                   LaunchConfiguration('bag').perform(context)),
            name='bag_record', output='screen'))
    return actions


def generate_launch_description():
    """Declare the arguments, then the controller (and the bag) for the robot's profile."""
    share = get_package_share_directory(PACKAGE)
    config = os.path.join(share, 'config')
    policies_dir = os.path.join(share, 'policies')
    arguments = [
        DeclareLaunchArgument(
            'robot', default_value='spot_arm',
            description='Robot profile name: config/robots/<robot>.yaml of this package.'),
        DeclareLaunchArgument(
            'robot_profile',
            # Flat concatenations: launch 3.4.0 (Jazzy's first) takes no nested list here.
            default_value=[os.path.join(config, 'robots', ''), LaunchConfiguration('robot'),
                           '.yaml'],
            description='Robot profile YAML: driver topics, joint names, joint limits, '
                        'safety settings (default: the file named by robot).'),
        DeclareLaunchArgument(
            'task', default_value='trot_arm_wave',
            description='Motion clip to perform; selects the shipped policy lpn_<task>. A '
                        'policy trained on another clip is refused.'),
        DeclareLaunchArgument(
            'policy',
            default_value=[os.path.join(policies_dir, 'lpn_'), LaunchConfiguration('task')],
            description='Exported policy directory or archive (default: the shipped LPN '
                        'policy for the task).'),
        DeclareLaunchArgument(
            'spot_name', default_value='',
            description='Namespace spot_ros2_control runs under: topics move under /<ns>/, '
                        'joint names become <ns>/<joint>. Empty: none.'),
        DeclareLaunchArgument(
            'driver_config', default_value='',
            description="The driver's config file (or spot_driver_config's folder) it was "
                        "started with: its gains must be the policy's. Empty: not checked "
                        '(a loud warning).'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false', choices=BOOLEAN,
            description='Use /clock time; only against a simulated driver.'),
        DeclareLaunchArgument(
            'record', default_value='false', choices=BOOLEAN,
            description="Record the profile's topics, /lpn_controller/action and /diagnostics "
                        'to an MCAP bag.'),
        DeclareLaunchArgument(
            'bag', default_value='',
            description='Bag output folder for record:=true; must not exist. Empty: a '
                        'timestamped folder in the current directory.'),
        DeclareLaunchArgument(
            'controller_params', default_value=os.path.join(config, 'controller.yaml'),
            description='Base parameter file of the lpn_controller node; the robot profile '
                        'overrides topics, joint names, limits and safety.'),
        DeclareLaunchArgument(
            'monitor_params', default_value=os.path.join(config, 'monitor.yaml'),
            description="Parameter file of the controller's smoothness-monitor thresholds."),
    ]
    return LaunchDescription([
        *arguments,
        OpaqueFunction(function=launch_controller_and_recorder, args=[policies_dir]),
    ])
