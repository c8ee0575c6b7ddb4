"""Architecture rules: only node.py touches ROS, and nothing imports torch."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'lpn_controller'
ROS_MODULES = {'rclpy', 'rcl_interfaces', 'sensor_msgs', 'std_msgs', 'std_srvs',
               'diagnostic_msgs', 'builtin_interfaces', 'geometry_msgs', 'launch', 'launch_ros',
               'controller_manager_msgs'}   # the safe stop's set_hardware_component_state


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


def test_the_node_needs_only_numpy_scipy_and_yaml_beside_ros():
    """The robot path (node.py and all it imports) runs on a distribution's numpy/scipy/yaml."""
    import sys
    standard = set(getattr(sys, 'stdlib_module_names', ())) or {
        'abc', 'ast', 'collections', 'dataclasses', 'enum', 'io', 'json', 'math', 'os',
        'pathlib', 'shutil', 'signal', 'tarfile', 'tempfile', 'typing', 'zipfile'}
    allowed = {'numpy', 'scipy', 'yaml', 'lpn_controller'} | ROS_MODULES | {'nav_msgs'}
    seen, pending, outside = set(), ['node'], {}
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = PACKAGE / f'{name}.py'
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == 'lpn_controller':
                modules = [f'lpn_controller.{alias.name}' for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                top = module.split('.')[0]
                if module.startswith('lpn_controller.'):
                    pending.append(module.split('.')[1])
                elif top not in allowed and top not in standard:
                    outside.setdefault(name, set()).add(top)
    assert {'controller', 'runtime', 'state_inputs', 'message_fields', 'metrics'} <= seen
    assert not outside, f'the controller node reaches beyond numpy, scipy, yaml: {outside}'
