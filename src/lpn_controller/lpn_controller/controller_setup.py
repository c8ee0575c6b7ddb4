"""
The controller node's parameters turned into its parts, in plain Python.

The node (node.py) reads its ROS parameters and hands them here; a dry run without ROS hands
the same values, read from the same parameter files and robot profile, so both build the
controller the same way. ``param(name)`` returns a parameter's value, None where it is unset.
"""

from dataclasses import dataclass
from typing import Any, Callable

from lpn_controller.controller import ControllerConfig, ControllerCore
from lpn_controller.joint_map import (CommandLayout, JointMap, parse_held_joints,
                                      parse_joint_remap)
from lpn_controller.monitor import MonitorConfig, Threshold
from lpn_controller.runtime import make_runtime
from lpn_controller.safe_stop import SafeStopConfig
from lpn_controller.safety import SafetyConfig
from lpn_controller.state_inputs import OdometryConfig
import numpy as np


@dataclass
class ControllerSetup:
    """The controller core, its joint map and the layout of its Float64MultiArray output."""

    core: ControllerCore
    joint_map: JointMap
    command_layout: CommandLayout


def controller_config(param: Callable[[str], Any]) -> ControllerConfig:
    """Return the ControllerConfig the node's parameters describe."""
    return ControllerConfig(
        safety=SafetyConfig(param('state_timeout_s'), param('max_tilt_rad'),
                            param('interpolation_duration_s'), param('frozen_imu_timeout_s')),
        monitor=MonitorConfig(
            window_s=param('monitor_window_s'),
            cutoff_hz=param('monitor_cutoff_hz'),
            hfr=Threshold.from_parameters(param('hfr_warn'), param('hfr_error')),
            sm=Threshold.from_parameters(param('sm_warn'), param('sm_error')),
            action_rate=Threshold.from_parameters(param('action_rate_warn'),
                                                  param('action_rate_error')),
            hfr_min_std=param('hfr_min_std')),
        passive_extra_damping=param('passive_extra_damping'),
        control_rate_hz=param('control_rate_hz'),
        supplied_inputs=('command',) + (('odometry',) if param('odom_topic') else ()),
        held_joints=parse_held_joints(
            param('held_joint_names'), param('held_joint_holds'),
            param('held_joint_lower_limits'), param('held_joint_upper_limits')),
        odometry=OdometryConfig(param('odom_twist_frame'), param('odom_timeout_s'),
                                param('orientation_source')))


def build_controller(policy, param: Callable[[str], Any]) -> ControllerSetup:
    """Build the controller core for ``policy`` (an ExportedPolicy) from the parameters."""
    metadata = policy.metadata
    runtime = make_runtime(policy, lpn_mode=param('lpn_mode'),
                           table_bins=param('lpn_table_bins'))
    joint_map = JointMap(metadata.joint_names, parse_joint_remap(param('joint_remap') or []))
    lower, upper = param('joint_lower_limits'), param('joint_upper_limits')
    lower = metadata.joint_lower_limits if lower is None else np.asarray(lower)
    upper = metadata.joint_upper_limits if upper is None else np.asarray(upper)
    if lower is None or upper is None:
        raise ValueError('no joint limits: set joint_lower_limits and joint_upper_limits '
                         'or export joint_limits in policy.yaml')
    core = ControllerCore(runtime, lower, upper, controller_config(param))
    array_order = param('float64_array_joint_order') or list(joint_map.robot_joint_names)
    return ControllerSetup(core, joint_map,
                           CommandLayout(joint_map, array_order, core.held_joints))


def safe_stop_config(param: Callable[[str], Any]) -> SafeStopConfig:
    """Return the SafeStopConfig the node's ``safe_stop_*`` parameters describe."""
    return SafeStopConfig(param('safe_stop_hardware_component') or '',
                          param('safe_stop_controller_manager') or '/controller_manager',
                          tuple(param('safe_stop_power_off_on') or ()),
                          param('safe_stop_damping_s'), param('safe_stop_timeout_s'))
