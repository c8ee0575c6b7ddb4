"""
Simulate the quadruped with an arm under the smooth-policy controller.

    ros2 launch quadruped_arm_bringup sim.launch.py [task:=trot_arm_wave] [policy:=PATH]
        [robot:=NAME|PATH] [viewer:=true] [record:=true [bag:=PATH]] [real_time_factor:=1.0]

Starts the MuJoCo bridge (``sim_bridge``: /clock, /joint_states, /imu, /odom, takes
/joint_commands), the controller (``lpn_controller``: the policy, its safety state machine and
smoothness monitor; publishes /joint_commands, /lpn_controller/action and /diagnostics) on
simulated time, the diagnostics aggregator when ``diagnostic_aggregator`` is installed (skipped
with a message otherwise), and with ``record:=true`` an MCAP bag of the topics the analysis
needs (``ros2 run lpn_controller analyze BAG``).

Arguments (``ros2 launch quadruped_arm_bringup sim.launch.py --show-args``):

- ``task`` (trot_arm_wave): motion clip to perform; selects the shipped policy ``lpn_<task>``.
  The policy's metadata names the clip it was trained on (the controller takes the clip's phase
  period from it); a policy trained on another clip is refused at launch.
- ``policy`` (the shipped ``policies/lpn_<task>`` of this package): exported policy directory
  or archive.
- ``robot`` (empty: the packaged quadruped with arm): the simulated model, a sim_bridge robot
  configuration: the name of one shipped with sim_bridge (``menagerie_spot_arm``, read from
  ``$MENAGERIE_ROOT``) or a path to a robot YAML. Checked against its model and the policy's
  joints before a node starts; its ``joint_map`` becomes the controller's ``joint_remap``.
- ``use_sim_time`` (true): run the controller and the aggregator on the bridge's /clock.
- ``real_time_factor`` (1.0): simulated seconds per wall-clock second.
- ``viewer`` (false): open the MuJoCo passive viewer in the bridge; needs a display (headless
  machines get a warning and run on).
- ``record`` (false): record /clock, /joint_states, /imu, /odom, /joint_commands,
  /lpn_controller/action and /diagnostics with ``ros2 bag record -s mcap``.
- ``bag`` (empty: rosbag2's timestamped folder in the current directory): bag output folder;
  it must not exist yet.
- ``bridge_params``, ``controller_params``, ``monitor_params`` (this package's
  config/sim_bridge.yaml, controller.yaml, monitor.yaml): parameter files of the bridge, of the
  controller and of the controller's smoothness-monitor thresholds.
"""

import os

from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from quadruped_arm_bringup.policy_selection import select_policy
from quadruped_arm_bringup.recording import bag_record_command, SIM_TOPICS
from quadruped_arm_bringup.sim_robot import sim_robot_parameters

PACKAGE = 'quadruped_arm_bringup'
BOOLEAN = ['true', 'false']


def diagnostic_aggregator_installed():
    """Return whether the diagnostic_aggregator package can be found."""
    try:
        get_package_share_directory('diagnostic_aggregator')
    except PackageNotFoundError:
        return False
    return True


def launch_setup(context, config, policies_dir):
    """
    Check the policy against the task, then start the nodes (and the bag if asked).

    The check comes first: a launch that fails after starting a process leaves it running.
    """
    task = LaunchConfiguration('task').perform(context)
    policy = LaunchConfiguration('policy').perform(context)
    loaded = select_policy(policy, task, policies_dir)  # refuses a missing or mismatched one
    bridge_robot, controller_robot = sim_robot_parameters(
        LaunchConfiguration('robot').perform(context), loaded.metadata.joint_names)
    use_sim_time = LaunchConfiguration('use_sim_time').perform(context) == 'true'
    bridge = Node(
        package='sim_bridge', executable='node', name='sim_bridge', exec_name='sim_bridge',
        output='screen',
        parameters=[LaunchConfiguration('bridge_params'),
                    {'real_time_factor': ParameterValue(
                        LaunchConfiguration('real_time_factor'), value_type=float),
                     'viewer': ParameterValue(LaunchConfiguration('viewer'), value_type=bool),
                     **bridge_robot}])
    controller = Node(
        package='lpn_controller', executable='node', name='lpn_controller',
        exec_name='lpn_controller', output='screen',
        parameters=[LaunchConfiguration('controller_params'),
                    LaunchConfiguration('monitor_params'),
                    {'policy_path': policy, 'use_sim_time': use_sim_time, **controller_robot}])
    actions = [bridge, controller]
    if diagnostic_aggregator_installed():
        actions.append(Node(
            package='diagnostic_aggregator', executable='aggregator_node', output='screen',
            parameters=[os.path.join(config, 'diagnostics.yaml'),
                        {'use_sim_time': use_sim_time}]))
    else:
        actions.append(LogInfo(msg='diagnostic_aggregator is not installed: /diagnostics is '
                                   'published but not aggregated'))
    if LaunchConfiguration('record').perform(context) == 'true':
        actions.append(ExecuteProcess(
            cmd=bag_record_command(SIM_TOPICS, LaunchConfiguration('bag').perform(context)),
            name='bag_record', output='screen'))
    return actions


def generate_launch_description():
    """Declare the arguments; the nodes start once the policy fits the task."""
    share = get_package_share_directory(PACKAGE)
    config = os.path.join(share, 'config')
    policies_dir = os.path.join(share, 'policies')
    arguments = [
        DeclareLaunchArgument(
            'task', default_value='trot_arm_wave',
            description='Motion clip to perform; selects the shipped policy lpn_<task>. A '
                        'policy trained on another clip is refused.'),
        DeclareLaunchArgument(
            'policy',
            # A flat list is concatenated by every launch release; a list nested inside
            # PathJoinSubstitution is accepted only after Jazzy's first (launch 3.4.0).
            default_value=[os.path.join(policies_dir, 'lpn_'), LaunchConfiguration('task')],
            description='Exported policy directory or archive (default: the shipped LPN '
                        'policy for the task).'),
        DeclareLaunchArgument(
            'robot', default_value='',
            description='Simulated model: empty for the packaged quadruped with arm, a robot '
                        'configuration shipped with sim_bridge (menagerie_spot_arm, needs '
                        'MENAGERIE_ROOT) or a path to a robot YAML.'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='true', choices=BOOLEAN,
            description='Run the controller and the aggregator on the simulated /clock.'),
        DeclareLaunchArgument(
            'real_time_factor', default_value='1.0',
            description='Simulated seconds per wall-clock second.'),
        DeclareLaunchArgument(
            'viewer', default_value='false', choices=BOOLEAN,
            description='Open the MuJoCo passive viewer (needs a display; headless runs warn '
                        'and go on).'),
        DeclareLaunchArgument(
            'record', default_value='false', choices=BOOLEAN,
            description='Record /clock, /joint_states, /imu, /odom, /joint_commands, '
                        '/lpn_controller/action and /diagnostics to an MCAP bag.'),
        DeclareLaunchArgument(
            'bag', default_value='',
            description='Bag output folder for record:=true; must not exist. Empty: a '
                        'timestamped folder in the current directory.'),
        DeclareLaunchArgument(
            'bridge_params', default_value=os.path.join(config, 'sim_bridge.yaml'),
            description='Parameter file of the sim_bridge node.'),
        DeclareLaunchArgument(
            'controller_params', default_value=os.path.join(config, 'controller.yaml'),
            description='Parameter file of the lpn_controller node (runtime, topics, safety).'),
        DeclareLaunchArgument(
            'monitor_params', default_value=os.path.join(config, 'monitor.yaml'),
            description="Parameter file of the controller's smoothness-monitor thresholds."),
    ]
    return LaunchDescription([
        *arguments,
        OpaqueFunction(function=launch_setup, args=[config, policies_dir]),
    ])
