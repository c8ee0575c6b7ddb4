"""
Every module, node and launch file of the stack compiles under the running Python.

`make test` also runs this under Python 3.10 (the Humble leg), the Python of ROS 2 Humble: a
newer-only syntax in a node or launch file (``except*``, PEP 695 generics) fails here rather
than on the robot, including in the files whose imports (rclpy, MuJoCo, torch) that leg lacks.
"""

from pathlib import Path

import pytest

REPO_SRC = Path(__file__).resolve().parents[2]
SOURCES = sorted(path for path in REPO_SRC.glob('*/**/*.py') if '.egg' not in str(path))


def test_the_sources_are_found():
    names = {path.name for path in SOURCES}
    assert {'node.py', 'robot.launch.py', 'sim.launch.py', 'controller.py'} <= names


@pytest.mark.parametrize('path', SOURCES, ids=lambda path: str(path.relative_to(REPO_SRC)))
def test_compiles(path):
    compile(path.read_text(), str(path), 'exec')
