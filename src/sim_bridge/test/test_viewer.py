"""The optional viewer: headless machines get a reason, not a dead process; syncs are paced."""

import pytest

from sim_bridge.viewer import open_viewer, ViewerSync


class FakeHandle:
    def __init__(self):
        self.syncs = 0
        self.running = True
        self.closed = False

    def is_running(self):
        return self.running

    def sync(self):
        self.syncs += 1

    def close(self):
        self.closed, self.running = True, False


def refuse_to_launch(model, data):
    raise AssertionError('the viewer must not be launched')


def test_headless_machine_gets_a_reason_and_no_launch():
    handle, problem = open_viewer('model', 'data', launch_passive=refuse_to_launch,
                                  glfw_init=lambda: True, environ={})
    assert handle is None
    assert 'no display' in problem


def test_unusable_display_gets_a_reason_and_no_launch():
    handle, problem = open_viewer('model', 'data', launch_passive=refuse_to_launch,
                                  glfw_init=lambda: False, environ={'DISPLAY': ':7'})
    assert handle is None
    assert "':7'" in problem


def test_viewer_opens_on_a_display_and_reports_launch_failures():
    opened = FakeHandle()
    handle, problem = open_viewer('model', 'data', launch_passive=lambda m, d: opened,
                                  glfw_init=lambda: True, environ={'WAYLAND_DISPLAY': 'w-0'})
    assert handle is opened and problem is None

    def broken(model, data):
        raise RuntimeError('no OpenGL context')
    handle, problem = open_viewer('model', 'data', launch_passive=broken,
                                  glfw_init=lambda: True, environ={'DISPLAY': ':0'})
    assert handle is None
    assert 'no OpenGL context' in problem


def test_sync_runs_at_the_viewer_rate_not_every_tick():
    handle = FakeHandle()
    viewer = ViewerSync(handle, rate_hz=10.0)
    for tick in range(500):  # one second of 500 Hz physics ticks
        assert viewer.update(tick * 0.002)
    assert handle.syncs == 10


def test_closed_window_is_reported_and_close_is_safe_twice():
    handle = FakeHandle()
    viewer = ViewerSync(handle)
    assert viewer.update(0.0)
    handle.running = False
    assert not viewer.update(1.0)
    viewer.close()
    assert not handle.closed  # already gone: nothing to close
    open_handle = FakeHandle()
    ViewerSync(open_handle).close()
    assert open_handle.closed
    with pytest.raises(ValueError, match='rate'):
        ViewerSync(FakeHandle(), rate_hz=0.0)
