"""
Safety state machine of the controller, plain Python (driven by controller.py and tests).

Modes::

    WAITING --state fresh, finite, upright--> INTERPOLATING --duration elapsed--> POLICY
       ^                                          |                                  |
       |                                          +--- stale / frozen IMU / ---------+
       |                                          |    non-finite / tilt / e-stop    |
       +------------------ reset() ---------- DAMPING (latched) <--------------------+

WAITING and DAMPING both command passive damping. Faults latch: DAMPING is left only through
:meth:`SafetyStateMachine.reset` (the node's ``~/reset_estop`` service), which returns to WAITING
so the robot re-interpolates to the default pose before the policy runs again. An e-stop puts
every mode, WAITING included, into DAMPING.
"""

from dataclasses import dataclass
import enum
import math
from typing import Optional, Tuple


class SafetyMode(enum.Enum):
    """What the controller commands."""

    WAITING = 'waiting_for_state'  # passive damping until fresh state arrives
    INTERPOLATING = 'interpolating'  # smooth move to the policy's default pose
    POLICY = 'policy'  # the policy drives the joints
    DAMPING = 'damping'  # latched fault or e-stop: passive damping until reset


@dataclass(frozen=True)
class SafetyConfig:
    """
    Watchdog timeout, tilt limit (rad, from upright), interpolation time, frozen-IMU timeout.

    ``frozen_imu_timeout_s``: an IMU whose readings stay bit-identical for longer is frozen (a
    real IMU's noise changes every reading; a driver that republishes its last sample does
    not); 0 turns the check off, for a noise-free simulated IMU at rest. It is the last
    argument so positional construction keeps its meaning.
    """

    state_timeout_s: float = 0.1
    max_tilt_rad: float = 1.0
    interpolation_duration_s: float = 2.0
    frozen_imu_timeout_s: float = 0.1


@dataclass(frozen=True)
class SafetyInputs:
    """
    What the machine checks each step.

    Ages are seconds since the last message (None: never received). ``tilt_rad`` is None when
    unknown. ``finite`` is False if any state input holds NaN or inf (``non_finite`` names
    them, when known). ``extra_ages`` holds ``(name, age)`` or ``(name, age, timeout_s)`` of the
    further inputs the policy reads (odometry, say), watched like the joint states and the IMU,
    against their own timeout where given. ``imu_unchanged_s`` is how long the IMU readings have
    been bit-identical: from the first message carrying the current reading to the latest one
    (0 while they change; None: unknown). ``rejected_message``: why the latest message of some
    input could not be used (a zero quaternion, say), or None; it blocks like stale state.
    """

    joint_state_age_s: Optional[float]
    imu_age_s: Optional[float]
    finite: bool
    tilt_rad: Optional[float]
    extra_ages: Tuple[Tuple, ...] = ()
    imu_unchanged_s: Optional[float] = None
    rejected_message: Optional[str] = None
    non_finite: Optional[str] = None


@dataclass(frozen=True)
class Transition:
    """One mode change, for logging."""

    time_s: float
    previous: SafetyMode
    mode: SafetyMode
    reason: str


class SafetyStateMachine:
    """Mode logic only: no I/O, time passed in by the caller."""

    def __init__(self, config: SafetyConfig = SafetyConfig()):
        """Start in WAITING with no fault."""
        if config.state_timeout_s <= 0.0 or config.interpolation_duration_s < 0.0:
            raise ValueError('state_timeout_s must be positive and interpolation_duration_s '
                             'non-negative')
        if not config.frozen_imu_timeout_s >= 0.0:
            raise ValueError('frozen_imu_timeout_s must be non-negative (0 turns the check '
                             f'off), got {config.frozen_imu_timeout_s}')
        self.config = config
        self.mode = SafetyMode.WAITING
        self.reason = 'waiting for joint states and IMU'
        self.estop_active = False
        self.mode_start_s: Optional[float] = None

    def _enter(self, mode: SafetyMode, now_s: float, reason: str) -> Transition:
        transition = Transition(now_s, self.mode, mode, reason)
        self.mode = mode
        self.reason = reason
        self.mode_start_s = now_s
        return transition

    def _problem(self, inputs: SafetyInputs) -> Optional[str]:
        """Return why the state cannot be trusted, or None."""
        if inputs.rejected_message:
            return inputs.rejected_message
        for name, age, *own_timeout in (('joint states', inputs.joint_state_age_s),
                                        ('IMU', inputs.imu_age_s), *inputs.extra_ages):
            timeout = own_timeout[0] if own_timeout else self.config.state_timeout_s
            if age is None:
                return f'no {name} received'
            if age > timeout:
                return f'stale {name}: last message {age:.3f} s ago (timeout {timeout:.3f} s)'
        frozen_timeout = self.config.frozen_imu_timeout_s
        unchanged = inputs.imu_unchanged_s
        if frozen_timeout > 0.0 and unchanged is not None and unchanged > frozen_timeout:
            return (f'frozen IMU: readings bit-identical for {unchanged:.3f} s (timeout '
                    f'{frozen_timeout:.3f} s)')
        if not inputs.finite:
            return f'NaN or inf in the {inputs.non_finite or "state inputs"}'
        if inputs.tilt_rad is None or not math.isfinite(inputs.tilt_rad):
            return 'body tilt unknown'
        if inputs.tilt_rad > self.config.max_tilt_rad:
            return (f'body tilt {math.degrees(inputs.tilt_rad):.1f} deg exceeds '
                    f'{math.degrees(self.config.max_tilt_rad):.1f} deg')
        return None

    def update(self, now_s: float, inputs: SafetyInputs) -> Optional[Transition]:
        """Advance the machine at time ``now_s``; return the transition taken, if any."""
        if self.estop_active:
            if self.mode != SafetyMode.DAMPING:
                return self._enter(SafetyMode.DAMPING, now_s, 'e-stop')
            return None
        if self.mode == SafetyMode.DAMPING:
            return None
        problem = self._problem(inputs)
        if self.mode == SafetyMode.WAITING:
            if problem is None:
                return self._enter(SafetyMode.INTERPOLATING, now_s,
                                   'state received: moving to the default pose')
            self.reason = problem
            return None
        if problem is not None:
            return self._enter(SafetyMode.DAMPING, now_s, problem)
        if (self.mode == SafetyMode.INTERPOLATING
                and now_s - self.mode_start_s >= self.config.interpolation_duration_s):
            return self._enter(SafetyMode.POLICY, now_s, 'default pose reached: policy engaged')
        return None

    def fault(self, now_s: float, reason: str) -> Optional[Transition]:
        """Latch a fault found outside the machine (e.g. a non-finite policy action)."""
        if self.mode == SafetyMode.DAMPING:
            return None
        return self._enter(SafetyMode.DAMPING, now_s, reason)

    def engage_estop(self, now_s: float, source: str = 'e-stop') -> Optional[Transition]:
        """Engage the e-stop: damping now, and until reset()."""
        self.estop_active = True
        if self.mode == SafetyMode.DAMPING:
            self.reason = f'e-stop ({source})'
            return None
        return self._enter(SafetyMode.DAMPING, now_s, f'e-stop ({source})')

    def reset(self, now_s: float) -> Optional[Transition]:
        """Release the e-stop and clear a latched fault: back to WAITING (then interpolation)."""
        self.estop_active = False
        if self.mode != SafetyMode.DAMPING:
            return None
        return self._enter(SafetyMode.WAITING, now_s, 'reset: waiting for fresh state')

    def interpolation_fraction(self, now_s: float) -> float:
        """Return progress through INTERPOLATING in [0, 1] (1 outside that mode)."""
        duration = self.config.interpolation_duration_s
        if self.mode != SafetyMode.INTERPOLATING or duration <= 0.0:
            return 1.0
        return min(max((now_s - self.mode_start_s) / duration, 0.0), 1.0)

    @property
    def commands_damping(self) -> bool:
        """Return True in the passive-damping modes (WAITING and DAMPING)."""
        return self.mode in (SafetyMode.WAITING, SafetyMode.DAMPING)
