"""
MuJoCo's instability resets, detected; MuJoCo's messages, routed to Python's logging.

When a state blows up (NaN, inf or huge values in qpos, qvel or qacc) MuJoCo writes a warning,
resets mjData to the model's default state and carries on: the robot jumps to the model's
reference configuration mid-run, its clock back to zero. Left alone, that reset passes for a
step. mjData's warning counters say it happened: :class:`InstabilityWatch` reads them after every
step (a view on mjData's memory, read without a copy) and turns a tripped counter into an
:class:`InstabilityEvent` naming the model, the time and MuJoCo's text.

Without a handler MuJoCo appends its warnings to ``MUJOCO_LOG.TXT`` in the working directory and
prints them. :func:`route_mujoco_messages` (installed once, where simulators are built) sends
them to the ``mujoco`` logger instead; the ROS nodes forward that logger to rclpy's (see
:func:`forward_mujoco_log`). MuJoCo's errors already reach Python as ``mujoco.FatalError``.
"""

from dataclasses import dataclass
import logging
import threading
from typing import Optional, Tuple

import mujoco
import numpy as np

LOGGER = logging.getLogger('mujoco')

# The warnings after which a state is no longer physics: a reset to the default state (bad
# qpos, qvel or qacc), dropped contacts or constraints (buffers full), controls thrown away.
# mjWARN_INERTIA is a model's, raised when it is compiled, not by a step.
BREAKING_WARNINGS = ('mjWARN_CONTACTFULL', 'mjWARN_CNSTRFULL', 'mjWARN_BADQPOS',
                     'mjWARN_BADQVEL', 'mjWARN_BADQACC', 'mjWARN_BADCTRL')
_BREAKING_IDS = sorted(int(getattr(mujoco.mjtWarning, name)) for name in BREAKING_WARNINGS)
# One slice of the counters when the breaking warnings are contiguous (they are, in MuJoCo 3
# and 4): the per-step check is then one count_nonzero on a view (0.15 us; any() takes 1.3).
_WATCHED = (slice(_BREAKING_IDS[0], _BREAKING_IDS[-1] + 1)
            if _BREAKING_IDS == list(range(_BREAKING_IDS[0], _BREAKING_IDS[-1] + 1))
            else _BREAKING_IDS)


class SimulationUnstable(RuntimeError):
    """A simulator that MuJoCo reset was stepped again before being reset."""


@dataclass(frozen=True)
class InstabilityEvent:
    """One step after which the state was no longer physics."""

    model: str                  # the model file (or name) simulated
    time: float                 # simulated s at the start of the step it happened in
    warnings: Tuple[str, ...]   # the tripped mjtWarning names, e.g. ('mjWARN_BADQACC',)
    text: str                   # MuJoCo's message (it gives the physics step's exact time)

    @property
    def reset(self):
        """Return True when MuJoCo reset the state to the model's default (bad qpos/qvel/qacc)."""
        return any(name in ('mjWARN_BADQPOS', 'mjWARN_BADQVEL', 'mjWARN_BADQACC')
                   for name in self.warnings)

    def __str__(self):
        """Return a one-line report for logs."""
        what = ('MuJoCo reset the state to the model default' if self.reset
                else 'the step is not physics')
        return (f'simulation unstable in {self.model} at t = {self.time:.4f} s '
                f'({", ".join(self.warnings)}): {self.text.rstrip(".")}; {what}')


class InstabilityWatch:
    """Reads one mjData's breaking warning counters; cheap enough for every step."""

    def __init__(self, model_name, data):
        self.model_name = str(model_name)
        self._data = data
        # A view: MuJoCo writes the counters, the check reads them without a copy.
        self._counts = data.warning.number[_WATCHED]

    def tripped(self):
        """Return True when a breaking warning counter is non-zero (since the last clear)."""
        return np.count_nonzero(self._counts) > 0

    def event(self, start_time):
        """Return the InstabilityEvent of the tripped counters (the step began at start_time)."""
        stats = self._data.warning
        tripped = [i for i in _BREAKING_IDS if stats[i].number]
        names = tuple(mujoco.mjtWarning(i).name for i in tripped)
        text = _take_message() or ' '.join(
            mujoco.mju_warningText(i, stats[i].lastinfo) for i in tripped)
        return InstabilityEvent(self.model_name, float(start_time), names, text)

    def clear(self):
        """Zero the counters (a state restored without a reset keeps MuJoCo's counts)."""
        self._data.warning.number[:] = 0


# -- MuJoCo's messages ----------------------------------------------------------------------------

_thread = threading.local()   # MuJoCo calls the handler on the thread that steps
_install_lock = threading.Lock()
_routed = False


def _on_mujoco_warning(message):
    _thread.message = message
    LOGGER.warning('MuJoCo: %s', message)


def clear_message():
    """Forget this thread's last MuJoCo message (before a step, so a report is the step's own)."""
    _thread.message = None


def _take_message() -> Optional[str]:
    message = getattr(_thread, 'message', None)
    _thread.message = None
    return message


def route_mujoco_messages():
    """
    Send MuJoCo's warnings to the ``mujoco`` logger rather than MUJOCO_LOG.TXT (idempotent).

    A handler the application installed first is kept: its owner decides where messages go.
    Returns True when MuJoCo's warnings go through this module.
    """
    global _routed
    with _install_lock:
        if not _routed and mujoco.get_mju_user_warning() is None:
            mujoco.set_mju_user_warning(_on_mujoco_warning)
            _routed = True
        return _routed


class _Forward(logging.Handler):
    def __init__(self, write):
        super().__init__(logging.DEBUG)
        self.write = write

    def emit(self, record):
        try:
            self.write(record.levelno, self.format(record))
        except Exception:  # a log line must never take the simulation down
            self.handleError(record)


def forward_mujoco_log(write):
    """
    Send the ``mujoco`` logger's records to ``write(level, text)`` only (a node's logger).

    Returns a function that stops forwarding (records then propagate as before).
    """
    handler, propagate = _Forward(write), LOGGER.propagate
    LOGGER.addHandler(handler)
    LOGGER.propagate = False

    def stop():
        LOGGER.removeHandler(handler)
        LOGGER.propagate = propagate
    return stop
