"""
Online smoothness monitor over a sliding window of actions, with OK/WARN/ERROR levels.

Memory is bounded: a fixed ring buffer of ``window_s * sample_rate_hz`` actions. ``push`` is O(m)
and cheap enough for every control step; ``report`` runs the metrics (metrics.py) on the window
and is meant for the diagnostics rate (about 1 Hz), not every step.
"""

from dataclasses import dataclass, field
import enum
from typing import Dict, Optional, Sequence, Tuple

from lpn_controller import metrics
import numpy as np


class Level(enum.IntEnum):
    """Severity, numbered like diagnostic_msgs/DiagnosticStatus (OK 0, WARN 1, ERROR 2)."""

    OK = 0
    WARN = 1
    ERROR = 2


@dataclass(frozen=True)
class Threshold:
    """WARN at or above ``warn``, ERROR at or above ``error``; None disables that level."""

    warn: Optional[float] = None
    error: Optional[float] = None

    @classmethod
    def from_parameters(cls, warn: float, error: float) -> 'Threshold':
        """Build from ROS parameter values, where 0 (or less) disables a level."""
        return cls(warn if warn > 0 else None, error if error > 0 else None)

    def as_parameters(self) -> Tuple[float, float]:
        """Return (warn, error) as ROS parameter values, 0 for a disabled level."""
        return (self.warn or 0.0, self.error or 0.0)

    def level(self, value: float) -> Level:
        """Return the level of ``value``."""
        if self.error is not None and value >= self.error:
            return Level.ERROR
        if self.warn is not None and value >= self.warn:
            return Level.WARN
        return Level.OK


@dataclass(frozen=True)
class MonitorConfig:
    """
    Window and thresholds; defaults are starting points for 50 Hz joint-offset actions (rad).

    Sm depends on the window length and on amplitude: over an unwindowed FFT, slow motion that
    does not fit the window a whole number of times leaks into every bin, a floor of about
    2 A / (pi N). In a 2 s window at 50 Hz a 2 Hz gait of 0.3 rad that fits exactly scores
    0.0005, but an intended arm swing of amplitude 1 at 0.83 Hz scores 0.010-0.014, more than
    white noise of 0.03 rad (0.003). No fixed Sm threshold tells the two apart, HFR does: Sm is
    reported but not graded by default; set its thresholds per policy from its evaluation.

    ``hfr`` and ``sm`` grade each joint (the mean over joints can only cross a threshold if some
    joint does, and one jittering joint matters even when the mean of 18 looks fine);
    ``action_rate`` grades the overall figure (L2 norm over joints, rad per step). HFR is
    scale-free, so a joint that barely moves reads as high frequency from noise alone: a joint's
    HFR is only graded when its standard deviation over the window is at least ``hfr_min_std``.
    """

    window_s: float = 2.0
    cutoff_hz: float = metrics.DEFAULT_CUTOFF_HZ
    hfr: Threshold = Threshold(warn=0.10, error=0.25)
    sm: Threshold = Threshold(warn=None, error=None)
    action_rate: Threshold = Threshold(warn=0.5, error=1.0)
    hfr_min_std: float = 0.01


@dataclass(frozen=True)
class JointSmoothness:
    """Per-joint figures over the window."""

    hfr: float
    sm: float
    action_rate: float
    level: Level


@dataclass(frozen=True)
class MonitorReport:
    """The window's figures and levels; figures are None until the window is full."""

    level: Level
    message: str
    sample_rate_hz: float
    window_length: int
    samples: int
    hfr: Optional[float] = None
    sm: Optional[float] = None
    action_rate: Optional[float] = None
    per_joint: Dict[str, JointSmoothness] = field(default_factory=dict)
    # Reported, not graded: all joints' power above the cut-off over all their power.
    hfr_power_weighted: Optional[float] = None


class SmoothnessMonitor:
    """Sliding-window smoothness monitor for m-dimensional actions at a fixed sample rate."""

    def __init__(self, joint_names: Sequence[str], sample_rate_hz: float,
                 config: MonitorConfig = MonitorConfig()):
        """Allocate the ring buffer; the window must hold at least 8 samples."""
        self.joint_names: Tuple[str, ...] = tuple(joint_names)
        self.sample_rate_hz = float(sample_rate_hz)
        self.config = config
        self.window_length = int(round(config.window_s * self.sample_rate_hz))
        if self.window_length < 8:
            raise ValueError(f'monitor window of {config.window_s} s at {sample_rate_hz} Hz holds '
                             f'{self.window_length} samples; at least 8 are needed')
        if not 0.0 < config.cutoff_hz < self.sample_rate_hz / 2.0:
            raise ValueError(f'monitor cut-off {config.cutoff_hz} Hz must lie below the Nyquist '
                             f'frequency {self.sample_rate_hz / 2.0} Hz')
        self._buffer = np.zeros((self.window_length, len(self.joint_names)))
        self._next = 0
        self._count = 0

    def reset(self):
        """Forget every sample (e.g. when the policy is (re)engaged)."""
        self._next = 0
        self._count = 0

    def push(self, action: np.ndarray):
        """Add one action sample (length m)."""
        self._buffer[self._next] = action
        self._next = (self._next + 1) % self.window_length
        self._count = min(self._count + 1, self.window_length)

    @property
    def samples(self) -> int:
        """Return how many samples the window holds now."""
        return self._count

    def window(self) -> np.ndarray:
        """Return the samples held, oldest first, shape (samples, m)."""
        if self._count < self.window_length:
            return self._buffer[:self._count].copy()
        return np.roll(self._buffer, -self._next, axis=0)

    def report(self) -> MonitorReport:
        """Compute the figures over the full window and grade them."""
        if self._count < self.window_length:
            return MonitorReport(
                Level.OK, f'filling window ({self._count}/{self.window_length} samples)',
                self.sample_rate_hz, self.window_length, self._count)
        window = self.window()
        config = self.config
        hfr = metrics.high_frequency_ratio(window, self.sample_rate_hz, config.cutoff_hz)
        hfr_weighted = metrics.power_weighted_high_frequency_ratio(window, self.sample_rate_hz,
                                                                   config.cutoff_hz)
        sm = metrics.caps_smoothness(window, self.sample_rate_hz)
        rate = metrics.action_rate(window, self.sample_rate_hz)
        judged_hfr = window.std(axis=0) >= config.hfr_min_std

        per_joint = {}
        flagged = {}
        for index, name in enumerate(self.joint_names):
            reasons = {'sm': (config.sm.level(sm.per_dimension[index]), sm.per_dimension[index])}
            if judged_hfr[index]:
                reasons['hfr'] = (config.hfr.level(hfr.per_dimension[index]),
                                  hfr.per_dimension[index])
            joint_level = max(level for level, _ in reasons.values())
            per_joint[name] = JointSmoothness(
                float(hfr.per_dimension[index]), float(sm.per_dimension[index]),
                float(rate.per_dimension[index]), Level(joint_level))
            flagged[name] = ', '.join(f'{key} {value:.3g}' for key, (level, value)
                                      in reasons.items() if level == joint_level)
        rate_level = config.action_rate.level(rate.value)
        level = max([rate_level] + [joint.level for joint in per_joint.values()])
        if level == Level.OK:
            message = 'smooth'
        else:
            parts = [f'{name} ({flagged[name]})' for name, joint in per_joint.items()
                     if joint.level == level]
            if rate_level == level:
                parts.insert(0, f'action_rate {rate.value:.3g}')
            message = f'{Level(level).name}: ' + '; '.join(parts)
        return MonitorReport(Level(level), message, self.sample_rate_hz, self.window_length,
                             self._count, hfr.value, sm.value, rate.value, per_joint,
                             hfr_weighted.value)
