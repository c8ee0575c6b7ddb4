"""
Fixtures: the bringup's folders and the parameters the nodes declare, read without ROS.

Both nodes keep their parameter tables in plain Python (lpn_controller.node_parameters and
sim_bridge.bridge), so the checks run where ROS is absent.
"""

from pathlib import Path

from lpn_controller.node_parameters import NODE_PARAMETERS as CONTROLLER_PARAMETERS
from lpn_controller.node_parameters import Unset
import pytest
from sim_bridge.bridge import NODE_PARAMETERS

PACKAGE_DIR = Path(__file__).resolve().parents[1]


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
    """Return {name: default or Unset} of the controller node."""
    return {name: default for name, default, _ in CONTROLLER_PARAMETERS}


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
