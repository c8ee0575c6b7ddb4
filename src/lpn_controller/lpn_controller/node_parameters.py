"""
The controller node's parameters: name, default and description, in plain Python.

node.py declares each of them (read-only, with its description); keeping the table here lets
the bringup's tests check every launch and profile parameter against it without ROS. A default
of ``Unset('DOUBLE')`` and the like declares the parameter with that ROS type and no value: it
reads as None, and the policy's metadata decides.
"""

from lpn_controller.monitor import MonitorConfig
from lpn_controller.safety import SafetyConfig
from lpn_controller.state_inputs import OdometryConfig


class Unset:
    """A parameter declared with a ROS type but no value (rclpy's ``Parameter.Type.<name>``)."""

    def __init__(self, type_name):
        """Remember the ROS parameter type name, e.g. DOUBLE_ARRAY."""
        self.type_name = type_name

    def __repr__(self):
        """Show the type, as the node declares it."""
        return f'Unset({self.type_name})'


# Defaults come from the plain-Python configs, so they are written down once.
_SAFETY = SafetyConfig()
_MONITOR = MonitorConfig()
_ODOMETRY = OdometryConfig()

# (name, default or Unset(type) for a parameter declared with a type and no value, description)
NODE_PARAMETERS = (
    ('policy_path', '', 'Exported policy directory or .tar.gz/.zip archive (required).'),
    ('lpn_mode', 'table', "LPN evaluation: 'table' (interpolated K/k table) or 'exact'."),
    ('lpn_table_bins', 200, 'Phase bins of the LPN table.'),
    ('control_rate_hz', Unset('DOUBLE'),
     'Override of the policy control rate in Hz; unset uses the policy metadata.'),
    ('joint_remap', Unset('STRING_ARRAY'),
     "Renames, 'policy_joint:robot_joint' per entry, for robots whose names differ."),
    ('joint_lower_limits', Unset('DOUBLE_ARRAY'),
     'Lower joint limits in rad, policy joint order; unset uses the policy metadata.'),
    ('joint_upper_limits', Unset('DOUBLE_ARRAY'),
     'Upper joint limits in rad, policy joint order; unset uses the policy metadata.'),
    ('joint_states_topic', '/joint_states', 'sensor_msgs/JointState input.'),
    ('imu_topic', '/imu', 'sensor_msgs/Imu input (orientation and body angular velocity).'),
    ('odom_topic', '/odom',
     'nav_msgs/Odometry input, read by a policy observing base_linear_velocity (the twist) '
     "and under orientation_source 'odometry' (the pose orientation). Empty: no odometry; "
     'such a policy is then refused.'),
    ('odom_twist_frame', _ODOMETRY.twist_frame,
     "Frame of the odometry twist: 'child' (the body, as nav_msgs specifies) or 'odom' (the "
     "pose's frame, as Spot's driver publishes it), then rotated into the body with the same "
     "message's orientation."),
    ('odom_timeout_s', _ODOMETRY.timeout_s,
     'Damping when the odometry (if read) is older (s); apart from state_timeout_s, since '
     "a driver's odometry often comes slower than its joint states (Spot: 50 Hz)."),
    ('orientation_source', _ODOMETRY.orientation_source,
     "Body orientation (gravity, tilt, heading) from the 'imu' or from the 'odometry' pose, "
     "for a driver whose IMU orientation is not the body's."),
    ('command_topic', '~/command',
     'std_msgs/Float64MultiArray task command, used if the policy observes a command.'),
    ('joint_targets_topic', '/joint_commands',
     'sensor_msgs/JointState position targets output (sim_bridge listens here).'),
    ('use_float64_array', False,
     'Also publish targets as std_msgs/Float64MultiArray for a ros2_control forward controller.'),
    ('float64_array_topic', '/forward_position_controller/commands',
     'Topic of the Float64MultiArray targets.'),
    ('float64_array_joint_order', Unset('STRING_ARRAY'),
     'Robot joint names in Float64MultiArray order; unset uses the policy order.'),
    ('held_joint_names', Unset('STRING_ARRAY'),
     'Robot joints in float64_array_joint_order the policy does not drive (a gripper): the '
     'controller holds them, interpolated and limited like the rest.'),
    ('held_joint_holds', Unset('STRING_ARRAY'),
     "Per held joint: 'measured' (the position read at engagement) or a fixed target (rad)."),
    ('held_joint_lower_limits', Unset('DOUBLE_ARRAY'), 'Per held joint: lower limit (rad).'),
    ('held_joint_upper_limits', Unset('DOUBLE_ARRAY'), 'Per held joint: upper limit (rad).'),
    ('forward_controller_node', '',
     "The forward controller's node (e.g. /forward_position_controller): its `joints` "
     'parameter is read at start-up and must equal forward_controller_joints; empty: no check.'),
    ('forward_controller_joints', Unset('STRING_ARRAY'),
     "The forward controller's `joints` as the profile lists them (without a namespace "
     'prefix, which the controller adds itself).'),
    ('forward_controller_check_timeout_s', 3.0,
     "Seconds to wait for the forward controller's parameter service; past them the order is "
     'not checked (warning).'),
    ('state_timeout_s', _SAFETY.state_timeout_s,
     'Watchdog: damping when joint states or IMU are older (s).'),
    ('frozen_imu_timeout_s', _SAFETY.frozen_imu_timeout_s,
     'Damping when the IMU readings stay bit-identical for longer (s): a frozen driver '
     'republishing its last sample; 0 turns the check off (a noise-free simulated IMU).'),
    ('max_tilt_rad', _SAFETY.max_tilt_rad,
     'Damping when the body tilts further from upright (rad); raise to pi for flips.'),
    ('interpolation_duration_s', _SAFETY.interpolation_duration_s,
     'Time to move smoothly to the default pose (s).'),
    ('passive_extra_damping', 0.0,
     'Extra passive damping in N m s/rad, commanded through position targets.'),
    ('monitor_window_s', _MONITOR.window_s, 'Smoothness monitor sliding window (s).'),
    ('monitor_cutoff_hz', _MONITOR.cutoff_hz, 'HFR cut-off frequency (Hz).'),
    ('hfr_warn', _MONITOR.hfr.as_parameters()[0], 'HFR WARN threshold (ratio); 0 disables.'),
    ('hfr_error', _MONITOR.hfr.as_parameters()[1], 'HFR ERROR threshold (ratio); 0 disables.'),
    ('sm_warn', _MONITOR.sm.as_parameters()[0],
     'CAPS Sm WARN threshold; grows with window and amplitude; 0 (default) disables.'),
    ('sm_error', _MONITOR.sm.as_parameters()[1],
     'CAPS Sm ERROR threshold; grows with window and amplitude; 0 (default) disables.'),
    ('action_rate_warn', _MONITOR.action_rate.as_parameters()[0],
     'Action rate WARN threshold (rad per step, L2 norm over joints); 0 disables.'),
    ('action_rate_error', _MONITOR.action_rate.as_parameters()[1],
     'Action rate ERROR threshold (rad per step, L2 norm over joints); 0 disables.'),
    ('hfr_min_std', _MONITOR.hfr_min_std,
     'Per-joint HFR is judged only above this standard deviation over the window (rad).'),
    ('diagnostics_period_s', 1.0, 'Period of /diagnostics messages (s).'),
    ('safe_stop_hardware_component', '',
     'ros2_control hardware component to deactivate on a safe stop (Spot: SpotSystem, which '
     'sits down and powers off); empty: never, the driver keeps the last target.'),
    ('safe_stop_controller_manager', '/controller_manager',
     'The controller manager whose set_hardware_component_state service is called.'),
    ('safe_stop_power_off_on', ['estop', 'fault', 'shutdown'],
     'Events that deactivate the component: estop, fault (after safe_stop_damping_s of '
     'damping) and shutdown (SIGINT, SIGTERM, an exception).'),
    ('safe_stop_damping_s', 1.0,
     'Seconds of latched damping before an e-stop or fault deactivates the component.'),
    ('safe_stop_timeout_s', 3.0, 'Seconds to wait for the service when shutting down.'),
)
