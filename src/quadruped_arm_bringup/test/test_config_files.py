"""
The shipped parameter files set exactly the parameters the nodes declare, with their types.

ROS 2 refuses a parameter whose type differs from its declaration (a YAML ``2`` for a double)
and silently ignores a misspelt one, so both are checked here, without ROS.
"""

from lpn_controller.policy_format import load_policy
import pytest
from quadruped_arm_bringup.robot_profile import (
    controller_parameters, load_robot_profile, SAFETY_PARAMETERS)
import yaml

SET_BY_THE_LAUNCH = {'policy_path'}


def is_unset(default):
    """Return whether a declared default is a bare type (the node leaves it unset)."""
    return not isinstance(default, (bool, int, float, str, list))


def node_parameters(path, node_name):
    data = yaml.safe_load(path.read_text())
    assert list(data) == [node_name], f'{path.name}: expected one section, {node_name}'
    assert list(data[node_name]) == ['ros__parameters'], f'{path.name}: not a ROS params file'
    return data[node_name]['ros__parameters']


def assert_types_match(parameters, declared, ros_type_of, source):
    for name, value in parameters.items():
        assert name in declared, f'{source}: {name} is not a parameter the node declares'
        assert ros_type_of(value) == ros_type_of(declared[name]), \
            f'{source}: {name} = {value!r} has not the declared type of {declared[name]!r}'


def test_bridge_file_sets_every_declared_parameter_with_its_type(
        package_dir, bridge_parameters_declared, ros_type_of):
    shipped = node_parameters(package_dir / 'config' / 'sim_bridge.yaml', 'sim_bridge')
    assert set(shipped) == set(bridge_parameters_declared)
    assert_types_match(shipped, bridge_parameters_declared, ros_type_of, 'sim_bridge.yaml')
    assert shipped['viewer'] is False  # headless by default; the launch argument turns it on


def test_controller_and_monitor_files_split_the_declared_parameters(
        package_dir, controller_parameters_declared, ros_type_of):
    declared = controller_parameters_declared
    controller = node_parameters(package_dir / 'config' / 'controller.yaml', 'lpn_controller')
    monitor = node_parameters(package_dir / 'config' / 'monitor.yaml', 'lpn_controller')
    assert not set(controller) & set(monitor), 'a parameter is set in both files'
    assert_types_match(controller, declared, ros_type_of, 'controller.yaml')
    assert_types_match(monitor, declared, ros_type_of, 'monitor.yaml')
    left_unset = {name for name, default in declared.items() if is_unset(default)}
    assert set(controller) | set(monitor) | SET_BY_THE_LAUNCH | left_unset == set(declared)
    assert set(monitor) >= {'hfr_warn', 'hfr_error', 'action_rate_warn', 'action_rate_error',
                            'monitor_window_s'}


def test_controller_file_comment_names_what_it_leaves_unset(
        package_dir, controller_parameters_declared):
    text = (package_dir / 'config' / 'controller.yaml').read_text()
    for name, default in controller_parameters_declared.items():
        if is_unset(default):
            assert name in text, f'controller.yaml does not say that {name} is left unset'


def test_aggregator_file_groups_the_controller_statuses(package_dir):
    analyzers = node_parameters(package_dir / 'config' / 'diagnostics.yaml', 'analyzers')
    groups = [value for value in analyzers.values() if isinstance(value, dict)]
    assert any('lpn_controller' in group.get('startswith', []) for group in groups)
    assert all(group['type'].startswith('diagnostic_aggregator/') for group in groups)


def test_profile_safety_settings_are_controller_doubles(controller_parameters_declared):
    for name in SAFETY_PARAMETERS:
        assert isinstance(controller_parameters_declared.get(name), float), name


@pytest.mark.parametrize('profile_name', ['spot_arm'])
def test_shipped_robot_profiles_fit_the_shipped_policy_and_the_node(
        package_dir, profile_name, controller_parameters_declared, ros_type_of):
    path = package_dir / 'config' / 'robots' / f'{profile_name}.yaml'
    profile = load_robot_profile(path)
    metadata = load_policy(package_dir / 'policies' / 'lpn_trot_arm_wave').metadata
    parameters = controller_parameters(profile, metadata)
    assert_types_match(parameters, controller_parameters_declared, ros_type_of, path.name)
    assert parameters['interpolation_duration_s'] >= 2.0 * controller_parameters_declared[
        'interpolation_duration_s'], 'a real robot should start more slowly than the sim'
    assert parameters['max_tilt_rad'] < controller_parameters_declared['max_tilt_rad']


def test_every_shipped_robot_profile_is_tested(package_dir):
    shipped = sorted(path.stem for path in (package_dir / 'config' / 'robots').glob('*.yaml'))
    assert shipped == ['spot_arm']
