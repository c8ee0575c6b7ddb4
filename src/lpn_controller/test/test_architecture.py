"""Architecture rules: only node.py touches ROS, and nothing imports torch."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'lpn_controller'
ROS_MODULES = {'rclpy', 'rcl_interfaces', 'sensor_msgs', 'std_msgs', 'std_srvs',
               'diagnostic_msgs', 'builtin_interfaces', 'geometry_msgs', 'launch', 'launch_ros'}


def imported_top_level_modules(path):
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split('.')[0])
    return modules


def test_only_the_node_imports_ros():
    offenders = {path.name: imported_top_level_modules(path) & ROS_MODULES
                 for path in PACKAGE.glob('*.py') if path.name != 'node.py'}
    assert not any(offenders.values()), offenders


def test_no_torch_in_the_runtime_package():
    for path in PACKAGE.glob('*.py'):
        assert 'torch' not in imported_top_level_modules(path), path.name


def test_library_imports_without_ros():
    import importlib
    for path in PACKAGE.glob('*.py'):
        if path.stem not in ('node', '__init__'):
            importlib.import_module(f'lpn_controller.{path.stem}')
