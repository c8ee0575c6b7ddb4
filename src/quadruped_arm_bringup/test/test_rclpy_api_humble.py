"""
The nodes use only what Humble's first rclpy (3.3.0) ships, read with ``ast`` (no ROS needed).

Every ``from rclpy.X import Y`` and ``rclpy.f(...)`` in the packages' node modules must name a
module and a public name of rclpy 3.3.0 (github.com/ros2/rclpy at that tag). Later rclpy moved
and added modules a Jazzy-only node might reach for: ``rclpy.parameter_client`` (Iron),
``rclpy.event_handler`` (Iron; Humble's is ``rclpy.qos_event``), ``rclpy.type_hash``.
"""

import ast
from pathlib import Path

import pytest

REPO_SRC = Path(__file__).resolve().parents[2]
ROS_MODULES = sorted(path for path in REPO_SRC.glob('*/*/*.py')
                     if 'rclpy' in path.read_text())

# Public names of rclpy 3.3.0's modules that this stack may use (typing re-exports left out).
RCLPY_HUMBLE_FIRST = {
    'rclpy': {'init', 'shutdown', 'try_shutdown', 'ok', 'spin', 'spin_once',
              'spin_until_future_complete', 'create_node', 'get_global_executor',
              'get_default_context', 'get_rmw_implementation_identifier', 'utilities',
              'executors', 'node', 'qos', 'logging', 'parameter', 'clock', 'time', 'duration'},
    'rclpy.executors': {'Executor', 'ExternalShutdownException', 'MultiThreadedExecutor',
                        'ShutdownException', 'SingleThreadedExecutor', 'TimeoutException',
                        'ConditionReachedException'},
    'rclpy.qos': {'DurabilityPolicy', 'HistoryPolicy', 'LivelinessPolicy', 'QoSProfile',
                  'QoSDurabilityPolicy', 'QoSHistoryPolicy', 'QoSLivelinessPolicy',
                  'QoSPresetProfiles', 'QoSReliabilityPolicy', 'ReliabilityPolicy',
                  'qos_profile_action_status_default', 'qos_profile_parameter_events',
                  'qos_profile_parameters', 'qos_profile_sensor_data',
                  'qos_profile_services_default', 'qos_profile_system_default'},
    'rclpy.node': {'Node'},
    'rclpy.parameter': {'Parameter', 'parameter_value_to_python'},
    'rclpy.logging': {'LoggingSeverity', 'get_logger', 'set_logger_level'},
    'rclpy.clock': {'Clock', 'ClockType', 'JumpThreshold', 'ROSClock'},
    'rclpy.time': {'Time'},
    'rclpy.duration': {'Duration'},
    'rclpy.callback_groups': {'CallbackGroup', 'MutuallyExclusiveCallbackGroup',
                              'ReentrantCallbackGroup'},
    'rclpy.task': {'Future', 'Task'},
    # Humble's signals module (rclpy#844): the controller node turns rclpy's handlers off to
    # make its safe stop itself (init(signal_handler_options=SignalHandlerOptions.NO)).
    'rclpy.signals': {'SignalHandlerOptions'},
}


def rclpy_names_used(tree):
    """Yield (module, name, line) for every rclpy name the module imports or calls."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module \
                and node.module.split('.')[0] == 'rclpy':
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == 'rclpy':
            yield 'rclpy', node.attr, node.lineno


def test_the_node_modules_are_found():
    names = {f'{path.parent.name}/{path.name}' for path in ROS_MODULES}
    assert {'lpn_controller/node.py', 'sim_bridge/node.py'} <= names


@pytest.mark.parametrize('path', ROS_MODULES, ids=lambda path: path.name)
def test_only_names_of_the_first_humble_rclpy(path):
    for module, name, line in rclpy_names_used(ast.parse(path.read_text(), str(path))):
        where = f'{path.parent.name}/{path.name}:{line}'
        assert module in RCLPY_HUMBLE_FIRST, f'{where}: {module} is not in rclpy 3.3.0 (Humble)'
        assert name in RCLPY_HUMBLE_FIRST[module], \
            f'{where}: {module}.{name} is not in rclpy 3.3.0 (Humble)'


def test_the_check_catches_an_iron_module():
    tree = ast.parse('from rclpy.parameter_client import AsyncParameterClient\n')
    assert [module for module, _, _ in rclpy_names_used(tree)] == ['rclpy.parameter_client']
    assert 'rclpy.parameter_client' not in RCLPY_HUMBLE_FIRST
