"""
Checks over a whole test session run from the repository root (``make test``).

The project writes no file outside the directories a user names: MuJoCo's default warning
handler appends to MUJOCO_LOG.TXT in the working directory, so a session that leaves one behind
(in the working directory or the repository root) fails, whatever its tests said.
"""

from pathlib import Path

import pytest

MUJOCO_LOG = 'MUJOCO_LOG.TXT'
_BEFORE = pytest.StashKey()


def _mujoco_logs():
    return {path for path in (Path.cwd() / MUJOCO_LOG, Path(__file__).parent / MUJOCO_LOG)
            if path.exists()}


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = _mujoco_logs()


def pytest_sessionfinish(session, exitstatus):
    written = sorted(_mujoco_logs() - session.config.stash.get(_BEFORE, set()))
    if written:
        reporter = session.config.pluginmanager.get_plugin('terminalreporter')
        message = (f'the test session wrote {", ".join(map(str, written))}: a MuJoCo warning '
                   'bypassed sim_bridge.instability.route_mujoco_messages')
        if reporter is not None:
            reporter.write_line(f'ERROR: {message}', red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
