"""
The launch files declare what they promise, read from their source (no ``launch`` needed).

Every argument is declared once, with a literal description and a default, and is documented in
the file's docstring; the sim launch starts the bridge and the controller, the robot launch only
the controller.
"""

import ast

import pytest

EXPECTED_ARGUMENTS = {
    'sim.launch.py': {'task', 'policy', 'robot', 'use_sim_time', 'real_time_factor', 'viewer',
                      'record', 'bag', 'bridge_params', 'controller_params', 'monitor_params'},
    'robot.launch.py': {'robot', 'robot_profile', 'task', 'policy', 'use_sim_time', 'record',
                        'bag', 'controller_params', 'monitor_params', 'spot_name',
                        'driver_config'},
    'spot_emulator.launch.py': {'spot_name', 'hardware_interface', 'driver_config',
                                'robot_config'},
}
EXPECTED_EXECUTABLES = {
    'sim.launch.py': {('sim_bridge', 'node'), ('lpn_controller', 'node'),
                      ('diagnostic_aggregator', 'aggregator_node')},
    'robot.launch.py': {('lpn_controller', 'node')},
    'spot_emulator.launch.py': {('quadruped_arm_bringup', 'spot_emulator')},
}


def parse(package_dir, name):
    path = package_dir / 'launch' / name
    return ast.parse(path.read_text(), str(path))


def calls_to(tree, function_name):
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, 'id', getattr(node.func, 'attr', None)) == function_name]


def keyword(call, name):
    return next((item.value for item in call.keywords if item.arg == name), None)


def declared_arguments(tree):
    arguments = {}
    for call in calls_to(tree, 'DeclareLaunchArgument'):
        assert call.args and isinstance(call.args[0], ast.Constant), 'argument name not literal'
        name = call.args[0].value
        assert name not in arguments, f'{name} declared twice'
        arguments[name] = call
    return arguments


@pytest.mark.parametrize('launch_file', sorted(EXPECTED_ARGUMENTS))
def test_every_argument_has_a_description_a_default_and_documentation(package_dir, launch_file):
    tree = parse(package_dir, launch_file)
    arguments = declared_arguments(tree)
    assert set(arguments) == EXPECTED_ARGUMENTS[launch_file]
    docstring = ast.get_docstring(tree)
    for name, call in arguments.items():
        description = keyword(call, 'description')
        assert isinstance(description, ast.Constant) and description.value.strip(), \
            f'{launch_file}: {name} has no literal description'
        assert keyword(call, 'default_value') is not None, f'{launch_file}: {name} has no default'
        assert f'``{name}``' in docstring, f'{launch_file}: the docstring does not document {name}'


@pytest.mark.parametrize('launch_file', sorted(EXPECTED_ARGUMENTS))
def test_boolean_arguments_only_take_true_or_false(package_dir, launch_file):
    arguments = declared_arguments(parse(package_dir, launch_file))
    for name in ('use_sim_time', 'viewer', 'record'):
        if name in arguments:
            assert keyword(arguments[name], 'choices') is not None, f'{name} takes anything'


@pytest.mark.parametrize('launch_file', sorted(EXPECTED_ARGUMENTS))
def test_the_nodes_each_launch_starts(package_dir, launch_file):
    tree = parse(package_dir, launch_file)
    started = set()
    for call in calls_to(tree, 'Node'):
        package, executable = keyword(call, 'package'), keyword(call, 'executable')
        started.add((package.value, executable.value))
    assert started == EXPECTED_EXECUTABLES[launch_file]


def test_defaults_that_differ_between_simulation_and_robot(package_dir):
    def default(launch_file, name):
        value = keyword(declared_arguments(parse(package_dir, launch_file))[name],
                        'default_value')
        return value.value if isinstance(value, ast.Constant) else None
    assert default('sim.launch.py', 'use_sim_time') == 'true'
    assert default('robot.launch.py', 'use_sim_time') == 'false'
    for launch_file in ('sim.launch.py', 'robot.launch.py'):
        assert default(launch_file, 'record') == 'false'
        assert default(launch_file, 'task') == 'trot_arm_wave'
    assert default('sim.launch.py', 'viewer') == 'false'
    assert default('robot.launch.py', 'robot') == 'spot_arm'


def test_shipped_policy_for_the_default_task_exists(package_dir):
    policy = package_dir / 'policies' / 'lpn_trot_arm_wave'
    assert (policy / 'policy.yaml').is_file() and (policy / 'weights.npz').is_file()
