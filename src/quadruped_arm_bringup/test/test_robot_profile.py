"""Robot profiles: checked with the controller's joint map, every mistake named by file and key."""

from lpn_controller.example_policy import make_example_policy, standard_observation_terms
from lpn_controller.observation import ObservationTerm
import pytest
from quadruped_arm_bringup.recording import robot_topics
from quadruped_arm_bringup.robot_profile import (
    controller_parameters, load_robot_profile, RobotProfileError)
import yaml

JOINTS = ('front_left_hip_x', 'front_left_knee', 'arm_sh0')
METADATA, _ = make_example_policy('lpn', JOINTS, seed=0)

VALID = {
    'description': 'test robot',
    'topics': {'joint_states': '/robot/joint_states', 'imu': '/robot/imu',
               'joint_targets': '~/joint_targets',
               'forward_command': '/position_controller/commands'},
    'forward_command_joints': ['arm_sh0', 'fl_knee', 'fl_hip_x'],
    'joint_names': {'front_left_hip_x': 'fl_hip_x', 'front_left_knee': 'fl_knee'},
    'safety': {'interpolation_duration_s': 5, 'max_tilt_rad': 0.5},
}


def write(tmp_path, data, name='robot.yaml'):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def with_changes(**changes):
    data = {key: (dict(value) if isinstance(value, dict) else value)
            for key, value in VALID.items()}
    data.update(changes)
    return data


def test_profile_becomes_controller_parameters(tmp_path):
    profile = load_robot_profile(write(tmp_path, VALID))
    parameters = controller_parameters(profile, METADATA)
    assert parameters['joint_states_topic'] == '/robot/joint_states'
    assert parameters['imu_topic'] == '/robot/imu'
    assert parameters['joint_targets_topic'] == '~/joint_targets'
    assert parameters['use_float64_array'] is True
    assert parameters['float64_array_topic'] == '/position_controller/commands'
    assert parameters['float64_array_joint_order'] == ['arm_sh0', 'fl_knee', 'fl_hip_x']
    assert sorted(parameters['joint_remap']) == ['front_left_hip_x:fl_hip_x',
                                                 'front_left_knee:fl_knee']
    # YAML integers become floats: ROS refuses an integer for a double parameter.
    assert parameters['interpolation_duration_s'] == 5.0
    assert isinstance(parameters['interpolation_duration_s'], float)
    assert 'joint_lower_limits' not in parameters  # the policy's own limits apply


def test_identity_names_and_no_forward_controller_leave_the_defaults(tmp_path):
    data = with_changes(joint_names={'arm_sh0': 'arm_sh0'}, forward_command_joints=[])
    data['topics']['forward_command'] = ''
    parameters = controller_parameters(load_robot_profile(write(tmp_path, data)), METADATA)
    assert 'joint_remap' not in parameters  # an empty list has no ROS parameter type
    assert parameters['use_float64_array'] is False
    assert 'float64_array_joint_order' not in parameters


def test_joint_limits_may_only_tighten_the_policy_limits(tmp_path):
    index = JOINTS.index('arm_sh0')
    lower = float(METADATA.joint_lower_limits[index])
    upper = float(METADATA.joint_upper_limits[index])
    tighter = with_changes(joint_limits={'arm_sh0': [lower / 2, upper / 2]})
    parameters = controller_parameters(load_robot_profile(write(tmp_path, tighter)), METADATA)
    assert parameters['joint_lower_limits'][index] == lower / 2
    assert parameters['joint_upper_limits'][index] == upper / 2
    assert all(isinstance(value, float) for value in parameters['joint_lower_limits'])
    wider = with_changes(joint_limits={'arm_sh0': [lower - 1, upper]})
    with pytest.raises(RobotProfileError, match=r'joint_limits\.arm_sh0: .*only tighten'):
        controller_parameters(load_robot_profile(write(tmp_path, wider)), METADATA)
    unknown = with_changes(joint_limits={'arm_wr9': [-1, 1]})
    with pytest.raises(RobotProfileError, match=r'joint_limits\.arm_wr9: .*no joint'):
        controller_parameters(load_robot_profile(write(tmp_path, unknown)), METADATA)


@pytest.mark.parametrize('changes, key, problem', [
    ({'speed': 1}, 'top level', 'unknown key.*speed'),
    ({'topics': {'imu': '/imu', 'joint_targets': '~/t'}}, 'topics.joint_states', 'missing'),
    ({'topics': {'joint_states': '/j', 'imu': '', 'joint_targets': '~/t'}}, 'topics.imu',
     'non-empty'),
    ({'forward_command_joints': []}, 'forward_command_joints', 'exactly when'),
    ({'joint_names': ['arm_sh0']}, 'joint_names', 'mapping'),
    ({'joint_limits': {'arm_sh0': [1.0]}}, r'joint_limits\.arm_sh0', r'\[lower, upper\]'),
    ({'joint_limits': {'arm_sh0': [1.0, -1.0]}}, r'joint_limits\.arm_sh0', 'not below'),
    ({'safety': {'max_tilt_rad': 'low'}}, r'safety\.max_tilt_rad', 'finite number'),
    ({'safety': {'max_speed': 1.0}}, 'safety', 'unknown key.*max_speed'),
])
def test_profile_mistakes_name_the_file_and_key(tmp_path, changes, key, problem):
    path = write(tmp_path, with_changes(**changes))
    with pytest.raises(RobotProfileError, match=f'robot.yaml: {key}: .*{problem}'):
        load_robot_profile(path)


@pytest.mark.parametrize('changes, key, problem', [
    ({'joint_names': {'arm_sh9': 'x'}}, 'joint_names', 'does not have: arm_sh9'),
    ({'joint_names': {'arm_sh0': 'fl_knee', 'front_left_knee': 'fl_knee'}}, 'joint_names',
     'several policy joints'),
    ({'forward_command_joints': ['arm_sh0', 'front_left_knee']}, 'forward_command_joints',
     'unknown joint.*front_left_knee'),
])
def test_names_are_checked_with_the_controller_joint_map(tmp_path, changes, key, problem):
    profile = load_robot_profile(write(tmp_path, with_changes(**changes)))
    with pytest.raises(RobotProfileError, match=f'robot.yaml: {key}: .*{problem}'):
        controller_parameters(profile, METADATA)


def test_unreadable_files_are_named(tmp_path):
    with pytest.raises(RobotProfileError, match='absent.yaml: file: cannot read'):
        load_robot_profile(tmp_path / 'absent.yaml')
    with pytest.raises(RobotProfileError, match='bad.yaml: file: not valid YAML'):
        load_robot_profile(write(tmp_path, 'topics: [', name='bad.yaml'))


def test_recorded_topics_of_a_robot_are_absolute(tmp_path):
    profile = load_robot_profile(write(tmp_path, VALID))
    assert robot_topics(profile.topics) == (
        '/robot/joint_states', '/robot/imu', '/lpn_controller/joint_targets',
        '/position_controller/commands', '/lpn_controller/action', '/diagnostics')


HELD = {'gripper': {'hold': 'measured', 'limits': [-1.5, 0.0]}}


def with_gripper(**changes):
    defaults = {'forward_command_joints': ['arm_sh0', 'fl_knee', 'fl_hip_x', 'gripper'],
                'held_joints': HELD, 'forward_controller': 'position_controller'}
    return with_changes(**{**defaults, **changes})


def test_held_joints_and_the_forward_controller_check_become_parameters(tmp_path):
    parameters = controller_parameters(load_robot_profile(write(tmp_path, with_gripper())),
                                       METADATA)
    assert parameters['float64_array_joint_order'][-1] == 'gripper'
    assert parameters['held_joint_names'] == ['gripper']
    assert parameters['held_joint_holds'] == ['measured']
    assert parameters['held_joint_lower_limits'] == [-1.5]
    assert parameters['held_joint_upper_limits'] == [0.0]
    assert parameters['forward_controller_node'] == '/position_controller'
    assert parameters['forward_controller_joints'] == ['arm_sh0', 'fl_knee', 'fl_hip_x',
                                                       'gripper']
    fixed = with_gripper(held_joints={'gripper': {'hold': -0.25, 'limits': [-1.5, 0.0]}})
    parameters = controller_parameters(load_robot_profile(write(tmp_path, fixed)), METADATA)
    assert parameters['held_joint_holds'] == ['-0.25']


def test_a_namespace_moves_topics_and_prefixes_joints_as_the_broadcaster_does(tmp_path):
    profile = load_robot_profile(write(tmp_path, with_gripper()))
    parameters = controller_parameters(profile, METADATA, namespace='/spot1/')
    assert parameters['joint_states_topic'] == '/spot1/robot/joint_states'
    assert parameters['imu_topic'] == '/spot1/robot/imu'
    assert parameters['joint_targets_topic'] == '~/joint_targets'   # the controller's own
    assert parameters['float64_array_topic'] == '/spot1/position_controller/commands'
    assert parameters['float64_array_joint_order'] == [
        'spot1/arm_sh0', 'spot1/fl_knee', 'spot1/fl_hip_x', 'spot1/gripper']
    assert sorted(parameters['joint_remap']) == [
        'arm_sh0:spot1/arm_sh0', 'front_left_hip_x:spot1/fl_hip_x',
        'front_left_knee:spot1/fl_knee']
    assert parameters['held_joint_names'] == ['spot1/gripper']
    # The forward controller prefixes its own joints from its namespace: compared unprefixed.
    assert parameters['forward_controller_node'] == '/spot1/position_controller'
    assert parameters['forward_controller_joints'][0] == 'arm_sh0'
    with pytest.raises(RobotProfileError, match='spot_name: namespace: .*not a ROS name'):
        controller_parameters(profile, METADATA, namespace='spot 1')


@pytest.mark.parametrize('changes, key, problem', [
    ({'held_joints': {'wrist': {'hold': 'measured', 'limits': [-1, 1]}}}, r'held_joints\.wrist',
     'not in forward_command_joints'),
    ({'held_joints': {'gripper': {'hold': 'open', 'limits': [-1, 0]}}},
     r'held_joints\.gripper\.hold', 'finite number'),
    ({'held_joints': {'gripper': {'hold': 0.5, 'limits': [-1, 0]}}},
     r'held_joints\.gripper\.hold', 'outside the limits'),
    ({'held_joints': {'gripper': {'hold': 'measured', 'limits': [0, -1]}}},
     r'held_joints\.gripper\.limits', 'not below'),
    ({'held_joints': {'gripper': {'hold': 'measured', 'limits': [0, -1], 'speed': 1}}},
     r'held_joints\.gripper', 'unknown key'),
])
def test_held_joint_mistakes_name_the_file_and_key(tmp_path, changes, key, problem):
    with pytest.raises(RobotProfileError, match=f'robot.yaml: {key}: .*{problem}'):
        load_robot_profile(write(tmp_path, with_gripper(**changes)))


def test_a_joint_the_policy_lacks_and_nobody_holds_is_refused(tmp_path):
    profile = load_robot_profile(write(tmp_path, with_gripper(held_joints={})))
    with pytest.raises(RobotProfileError,
                       match='forward_command_joints: .*unknown joint.*gripper'):
        controller_parameters(profile, METADATA)


def test_spot_profile_matches_the_driver_interface(package_dir):
    from lpn_controller.policy_format import load_policy
    profile = load_robot_profile(package_dir / 'config' / 'robots' / 'spot_arm.yaml')
    metadata = load_policy(package_dir / 'policies' / 'lpn_trot_arm_wave').metadata
    parameters = controller_parameters(profile, metadata)
    assert parameters['joint_states_topic'] == '/low_level/joint_states'
    assert parameters['imu_topic'] == '/imu_sensor_broadcaster/imu'
    assert parameters['float64_array_topic'] == '/forward_position_controller/commands'
    order = parameters['float64_array_joint_order']
    assert len(order) == 19 and order[-1] == 'arm_f1x'
    assert order[:18] == list(metadata.joint_names)
    assert parameters['held_joint_names'] == ['arm_f1x']
    assert parameters['forward_controller_node'] == '/forward_position_controller'
    assert parameters['safe_stop_hardware_component'] == 'SpotSystem'
    assert parameters['safe_stop_power_off_on'] == ['estop', 'fault', 'shutdown']
    spot1 = controller_parameters(profile, metadata, 'spot1')
    assert spot1['safe_stop_controller_manager'] == '/spot1/controller_manager'
    assert spot1['joint_states_topic'] == '/spot1/low_level/joint_states'


def test_safe_stop_mistakes_are_named(tmp_path):
    data = with_changes(safe_stop={'hardware_component': 'X', 'power_off_on': ['reboot']})
    with pytest.raises(RobotProfileError, match=r'safe_stop\.power_off_on: unknown event'):
        load_robot_profile(write(tmp_path, data))
    data = with_changes(safe_stop={'power_off_on': ['estop']})
    with pytest.raises(RobotProfileError, match=r'safe_stop\.hardware_component: missing'):
        load_robot_profile(write(tmp_path, data))


def test_odometry_settings_become_controller_parameters(tmp_path):
    # Absent: nav_msgs' convention (twist in the body frame), the default timeout, IMU attitude.
    parameters = controller_parameters(load_robot_profile(write(tmp_path, VALID)), METADATA)
    assert (parameters['odom_twist_frame'], parameters['odom_timeout_s'],
            parameters['orientation_source']) == ('child', 0.1, 'imu')
    data = with_changes(odometry={'twist_frame': 'odom', 'timeout_s': 1,
                                  'orientation_source': 'odometry'})
    data['topics']['odometry'] = '/robot/odometry'
    parameters = controller_parameters(load_robot_profile(write(tmp_path, data)), METADATA)
    assert parameters['odom_topic'] == '/robot/odometry'
    assert (parameters['odom_twist_frame'], parameters['odom_timeout_s'],
            parameters['orientation_source']) == ('odom', 1.0, 'odometry')
    assert isinstance(parameters['odom_timeout_s'], float)


@pytest.mark.parametrize('odometry, key, problem', [
    ({'twist_frame': 'world'}, r'odometry\.twist_frame', 'not one of child, odom'),
    ({'timeout_s': -1.0}, r'odometry\.timeout_s', 'positive'),
    ({'timeout_s': 'slow'}, r'odometry\.timeout_s', 'finite number'),
    ({'orientation_source': 'gps'}, r'odometry\.orientation_source', 'not one of imu'),
    ({'orientation_source': 'odometry'}, r'odometry\.orientation_source', 'needs topics'),
    ({'frame': 'odom'}, 'odometry', 'unknown key.*frame'),
])
def test_odometry_mistakes_name_the_key(tmp_path, odometry, key, problem):
    with pytest.raises(RobotProfileError, match=f'robot.yaml: {key}: .*{problem}'):
        load_robot_profile(write(tmp_path, with_changes(odometry=odometry)))


def test_the_spot_profile_rotates_the_drivers_odom_frame_twist(package_dir):
    profile = load_robot_profile(package_dir / 'config' / 'robots' / 'spot_arm.yaml')
    assert profile.odometry.twist_frame == 'odom'
    # Its own watchdog, looser than the joint states': 50 Hz odometry against 333 Hz state.
    assert profile.odometry.timeout_s >= 5 * 0.02
    assert profile.odometry.timeout_s > profile.safety['state_timeout_s']


def test_a_policy_that_observes_its_position_needs_the_odometry_topic(tmp_path):
    terms = (*standard_observation_terms(len(JOINTS)), ObservationTerm('base_position', 2, 10.0))
    metadata, _ = make_example_policy('lpn', JOINTS, seed=0, observation_terms=terms)
    data = with_changes()
    data['topics'].pop('odometry', None)
    with pytest.raises(RobotProfileError, match=r'topics\.odometry.*observes base_position'):
        controller_parameters(load_robot_profile(write(tmp_path, data)), metadata)
    data['topics']['odometry'] = '/robot/odometry'
    parameters = controller_parameters(load_robot_profile(write(tmp_path, data)), metadata)
    assert parameters['odom_topic'] == '/robot/odometry'
