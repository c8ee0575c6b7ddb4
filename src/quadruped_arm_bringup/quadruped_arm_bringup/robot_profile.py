"""
A real robot's profile: how its driver's topics and joint names meet the controller's.

``config/robots/<robot>.yaml`` (see ``spot_arm.yaml``) holds::

    description: one line about the robot and its driver
    topics:
      joint_states: /joint_states        # sensor_msgs/JointState with velocities
      imu: /imu                          # sensor_msgs/Imu, orientation and body rates
      joint_targets: ~/joint_targets     # the controller's JointState targets (for bags)
      forward_command: /forward_position_controller/commands   # '' : none
      odometry: /odometry                # nav_msgs/Odometry; '' or absent: none (a policy
                                         # that needs it is refused)
    odometry:                            # optional, how topics.odometry is read
      twist_frame: odom                  # child (nav_msgs: the body; default) or odom: the
                                         # twist is rotated into the body with the message's
                                         # orientation (Spot's driver fills it in odom)
      timeout_s: 0.1                     # its own watchdog (default 0.1 s), apart from
                                         # safety.state_timeout_s of the joint states and IMU
      orientation_source: imu            # imu (default) or odometry: gravity, tilt and
                                         # heading from the odometry pose instead
    forward_command_joints: [...]        # the forward controller's `joints`, in its order
    forward_controller: forward_position_controller   # its node: `joints` read at start-up
    held_joints:                         # in forward_command_joints, not driven by the policy
      arm_f1x: {hold: measured, limits: [-1.57, 0.0]}   # hold: measured (at engagement) or rad
    driver_gains: spot_ros2_control     # the robot's joint PD gains come from that driver's
                                        # config file: the launch checks or warns (optional)
    safe_stop:                          # optional: deactivate a ros2_control hardware component
      hardware_component: SpotSystem    # through /[NS/]controller_manager ...
      power_off_on: [estop, fault, shutdown]   # ... on these events
      damping_s: 1.0                    # after this much damping (estop, fault)
    joint_names: {policy_joint: robot_joint, ...}   # unlisted joints keep their names
    joint_limits: {policy_joint: [lower, upper], ...}   # optional, rad, only tighter
    safety: {interpolation_duration_s: 5.0, ...}        # see SAFETY_PARAMETERS

:func:`controller_parameters` turns a profile and the policy's metadata into the controller
node's parameters, after checking every name with the controller's own joint map, so a wrong
profile fails at launch with the file and key, not on the robot. Under a namespace (Spot's
``spot_name:=NS``) absolute topics move under ``/NS/`` and robot joint names become ``NS/name``,
as the driver's joint_state_broadcaster publishes them; the forward controller's own ``joints``
stay unprefixed (the controller prefixes them itself).
"""

from dataclasses import dataclass, field
import math
from pathlib import Path
import re
from typing import Dict, Tuple

from lpn_controller.config_files import ConfigError, read_yaml_mapping
from lpn_controller.joint_map import (CommandLayout, HeldJoint, HOLD_MEASURED, JointMap,
                                      JointMapError)
from lpn_controller.observation import EXTRA_INPUTS
from lpn_controller.safe_stop import EVENTS
from lpn_controller.state_inputs import OdometryConfig

# Controller parameters a profile may set in `safety` (all doubles); the bringup tests check
# that the controller node declares each of them.
SAFETY_PARAMETERS = ('state_timeout_s', 'max_tilt_rad', 'interpolation_duration_s',
                     'passive_extra_damping', 'frozen_imu_timeout_s')

_TOP_KEYS = ('description', 'topics', 'forward_command_joints', 'forward_controller',
             'held_joints', 'driver_gains', 'safe_stop', 'joint_names', 'joint_limits',
             'safety', 'odometry')
_SAFE_STOP_KEYS = ('hardware_component', 'power_off_on', 'damping_s')
# Drivers whose joint PD gains this package can write and check (spot_driver_config).
DRIVER_GAINS = ('spot_ros2_control',)
_HELD_KEYS = ('hold', 'limits')
_NAMESPACE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
# The `odometry` keys and the controller parameters they become.
ODOMETRY_PARAMETERS = {'twist_frame': 'odom_twist_frame', 'timeout_s': 'odom_timeout_s',
                       'orientation_source': 'orientation_source'}
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
    forward_controller: str = ''
    held_joints: Tuple[HeldJoint, ...] = ()
    driver_gains: str = ''
    safe_stop: Dict[str, object] = field(default_factory=dict)
    odometry: OdometryConfig = OdometryConfig()

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
    forward_controller = _text(data.get('forward_controller', ''), source, 'forward_controller',
                               allow_empty=True)
    if forward_controller and not forward_joints:
        raise RobotProfileError(source, 'forward_controller',
                                'set it only with topics.forward_command')
    held_joints = _held_joints(data.get('held_joints', {}), source, forward_joints)
    driver_gains = _text(data.get('driver_gains', ''), source, 'driver_gains', allow_empty=True)
    if driver_gains and driver_gains not in DRIVER_GAINS:
        raise RobotProfileError(source, 'driver_gains', f'{driver_gains!r} is not one of '
                                                        f'{", ".join(DRIVER_GAINS)}')
    safe_stop = _safe_stop(data.get('safe_stop', {}), source)
    odometry = _odometry_config(data.get('odometry'), source)
    if odometry.orientation_source == 'odometry' and not topic['odometry']:
        raise RobotProfileError(source, 'odometry.orientation_source',
                                "'odometry' needs topics.odometry (the driver's "
                                'nav_msgs/Odometry topic)')
    return RobotProfile(
        source=source, description=_text(data.get('description', ''), source, 'description',
                                         allow_empty=True),
        joint_states_topic=topic['joint_states'], imu_topic=topic['imu'],
        joint_targets_topic=topic['joint_targets'],
        forward_command_topic=topic['forward_command'], odometry_topic=topic['odometry'],
        forward_command_joints=forward_joints,
        joint_names=joint_names, joint_limits=joint_limits, safety=safety,
        forward_controller=forward_controller, held_joints=held_joints,
        driver_gains=driver_gains, safe_stop=safe_stop, odometry=odometry)


def _odometry_config(value, source):
    settings = _mapping(value, source, 'odometry', tuple(ODOMETRY_PARAMETERS))
    checked = {}
    for key, setting in settings.items():
        read = _number if key == 'timeout_s' else _text
        checked[key] = read(setting, source, f'odometry.{key}')
        try:   # one key at a time, so that the error names it
            OdometryConfig(**{key: checked[key]})
        except ValueError as error:
            raise RobotProfileError(source, f'odometry.{key}', str(error)) from error
    return OdometryConfig(**checked)


def _safe_stop(value, source):
    spec = _mapping(value, source, 'safe_stop', _SAFE_STOP_KEYS)
    if not spec:
        return {}
    component = _text(spec.get('hardware_component'), source, 'safe_stop.hardware_component')
    events = [_text(event, source, 'safe_stop.power_off_on') for event in
              _sequence(spec.get('power_off_on', list(EVENTS)), source, 'safe_stop.power_off_on')]
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise RobotProfileError(source, 'safe_stop.power_off_on', f'unknown event(s) '
                                f'{", ".join(unknown)}; known: {", ".join(EVENTS)}')
    damping = _number(spec.get('damping_s', 1.0), source, 'safe_stop.damping_s')
    if damping < 0:
        raise RobotProfileError(source, 'safe_stop.damping_s', f'{damping} is negative')
    return {'hardware_component': component, 'power_off_on': events, 'damping_s': damping}


def _held_joints(value, source, forward_joints):
    held = []
    for name, spec in _mapping(value, source, 'held_joints').items():
        key = f'held_joints.{name}'
        spec = _mapping(spec, source, key, _HELD_KEYS)
        if name not in forward_joints:
            raise RobotProfileError(source, key, 'not in forward_command_joints: only a joint '
                                                 'the forward controller commands is held')
        hold = spec.get('hold')
        if hold != HOLD_MEASURED:
            if isinstance(hold, str) or hold is None:
                raise RobotProfileError(source, f'{key}.hold', f'expected {HOLD_MEASURED!r} or '
                                                               f'a finite number, got {hold!r}')
            hold = _number(hold, source, f'{key}.hold')
        pair = _sequence(spec.get('limits'), source, f'{key}.limits')
        if len(pair) != 2:
            raise RobotProfileError(source, f'{key}.limits', f'expected [lower, upper], got '
                                                             f'{pair!r}')
        lower, upper = (_number(item, source, f'{key}.limits') for item in pair)
        if not lower < upper:
            raise RobotProfileError(source, f'{key}.limits', f'lower {lower} is not below '
                                                             f'upper {upper}')
        if hold != HOLD_MEASURED and not lower <= hold <= upper:
            raise RobotProfileError(source, f'{key}.hold', f'{hold} lies outside the limits '
                                                           f'[{lower}, {upper}]')
        held.append(HeldJoint(name, None if hold == HOLD_MEASURED else hold, lower, upper))
    return tuple(held)


def check_namespace(namespace):
    """Return ``namespace`` without slashes, or raise naming the problem ('' is none)."""
    namespace = (namespace or '').strip().strip('/')
    if namespace and not _NAMESPACE.fullmatch(namespace):
        raise RobotProfileError('spot_name', 'namespace',
                                f'{namespace!r} is not a ROS name (letters, digits, _)')
    return namespace


def namespaced_topic(topic, namespace):
    """Move an absolute or relative topic under ``/namespace/``; private (~/) ones stay."""
    if not topic or not namespace or topic.startswith('~'):
        return topic
    return f'/{namespace}/{topic.lstrip("/")}'


def namespaced_topics(profile, namespace):
    """Return the profile's topics (see RobotProfile.topics) under ``namespace``."""
    return tuple(namespaced_topic(topic, check_namespace(namespace))
                 for topic in profile.topics)


def namespaced_joint(name, namespace):
    """Return a joint name as the driver's broadcaster publishes it under ``namespace``."""
    return f'{namespace}/{name}' if namespace else name


def controller_parameters(profile, metadata, namespace=''):
    """
    Return the controller node's parameters for ``profile`` driving a policy (its metadata).

    Checks the joint names against the policy with the controller's :class:`JointMap`, the
    forward controller's joint order against the mapped robot names and held joints, that joint
    limits only tighten the policy's own, and that the profile names every input the policy
    observes. ``namespace`` (the driver's ``spot_name``) moves topics and prefixes joint names.
    """
    namespace = check_namespace(namespace)
    from_odometry = [term.name for term in metadata.observation_terms
                     if EXTRA_INPUTS.get(term.name) == 'odometry']
    if from_odometry and not profile.odometry_topic:
        raise RobotProfileError(profile.source, 'topics.odometry',
                                f"the policy observes {' and '.join(from_odometry)}: name the "
                                "driver's nav_msgs/Odometry topic (and its odometry.twist_frame)")
    robot_names = {name: namespaced_joint(profile.joint_names.get(name, name), namespace)
                   for name in metadata.joint_names}
    unknown = {name: robot for name, robot in profile.joint_names.items()
               if name not in robot_names}
    try:
        joint_map = JointMap(metadata.joint_names, {**robot_names, **unknown})
    except JointMapError as error:
        raise RobotProfileError(profile.source, 'joint_names', str(error)) from error
    topic = {name: namespaced_topic(value, namespace) for name, value in (
        ('joint_states', profile.joint_states_topic), ('imu', profile.imu_topic),
        ('odometry', profile.odometry_topic), ('joint_targets', profile.joint_targets_topic),
        ('forward_command', profile.forward_command_topic))}
    parameters = {
        'joint_states_topic': topic['joint_states'],
        'imu_topic': topic['imu'],
        'odom_topic': topic['odometry'],
        **{parameter: getattr(profile.odometry, key)
           for key, parameter in ODOMETRY_PARAMETERS.items()},
        'joint_targets_topic': topic['joint_targets'],
        'use_float64_array': bool(profile.forward_command_topic),
    }
    remap = [f'{policy}:{robot}' for policy, robot in robot_names.items() if policy != robot]
    if remap:  # an empty list cannot be typed as a ROS parameter; unset means no renames
        parameters['joint_remap'] = remap
    if profile.forward_command_topic:
        parameters.update(_forward_command_parameters(profile, joint_map, namespace))
        parameters['float64_array_topic'] = topic['forward_command']
    if profile.joint_limits:
        lower, upper = _tightened_limits(profile, metadata)
        parameters['joint_lower_limits'], parameters['joint_upper_limits'] = lower, upper
    parameters.update(profile.safety)
    if profile.safe_stop:
        parameters.update(
            safe_stop_hardware_component=profile.safe_stop['hardware_component'],
            safe_stop_controller_manager=namespaced_topic('/controller_manager', namespace),
            safe_stop_power_off_on=list(profile.safe_stop['power_off_on']),
            safe_stop_damping_s=profile.safe_stop['damping_s'])
    return parameters


def _forward_command_parameters(profile, joint_map, namespace):
    held = tuple(HeldJoint(namespaced_joint(joint.name, namespace), joint.hold, joint.lower,
                           joint.upper) for joint in profile.held_joints)
    order = [namespaced_joint(name, namespace) for name in profile.forward_command_joints]
    try:
        CommandLayout(joint_map, order, held)
    except JointMapError as error:
        raise RobotProfileError(profile.source, 'forward_command_joints', str(error)) from error
    parameters = {'float64_array_joint_order': order}
    if held:
        parameters.update(
            held_joint_names=[joint.name for joint in held],
            held_joint_holds=[HOLD_MEASURED if joint.hold is None else repr(joint.hold)
                              for joint in held],
            held_joint_lower_limits=[joint.lower for joint in held],
            held_joint_upper_limits=[joint.upper for joint in held])
    if profile.forward_controller:
        parameters['forward_controller_node'] = namespaced_topic(
            f'/{profile.forward_controller}', namespace)
        parameters['forward_controller_joints'] = list(profile.forward_command_joints)
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
