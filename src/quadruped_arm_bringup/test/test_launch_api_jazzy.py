"""
The launch files use only what Jazzy's and Humble's first releases ship.

Jazzy: launch 3.4.0, launch_ros 0.26.0. Humble: launch 1.0.0, launch_ros 0.19.0 (the robot runs
Humble: spot_ros2, Spot's ROS 2 driver, supports only Humble, and Humble and Jazzy nodes do not
talk to each other reliably).

Read from the sources with ``ast`` (no ``launch`` needed), so CI guards it where ROS is absent:
every name imported from ``launch``/``launch_ros`` (or reached as ``launch.actions.X``) must be
in each release's ``__all__`` (or be a submodule it ships), keywords of the actions used must
exist there, and no list may nest inside ``PathJoinSubstitution`` (later releases join a nested
list, 3.4.0 and 1.0.0 raise ``TypeError: Failed to normalize given item of type '<class
'list'>'`` before any node starts).
Where ROS is installed, the defaults are also evaluated by the real ``launch``.
"""

import ast
from pathlib import Path

import pytest

REPO_SRC = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted(REPO_SRC.glob('*/launch/*.launch.py'))
LAUNCH_TESTS = sorted(REPO_SRC.glob('*/test/test_*launch*.py'))

# The public names of launch 3.4.0 and launch_ros 0.26.0 (their modules' __all__ at those tags,
# github.com/ros2/launch and github.com/ros2/launch_ros), by module.
JAZZY_FIRST_RELEASE = {
    'launch': {
        'actions', 'conditions', 'descriptions', 'events', 'frontend', 'logging',
        'substitutions', 'Action', 'Condition', 'Event', 'EventHandler',
        'InvalidLaunchFileError', 'LaunchContext', 'LaunchDescription',
        'LaunchDescriptionEntity', 'LaunchDescriptionSource', 'LaunchIntrospector',
        'LaunchService', 'SomeEntitiesType', 'SomeSubstitutionsType', 'Substitution',
        'launch_description_sources', 'event_handlers', 'utilities'},
    'launch.actions': {
        'AppendEnvironmentVariable', 'DeclareLaunchArgument', 'EmitEvent', 'ExecuteLocal',
        'ExecuteProcess', 'GroupAction', 'IncludeLaunchDescription', 'LogInfo',
        'OpaqueCoroutine', 'OpaqueFunction', 'PopEnvironment', 'PopLaunchConfigurations',
        'PushEnvironment', 'PushLaunchConfigurations', 'ResetEnvironment',
        'ResetLaunchConfigurations', 'RegisterEventHandler', 'SetEnvironmentVariable',
        'SetLaunchConfiguration', 'Shutdown', 'TimerAction', 'UnregisterEventHandler',
        'UnsetEnvironmentVariable', 'UnsetLaunchConfiguration'},
    'launch.substitutions': {
        'AllSubstitution', 'AndSubstitution', 'AnySubstitution', 'AnonName', 'Command',
        'EqualsSubstitution', 'EnvironmentVariable', 'FileContent', 'FindExecutable',
        'IfElseSubstitution', 'LaunchConfiguration', 'LaunchLogDir', 'LocalSubstitution',
        'NotSubstitution', 'NotEqualsSubstitution', 'OrSubstitution', 'PathJoinSubstitution',
        'PythonExpression', 'SubstitutionFailure', 'TextSubstitution', 'ThisLaunchFile',
        'ThisLaunchFileDir'},
    'launch.conditions': {
        'evaluate_condition_expression', 'IfCondition', 'InvalidConditionExpressionError',
        'LaunchConfigurationEquals', 'LaunchConfigurationNotEquals', 'UnlessCondition'},
    'launch.event_handlers': {
        'event_named', 'OnExecutionComplete', 'OnIncludeLaunchDescription', 'OnProcessExit',
        'OnProcessIO', 'OnProcessStart', 'OnShutdown'},
    'launch.events': {
        'matches_action', 'process', 'ExecutionComplete', 'IncludeLaunchDescription',
        'Shutdown', 'TimerEvent'},
    'launch.launch_description_sources': {
        'get_launch_description_from_any_launch_file',
        'get_launch_description_from_python_launch_file',
        'get_launch_description_from_frontend_launch_file', 'InvalidFrontendLaunchFileError',
        'InvalidLaunchFileError', 'InvalidPythonLaunchFileError',
        'load_python_launch_file_as_module', 'AnyLaunchDescriptionSource',
        'FrontendLaunchDescriptionSource', 'PythonLaunchDescriptionSource'},
    'launch_ros': {'actions', 'substitutions', 'descriptions', 'event_handlers',
                   'parameter_descriptions', 'events', 'utilities'},
    'launch_ros.actions': {
        'ComposableNodeContainer', 'LifecycleNode', 'LifecycleTransition',
        'LoadComposableNodes', 'Node', 'PushROSNamespace', 'PushRosNamespace', 'ROSTimer',
        'RosTimer', 'SetParameter', 'SetParametersFromFile', 'SetRemap', 'SetROSLogDir'},
    'launch_ros.substitutions': {
        'ExecutableInPackage', 'FindPackage', 'FindPackagePrefix', 'FindPackageShare',
        'Parameter'},
    'launch_ros.descriptions': {'ComposableNode', 'Parameter', 'ParameterFile',
                                'ParameterValue'},
    'launch_ros.parameter_descriptions': {'ParameterValue', 'Parameter', 'ParameterFile'},
    'launch_ros.event_handlers': {'OnStateTransition'},
}
# Keywords of the constructors the launch files call, as launch 3.4.0 / launch_ros 0.26.0
# declare them (ExecuteProcess and Node also take the Action/ExecuteLocal keywords listed).
_ACTION_KEYWORDS = {'condition'}
_PROCESS_KEYWORDS = _ACTION_KEYWORDS | {
    'cmd', 'prefix', 'name', 'cwd', 'env', 'additional_env', 'shell', 'sigterm_timeout',
    'sigkill_timeout', 'emulate_tty', 'output', 'output_format', 'log_cmd', 'on_exit',
    'respawn', 'respawn_delay', 'cached_output'}
JAZZY_FIRST_KEYWORDS = {
    'DeclareLaunchArgument': {'default_value', 'description', 'choices'} | _ACTION_KEYWORDS,
    'LogInfo': {'msg'} | _ACTION_KEYWORDS,
    'OpaqueFunction': {'function', 'args', 'kwargs'} | _ACTION_KEYWORDS,
    'ExecuteProcess': _PROCESS_KEYWORDS,
    'Node': (_PROCESS_KEYWORDS - {'cmd'}) | {
        'executable', 'package', 'namespace', 'exec_name', 'parameters', 'remappings',
        'ros_arguments', 'arguments'},
    'ParameterValue': {'value', 'value_type'},
    'IncludeLaunchDescription': {'launch_description_source', 'launch_arguments'}
    | _ACTION_KEYWORDS,
    'PathJoinSubstitution': set(),
    'LaunchConfiguration': {'variable_name', 'default'},
}


# The same for Humble's first release, launch 1.0.0 and launch_ros 0.19.0 (their __all__ at those
# tags; submodules that are imported on first use but not listed in __all__ added by hand).
# Older than Jazzy: no PushROSNamespace, ROSTimer, SetROSLogDir, LifecycleTransition, no
# IfElseSubstitution, EqualsSubstitution, FileContent, LaunchLogDir and friends.
HUMBLE_FIRST_RELEASE = {
    'launch': {
        'actions', 'conditions', 'descriptions', 'events', 'frontend', 'logging',
        'substitutions', 'Action', 'Condition', 'Event', 'EventHandler',
        'InvalidLaunchFileError', 'LaunchContext', 'LaunchDescription',
        'LaunchDescriptionEntity', 'LaunchDescriptionSource', 'LaunchIntrospector',
        'LaunchService', 'SomeActionsType', 'SomeActionsType_types_tuple',
        'SomeSubstitutionsType', 'SomeSubstitutionsType_types_tuple', 'Substitution',
        'launch_description_sources', 'event_handlers', 'utilities'},
    'launch.actions': {
        'AppendEnvironmentVariable', 'DeclareLaunchArgument', 'EmitEvent', 'ExecuteLocal',
        'ExecuteProcess', 'GroupAction', 'IncludeLaunchDescription', 'LogInfo',
        'OpaqueCoroutine', 'OpaqueFunction', 'PopEnvironment', 'PopLaunchConfigurations',
        'PushEnvironment', 'PushLaunchConfigurations', 'ResetEnvironment',
        'ResetLaunchConfigurations', 'RegisterEventHandler', 'SetEnvironmentVariable',
        'SetLaunchConfiguration', 'Shutdown', 'TimerAction', 'UnregisterEventHandler',
        'UnsetEnvironmentVariable', 'UnsetLaunchConfiguration'},
    'launch.substitutions': {
        'AndSubstitution', 'AnonName', 'Command', 'EnvironmentVariable', 'FindExecutable',
        'LaunchConfiguration', 'LocalSubstitution', 'NotSubstitution', 'OrSubstitution',
        'PathJoinSubstitution', 'PythonExpression', 'SubstitutionFailure', 'TextSubstitution',
        'ThisLaunchFile', 'ThisLaunchFileDir'},
    'launch.conditions': JAZZY_FIRST_RELEASE['launch.conditions'],   # the same lists at 1.0.0
    'launch.event_handlers': JAZZY_FIRST_RELEASE['launch.event_handlers'],
    'launch.events': JAZZY_FIRST_RELEASE['launch.events'],
    'launch.launch_description_sources': JAZZY_FIRST_RELEASE['launch.launch_description_sources'],
    'launch_ros': {'actions', 'descriptions', 'event_handlers', 'events', 'ros_adapters',
                   'substitutions', 'parameter_descriptions', 'utilities'},
    'launch_ros.actions': {
        'ComposableNodeContainer', 'LifecycleNode', 'LoadComposableNodes', 'Node',
        'PushRosNamespace', 'RosTimer', 'SetParameter', 'SetParametersFromFile', 'SetRemap',
        'SetUseSimTime'},
    'launch_ros.substitutions': {
        'ExecutableInPackage', 'FindPackage', 'FindPackagePrefix', 'FindPackageShare',
        'Parameter'},
    'launch_ros.descriptions': {'ComposableNode', 'Parameter', 'ParameterFile',
                                'ParameterValue'},
    'launch_ros.parameter_descriptions': {'ParameterValue', 'Parameter', 'ParameterFile'},
    'launch_ros.event_handlers': {'OnStateTransition'},
}
# Read at those tags: every constructor above takes the same keywords at launch 1.0.0 /
# launch_ros 0.19.0 as at 3.4.0 / 0.26.0 (ExecuteProcess's process keywords through ExecuteLocal,
# DeclareLaunchArgument's choices, Node's exec_name and ros_arguments, ParameterValue's
# value_type included).
HUMBLE_FIRST_KEYWORDS = JAZZY_FIRST_KEYWORDS

RELEASES = {
    'jazzy': ('launch 3.4.0 / launch_ros 0.26.0', JAZZY_FIRST_RELEASE, JAZZY_FIRST_KEYWORDS),
    'humble': ('launch 1.0.0 / launch_ros 0.19.0', HUMBLE_FIRST_RELEASE, HUMBLE_FIRST_KEYWORDS),
}


def source_files():
    return LAUNCH_FILES + LAUNCH_TESTS


def launch_names_used(tree):
    """Yield (module, name, line) for every launch/launch_ros name the file reaches."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module \
                and node.module.split('.')[0] in ('launch', 'launch_ros'):
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Attribute):
            parts = []
            current = node
            while isinstance(current, ast.Attribute):
                parts.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name) and current.id in ('launch', 'launch_ros'):
                dotted = [current.id] + parts[::-1]
                # launch.actions.Foo -> ('launch.actions', 'Foo'); launch.Foo -> ('launch', 'Foo')
                module = '.'.join(dotted[:-1])
                if module in JAZZY_FIRST_RELEASE or module in HUMBLE_FIRST_RELEASE:
                    yield module, dotted[-1], node.lineno


def called_name(call):
    return getattr(call.func, 'id', getattr(call.func, 'attr', None))


def test_the_launch_files_are_found():
    names = {path.name for path in LAUNCH_FILES}
    assert {'sim.launch.py', 'robot.launch.py', 'sim_bridge.launch.py'} <= names


@pytest.mark.parametrize('release', sorted(RELEASES))
@pytest.mark.parametrize('path', source_files(), ids=lambda path: path.name)
def test_only_names_of_the_first_releases(path, release):
    versions, names, _ = RELEASES[release]
    tree = ast.parse(path.read_text(), str(path))
    for module, name, line in launch_names_used(tree):
        assert module in names, f'{path.name}:{line}: module {module} unknown to {versions}'
        assert name in names[module], \
            f'{path.name}:{line}: {module}.{name} is not in {versions} ({release})'


@pytest.mark.parametrize('release', sorted(RELEASES))
@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda path: path.name)
def test_only_keywords_of_the_first_releases(path, release):
    versions, _, keywords = RELEASES[release]
    tree = ast.parse(path.read_text(), str(path))
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        allowed = keywords.get(called_name(call))
        if allowed is None:
            continue
        for item in call.keywords:
            assert item.arg in allowed, \
                f'{path.name}:{call.lineno}: {called_name(call)}({item.arg}=...) is newer ' \
                f'than {versions} ({release})'


def nested_lists(node):
    """Return the list literals nested inside a list/tuple literal."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        return []
    return [item for item in node.elts if isinstance(item, (ast.List, ast.Tuple))]


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda path: path.name)
def test_no_nested_list_in_a_substitution(path):
    tree = ast.parse(path.read_text(), str(path))
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        if called_name(call) == 'PathJoinSubstitution' and call.args:
            assert not nested_lists(call.args[0]), \
                f'{path.name}:{call.lineno}: a list nested in PathJoinSubstitution fails on ' \
                'launch 3.4.0'
        for item in call.keywords:
            if item.arg == 'default_value':
                assert not nested_lists(item.value), \
                    f'{path.name}:{call.lineno}: nested list in a default_value'


def test_the_checks_catch_the_reported_form():
    """The form that broke launch 3.4.0 (issue 17) is rejected by the checks above."""
    broken = ast.parse('from launch.substitutions import PathJoinSubstitution\n'
                       'PathJoinSubstitution([d, [x, LaunchConfiguration(t)]])\n'
                       'from launch.actions import ForEach\n')
    call = next(node for node in ast.walk(broken) if isinstance(node, ast.Call)
                and called_name(node) == 'PathJoinSubstitution')
    assert nested_lists(call.args[0])
    assert ('launch.actions', 'ForEach', 3) in set(launch_names_used(broken))
    assert 'ForEach' not in JAZZY_FIRST_RELEASE['launch.actions']
    # Names Jazzy has and Humble has not are caught for Humble.
    newer = ast.parse('from launch_ros.actions import PushROSNamespace\n'
                      'from launch.substitutions import IfElseSubstitution\n')
    for module, name, _ in launch_names_used(newer):
        assert name in JAZZY_FIRST_RELEASE[module]
        assert name not in HUMBLE_FIRST_RELEASE[module]


def test_the_defaults_evaluate_under_the_installed_launch(package_dir):
    """Where launch is installed: every DeclareLaunchArgument default performs to a path."""
    launch = pytest.importorskip('launch')
    pytest.importorskip('launch_ros')
    pytest.importorskip('ament_index_python')
    from ament_index_python.packages import PackageNotFoundError
    from launch.launch_description_sources import get_launch_description_from_python_launch_file
    for name in ('sim.launch.py', 'robot.launch.py'):
        try:
            description = get_launch_description_from_python_launch_file(
                str(package_dir / 'launch' / name))
        except PackageNotFoundError:
            pytest.skip('quadruped_arm_bringup is not installed (colcon build first)')
        context = launch.LaunchContext()
        for argument in description.get_launch_arguments():
            if argument.default_value is not None:
                context.launch_configurations[argument.name] = launch.utilities.\
                    perform_substitutions(context, argument.default_value)
        if name == 'sim.launch.py':
            assert context.launch_configurations['policy'].endswith('lpn_trot_arm_wave')
        else:
            assert context.launch_configurations['robot_profile'].endswith(
                'robots/spot_arm.yaml')
