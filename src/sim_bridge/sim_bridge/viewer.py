"""
The optional MuJoCo passive viewer of the bridge, free of ROS and safe on headless machines.

The viewer renders in its own thread; the bridge pushes the simulation state to it with
``sync()``, which copies the whole state, so it runs at a modest wall-clock rate
(:data:`VIEWER_RATE_HZ`) rather than every physics step. Without a display GLFW's failure
inside ``mujoco.viewer`` ends the whole process, so :func:`open_viewer` checks for one first and
reports why it could not open instead.
"""

import os

VIEWER_RATE_HZ = 30.0


def open_viewer(model, data, launch_passive=None, glfw_init=None, environ=None):
    """
    Open the MuJoCo passive viewer on ``model``/``data``.

    Return ``(handle, None)`` when it opened and ``(None, reason)`` when it could not.
    ``launch_passive`` and ``glfw_init`` default to MuJoCo's and GLFW's own; tests pass fakes.
    """
    environ = os.environ if environ is None else environ
    if not (environ.get('DISPLAY') or environ.get('WAYLAND_DISPLAY')):
        return None, 'no display (DISPLAY and WAYLAND_DISPLAY are unset)'
    try:
        if glfw_init is None:
            import glfw
            glfw_init = glfw.init
        if launch_passive is None:
            import mujoco.viewer
            launch_passive = mujoco.viewer.launch_passive
    except ImportError as missing:
        return None, f'the viewer needs {missing.name}, which is not installed'
    if not glfw_init():
        return None, f'GLFW cannot open the display {environ.get("DISPLAY", "")!r}'
    try:
        return launch_passive(model, data), None
    except Exception as error:  # whatever the viewer's failure, the bridge runs on headless
        return None, f'the viewer failed to start: {error}'


class ViewerSync:
    """Push the simulation state to an open viewer at most ``rate_hz`` times per second."""

    def __init__(self, handle, rate_hz=VIEWER_RATE_HZ):
        """Wrap ``handle``, anything with ``sync()``, ``is_running()`` and ``close()``."""
        if not rate_hz > 0:
            raise ValueError(f'viewer rate must be > 0 Hz, got {rate_hz}')
        self.handle = handle
        self.period = 1.0 / rate_hz
        self._next_sync = None

    def update(self, wall_now):
        """
        Sync the viewer if a period has passed since the last sync (wall_now in seconds).

        Return False once the user has closed the viewer window, True otherwise.
        """
        if self._next_sync is not None and wall_now < self._next_sync:
            return True
        if not self.handle.is_running():
            return False
        self.handle.sync()
        self._next_sync = wall_now + self.period
        return True

    def close(self):
        """Close the viewer window if it is still open."""
        if self.handle.is_running():
            self.handle.close()
