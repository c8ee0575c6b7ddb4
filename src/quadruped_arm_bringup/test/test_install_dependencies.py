"""Every third-party import of the packages is declared in package.xml or requirements.txt."""

import ast
from importlib.metadata import packages_distributions
from pathlib import Path
import re
import sys

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ('sim_bridge', 'lpn_controller', 'smooth_policy_trainer', 'quadruped_arm_bringup')
# rosdep keys whose name is not python3-<import name>.
ROSDEP_KEYS = {'yaml': 'python3-yaml', 'PIL': 'python3-pil'}
pytestmark = pytest.mark.skipif(not (ROOT / 'requirements.txt').is_file(),
                                reason='needs the source tree (requirements.txt)')


def required_imports(path):
    """Return the top-level modules a file imports outside try/except ImportError."""
    tree = ast.parse(path.read_text())
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                'ImportError' in ast.unparse(handler.type or ast.Name('x'))
                for handler in node.handlers):
            # The fallback inside the handler is optional too (zstd from backports).
            for inner in [*node.body, *(n for h in node.handlers for n in h.body)]:
                optional.update(id(n) for n in ast.walk(inner))
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split('.')[0])
    return names


def requirement_names():
    """Return the lower-case distribution names pinned in requirements.txt."""
    names = set()
    for line in (ROOT / 'requirements.txt').read_text().splitlines():
        match = re.match(r'\s*([A-Za-z0-9_.-]+)', line.split('#')[0])
        if match:
            names.add(match.group(1).lower())
    return names


@pytest.mark.parametrize('package', PACKAGES)
def test_every_third_party_import_is_declared(package):
    folder = ROOT / 'src' / package
    declared = set(re.findall(r'<(?:exec_|test_|build_)?depend>([^<]+)</', (
        folder / 'package.xml').read_text()))
    pinned = requirement_names()
    distributions = packages_distributions()
    bench = {path.stem for path in (ROOT / 'bench').glob('*.py')}
    missing = []
    for path in sorted(folder.rglob('*.py')):
        if path.name == 'setup.py':    # setuptools comes with colcon and pip
            continue
        for name in sorted(required_imports(path)):
            if name in sys.stdlib_module_names or name in PACKAGES or name in bench:
                continue
            key = ROSDEP_KEYS.get(name, f'python3-{name}')
            dists = {dist.lower() for dist in distributions.get(name, ())}
            if name in declared or key in declared or dists & pinned:
                continue
            missing.append(f'{path.relative_to(ROOT)}: import {name}')
    assert not missing, ('imports that neither package.xml (rosdep) nor requirements.txt '
                         'declares:\n' + '\n'.join(missing))
