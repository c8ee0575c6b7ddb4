"""
A real robot's profile: how its driver's topics and joint names meet the controller's.

``config/robots/<robot>.yaml`` (see ``spot_arm.yaml``) holds::

    description: one line about the robot and its driver
    topics:
      joint_states: /joint_states        # sensor_msgs/JointState with velocities
      imu: /imu                          # sensor_msgs/Imu, orientation and body rates
      joint_targets: ~/joint_targets     # the controller's JointState targets (for bags)
      forward_command: /forward_position_controller/commands   # '' : none
      odometry: /odometry                # nav_msgs/Odometry, twist in the body frame; '' or
                                         # absent: none (a policy that needs it is refused)
    forward_command_joints: [...]        # the forward controller's `joints`, in its order
    joint_names: {policy_joint: robot_joint, ...}   # unlisted joints keep their names
    joint_limits: {policy_joint: [lower, upper], ...}   # optional, rad, only tighter
    safety: {interpolation_duration_s: 5.0, ...}        # see SAFETY_PARAMETERS

:func:`controller_parameters` turns a profile and the policy's metadata into the controller
node's parameters, after checking every name with the controller's own joint map, so a wrong
profile fails at launch with the file and key, not on the robot.
"""

from dataclasses import dataclass, field
import math
from pathlib import Path
from typing import Dict, Tuple

from lpn_controller.config_files import ConfigError, read_yaml_mapping
from lpn_controller.joint_map import JointMap, JointMapError

# Controller parameters a profile may set in `safety` (all doubles); the bringup tests check
# that the controller node declares each of them.
SAFETY_PARAMETERS = ('state_timeout_s', 'max_tilt_rad', 'interpolation_duration_s',
                     'passive_extra_damping', 'frozen_imu_timeout_s')

_TOP_KEYS = ('description', 'topics', 'forward_command_joints', 'joint_names', 'joint_limits',
             'safety')
_TOPIC_KEYS = ('joint_states', 'imu', 'joint_targets', 'forward_command', 'odometry')
_OPTIONAL_TOPICS = ('forward_command', 'odometry')


class RobotProfileError(ConfigError):
    """A robot profile that cannot be used; the message names the file and the key."""

    def __init__(self, source, key, problem):
        """Say which file and key are wrong and why."""
        super().__init__(f'{source}: {key}: {problem}')


@dataclass(frozen=True)
class RobotProfile:
    """One robot's topics, joint names, tighter joint limits and safety settings."""

    source: str
    description: str
    joint_states_topic: str
    imu_topic: str
    joint_targets_topic: str
    forward_command_topic: str = ''
    odometry_topic: str = ''
    forward_command_joints: Tuple[str, ...] = ()
    joint_names: Dict[str, str] = field(default_factory=dict)
    joint_limits: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    safety: Dict[str, float] = field(default_factory=dict)

    @property
    def topics(self):
        """Return every topic of the profile that is set (state in, targets out)."""
        return tuple(topic for topic in (self.joint_states_topic, self.imu_topic,
                                         self.odometry_topic, self.joint_targets_topic,
                                         self.forward_command_topic)
                     if topic)


def load_robot_profile(path):
    """Read and check ``path``; every mistake names the file and the key."""
    path = Path(path)
    source = str(path)

    def fail(problem):
        raise RobotProfileError(source, 'file', problem) from None

    data = read_yaml_mapping(path, empty_ok=True, what='robot profile', fail=fail)
    data = _mapping(data, source, 'top level', _TOP_KEYS)
    topics = _mapping(data.get('topics'), source, 'topics', _TOPIC_KEYS)
    topic = {key: _text(topics.get(key), source, f'topics.{key}',
                        allow_empty=key in _OPTIONAL_TOPICS)
             for key in _TOPIC_KEYS}
    forward_joints = tuple(_text(name, source, 'forward_command_joints')
                           for name in _sequence(data.get('forward_command_joints', []),
                                                 source, 'forward_command_joints'))
    if bool(topic['forward_command']) != bool(forward_joints):
        raise RobotProfileError(source, 'forward_command_joints',
                                'set it exactly when topics.forward_command is set (the '
                                "forward controller's joint order)")
    joint_names = {_text(policy_name, source, 'joint_names'):
                   _text(robot_name, source, f'joint_names.{policy_name}')
                   for policy_name, robot_name in
                   _mapping(data.get('joint_names', {}), source, 'joint_names').items()}
    joint_limits = {}
    for name, limits in _mapping(data.get('joint_limits', {}), source, 'joint_limits').items():
        key = f'joint_limits.{name}'
        pair = _sequence(limits, source, key)
        if len(pair) != 2:
            raise RobotProfileError(source, key, f'expected [lower, upper], got {limits!r}')
        lower, upper = (_number(value, source, key) for value in pair)
        if not lower < upper:
            raise RobotProfileError(source, key, f'lower {lower} is not below upper {upper}')
        joint_limits[_text(name, source, 'joint_limits')] = (lower, upper)
    safety = {name: _number(value, source, f'safety.{name}') for name, value in
              _mapping(data.get('safety', {}), source, 'safety', SAFETY_PARAMETERS).items()}
    return RobotProfile(
        source=source, description=_text(data.get('description', ''), source, 'description',
                                         allow_empty=True),
        joint_states_topic=topic['joint_states'], imu_topic=topic['imu'],
        joint_targets_topic=topic['joint_targets'],
        forward_command_topic=topic['forward_command'], odometry_topic=topic['odometry'],
        forward_command_joints=forward_joints,
        joint_names=joint_names, joint_limits=joint_limits, safety=safety)


def controller_parameters(profile, metadata):
    """
    Return the controller node's parameters for ``profile`` driving a policy (its metadata).

    Checks the joint names against the policy with the controller's :class:`JointMap`, the
    forward controller's joint order against the mapped robot names, that joint limits only
    tighten the policy's own, and that the profile names every input the policy observes.
    """
    if 'base_linear_velocity' in (term.name for term in metadata.observation_terms) \
            and not profile.odometry_topic:
        raise RobotProfileError(profile.source, 'topics.odometry',
                                "the policy observes base_linear_velocity: name the driver's "
                                'nav_msgs/Odometry topic (twist in the body frame)')
    try:
        joint_map = JointMap(metadata.joint_names, profile.joint_names)
    except JointMapError as error:
        raise RobotProfileError(profile.source, 'joint_names', str(error)) from error
    parameters = {
        'joint_states_topic': profile.joint_states_topic,
        'imu_topic': profile.imu_topic,
        'odom_topic': profile.odometry_topic,
        'joint_targets_topic': profile.joint_targets_topic,
        'use_float64_array': bool(profile.forward_command_topic),
    }
    remap = [f'{policy}:{robot}' for policy, robot in profile.joint_names.items()
             if policy != robot]
    if remap:  # an empty list cannot be typed as a ROS parameter; unset means no renames
        parameters['joint_remap'] = remap
    if profile.forward_command_topic:
        try:
            joint_map.output_indices(profile.forward_command_joints)
        except JointMapError as error:
            raise RobotProfileError(profile.source, 'forward_command_joints',
                                    str(error)) from error
        parameters['float64_array_topic'] = profile.forward_command_topic
        parameters['float64_array_joint_order'] = list(profile.forward_command_joints)
    if profile.joint_limits:
        lower, upper = _tightened_limits(profile, metadata)
        parameters['joint_lower_limits'], parameters['joint_upper_limits'] = lower, upper
    parameters.update(profile.safety)
    return parameters


def _tightened_limits(profile, metadata):
    names = list(metadata.joint_names)
    if metadata.joint_lower_limits is None or metadata.joint_upper_limits is None:
        raise RobotProfileError(profile.source, 'joint_limits',
                                'the policy exports no joint limits to tighten')
    lower = [float(value) for value in metadata.joint_lower_limits]
    upper = [float(value) for value in metadata.joint_upper_limits]
    for name, (low, high) in profile.joint_limits.items():
        key = f'joint_limits.{name}'
        if name not in names:
            raise RobotProfileError(profile.source, key,
                                    f'the policy has no joint {name!r} (its joints: '
                                    f'{", ".join(names)})')
        index = names.index(name)
        if low < lower[index] or high > upper[index]:
            raise RobotProfileError(
                profile.source, key, f'[{low}, {high}] is wider than the policy limits '
                f'[{lower[index]}, {upper[index]}]; a profile may only tighten them')
        lower[index], upper[index] = low, high
    return lower, upper


def _mapping(value, source, key, allowed=None):
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise RobotProfileError(source, key, f'expected a mapping, got {value!r}')
    if allowed is not None:
        unknown = sorted(str(name) for name in value if name not in allowed)
        if unknown:
            raise RobotProfileError(source, key, f'unknown key(s) {", ".join(unknown)}; '
                                                 f'known: {", ".join(allowed)}')
    return value


def _sequence(value, source, key):
    if not isinstance(value, list):
        raise RobotProfileError(source, key, f'expected a list, got {value!r}')
    return value


def _text(value, source, key, allow_empty=False):
    if value is None:
        if allow_empty:
            return ''
        raise RobotProfileError(source, key, 'missing')
    if not isinstance(value, str) or not (allow_empty or value.strip()):
        raise RobotProfileError(source, key, f'expected a non-empty string, got {value!r}')
    return value.strip()


def _number(value, source, key):
    # ROS double parameters refuse YAML integers, so every number becomes a float here.
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise RobotProfileError(source, key, f'expected a finite number, got {value!r}')
    return float(value)
