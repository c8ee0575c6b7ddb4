"""
Fixtures: the bringup's folders and the parameters the nodes declare, read without ROS.

The controller node declares its parameters in ``lpn_controller/node.py``, which imports rclpy;
its ``_PARAMETERS`` table is read from the source with ``ast`` and each default evaluated
against the plain-Python configs it names, so the check runs where ROS is absent.
"""

import ast
from pathlib import Path
from types import SimpleNamespace

import lpn_controller
from lpn_controller.monitor import MonitorConfig
from lpn_controller.safety import SafetyConfig
from lpn_controller.state_inputs import OdometryConfig
import pytest
from sim_bridge.bridge import NODE_PARAMETERS

PACKAGE_DIR = Path(__file__).resolve().parents[1]


class Unset:
    """A parameter declared with a type but no value (rclpy's ``Parameter.Type.X``)."""

    def __init__(self, type_name):
        """Remember the ROS parameter type name, e.g. DOUBLE_ARRAY."""
        self.type_name = type_name

    def __repr__(self):
        """Show the type, as the node declares it."""
        return f'Unset({self.type_name})'


class _ParameterTypes:
    def __getattr__(self, type_name):
        return Unset(type_name)


def ros_type(value):
    """Return the ROS 2 parameter type name a YAML or Python value is read as."""
    if isinstance(value, Unset):
        return value.type_name
    if isinstance(value, list):
        element = {ros_type(item) for item in value}
        return f'{element.pop()}_ARRAY' if len(element) == 1 else 'MIXED_ARRAY'
    for python_type, name in ((bool, 'BOOL'), (int, 'INTEGER'), (float, 'DOUBLE'),
                              (str, 'STRING')):
        if isinstance(value, python_type):
            return name
    raise TypeError(f'{value!r} is not a ROS parameter value')


def declared_controller_parameters():
    """Return {name: default or Unset} of the controller node, from its source."""
    source_path = Path(lpn_controller.__file__).with_name('node.py')
    tree = ast.parse(source_path.read_text(), str(source_path))
    table = next(statement.value for statement in tree.body
                 if isinstance(statement, ast.Assign)
                 and any(getattr(target, 'id', None) == '_PARAMETERS'
                         for target in statement.targets))
    namespace = {'_SAFETY': SafetyConfig(), '_MONITOR': MonitorConfig(),
                 '_ODOMETRY': OdometryConfig(),
                 'Parameter': SimpleNamespace(Type=_ParameterTypes())}
    declared = {}
    for entry in table.elts:
        name = ast.literal_eval(entry.elts[0])
        # eval, not literal_eval: defaults name the config dataclasses (the project's own code).
        default = compile(ast.Expression(entry.elts[1]), str(source_path), 'eval')
        declared[name] = eval(default, namespace)
    return declared


@pytest.fixture(scope='session')
def package_dir():
    return PACKAGE_DIR


@pytest.fixture(scope='session')
def controller_parameters_declared():
    return declared_controller_parameters()


@pytest.fixture(scope='session')
def bridge_parameters_declared():
    return {name: default for name, default, _ in NODE_PARAMETERS}


@pytest.fixture(scope='session')
def ros_type_of():
    return ros_type
