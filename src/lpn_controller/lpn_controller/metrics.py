"""
Action-smoothness metrics (METHODS.md section 8): the one implementation.

Used by trainer evaluation, the live monitor and bag analysis. Every function takes a signal with
time on axis 0, shape ``(N,)`` or ``(N, m)`` (m action dimensions or joints), computes the metric
per dimension and averages over dimensions (action rate and second difference instead take the
L2 norm over dimensions, as defined). Each returns a :class:`MetricResult` that carries the
sample rate f_s and the window length N with the figure, as every reported figure must.

HFR comes two ways: the mean over joints of each joint's ratio (METHODS.md 8, the paper's) and
the power-weighted ratio (all joints' power above the cut-off over all their power), which does
not let a near-still joint's noise speak for the motion.

Units: HFR is a ratio in [0, 1]. Sm has the signal's units (amplitude times normalised
frequency). Action rate and second difference have the signal's units per control step (rad per
step for joint-target offsets). Jerk is in the position's units per s^3 (rad/s^3).
"""

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np
from scipy import signal as scipy_signal

DEFAULT_CUTOFF_HZ = 10.0
DEFAULT_SEGMENT_LENGTH = 256


@dataclass(frozen=True, eq=False)
class MetricResult:
    """
    One metric figure with everything needed to report it.

    ``value`` is the overall figure; ``per_dimension`` the per-dimension figures, shape (m,).
    ``parameters`` holds metric-specific settings (cut-off, Welch segment length, flags).
    """

    name: str
    value: float
    unit: str
    sample_rate_hz: Optional[float]
    window_length: int
    per_dimension: np.ndarray
    parameters: Dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        """Format as e.g. ``hfr=0.0123 [ratio] (f_s=50 Hz, N=250, cutoff_hz=10.0)``."""
        rate = 'n/a' if self.sample_rate_hz is None else f'{self.sample_rate_hz:g} Hz'
        extra = ''.join(f', {key}={value}' for key, value in self.parameters.items())
        return (f'{self.name}={self.value:.6g} [{self.unit}] '
                f'(f_s={rate}, N={self.window_length}{extra})')


def _as_time_series(values: np.ndarray, minimum_length: int, name: str) -> np.ndarray:
    series = np.asarray(values, dtype=np.float64)
    if series.ndim == 1:
        series = series[:, None]
    if series.ndim != 2:
        raise ValueError(f'{name}: expected shape (N,) or (N, m), got {np.shape(values)}')
    if series.shape[0] < minimum_length:
        raise ValueError(f'{name}: needs at least {minimum_length} samples, got {series.shape[0]}')
    if series.shape[1] < 1:
        raise ValueError(f'{name}: needs at least one dimension')
    return series


def _check_rate(sample_rate_hz: float) -> float:
    if not sample_rate_hz > 0.0 or not np.isfinite(sample_rate_hz):
        raise ValueError(f'sample rate must be positive and finite, got {sample_rate_hz}')
    return float(sample_rate_hz)


def power_spectral_density(actions: np.ndarray, sample_rate_hz: float,
                           segment_length: Optional[int] = None):
    """
    Return (frequencies (F,), power (F, m)): the Welch PSD of the mean-removed actions.

    Hann window, ``segment_length`` samples per segment (default min(N, 256)), half overlap,
    density scaling: the spectrum HFR sums, for plots that must show what HFR measured.
    """
    series = _as_time_series(actions, 4, 'power_spectral_density')
    rate = _check_rate(sample_rate_hz)
    length = series.shape[0]
    segment = min(length, DEFAULT_SEGMENT_LENGTH) if segment_length is None else segment_length
    if not 4 <= segment <= length:
        raise ValueError(f'segment_length must lie in [4, N={length}], got {segment}')
    return scipy_signal.welch(series - series.mean(axis=0), fs=rate, window='hann',
                              nperseg=segment, detrend=False, scaling='density', axis=0)


def _band_powers(series: np.ndarray, sample_rate_hz: float, cutoff_hz: float,
                 segment_length: Optional[int], name: str):
    """Return (power above the cut-off, power above 0 Hz) per dimension and the segment used."""
    rate = _check_rate(sample_rate_hz)
    if not 0.0 < cutoff_hz < rate / 2.0:
        raise ValueError(f'{name}: cut-off {cutoff_hz} Hz must lie between 0 and the Nyquist '
                         f'frequency {rate / 2.0} Hz')
    length = series.shape[0]
    segment = min(length, DEFAULT_SEGMENT_LENGTH) if segment_length is None else segment_length
    frequencies, power = power_spectral_density(series, rate, segment)
    return (power[frequencies > cutoff_hz].sum(axis=0), power[frequencies > 0.0].sum(axis=0),
            segment)


def _power_floor(series: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    # Relative floor: a constant's PSD is round-off, which must not read as high frequency.
    scale = np.maximum(np.abs(series).max(axis=0), 1e-300)
    return 1e-24 * scale ** 2 * series.shape[0] / sample_rate_hz


def high_frequency_ratio(actions: np.ndarray, sample_rate_hz: float,
                         cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                         segment_length: Optional[int] = None) -> MetricResult:
    """
    Return HFR, the fraction of signal power above ``cutoff_hz`` (the mean over dimensions).

    Per dimension: the mean is removed, the Welch PSD P(f) is taken with a Hann window
    (``segment_length`` samples per segment, default min(N, 256), half overlap), and
    HFR = sum_{f > f_c} P(f) / sum_{f > 0} P(f). A dimension with no power (a constant) has HFR 0.
    The figure is the mean over dimensions, so a near-still dimension weighs as much as one
    that drives the motion; power_weighted_high_frequency_ratio weighs each by its power.
    """
    series = _as_time_series(actions, 4, 'high_frequency_ratio')
    high, total, segment = _band_powers(series, sample_rate_hz, cutoff_hz, segment_length,
                                        'high_frequency_ratio')
    has_power = total > _power_floor(series, sample_rate_hz)
    per_dimension = np.where(has_power, high / np.where(has_power, total, 1.0), 0.0)
    return MetricResult('hfr', float(per_dimension.mean()), 'ratio', float(sample_rate_hz),
                        series.shape[0], per_dimension,
                        {'cutoff_hz': float(cutoff_hz), 'segment_length': int(segment)})


def power_weighted_high_frequency_ratio(actions: np.ndarray, sample_rate_hz: float,
                                        cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                                        segment_length: Optional[int] = None) -> MetricResult:
    """
    Return the power-weighted HFR: all power above ``cutoff_hz`` over all power, every dimension.

    The same Welch PSD as high_frequency_ratio, summed over dimensions before the ratio:
    sum_j sum_{f > f_c} P_j(f) / sum_j sum_{f > 0} P_j(f). Each dimension counts by its power, so
    a joint that stands nearly still (whose tiny variation may be mostly high frequency) adds
    little, and the figure is the share of the motion's power that is high frequency. The
    dimensions must share units (joint-target offsets in rad). ``per_dimension`` holds each
    dimension's high-frequency power over the total power of all dimensions: the shares sum to
    the figure. A signal with no power at all has 0.
    """
    series = _as_time_series(actions, 4, 'power_weighted_high_frequency_ratio')
    high, total, segment = _band_powers(series, sample_rate_hz, cutoff_hz, segment_length,
                                        'power_weighted_high_frequency_ratio')
    has_power = total > _power_floor(series, sample_rate_hz)
    high, all_power = np.where(has_power, high, 0.0), float(np.where(has_power, total, 0.0).sum())
    per_dimension = high / all_power if all_power > 0.0 else np.zeros_like(high)
    return MetricResult('hfr_power_weighted', float(per_dimension.sum()), 'ratio',
                        float(sample_rate_hz), series.shape[0], per_dimension,
                        {'cutoff_hz': float(cutoff_hz), 'segment_length': int(segment)})


def caps_smoothness(actions: np.ndarray, sample_rate_hz: float,
                    pave_normalisation: bool = False) -> MetricResult:
    """
    Return the CAPS smoothness Sm (lower is smoother).

    Per dimension, with X = FFT of the N samples, n = N // 2 and i = 1..n:
    M_i = 2 |X_i| / N, f_i = i f_s / N, Sm = (2 / (n f_s)) sum_i M_i f_i; then the mean over
    dimensions. With ``pave_normalisation`` the figure reproduces PAVE's code instead:
    M_i = |X_i| and f_s = 1 (f_i = i / N), which is our Sm times N / 2; compare with PAVE's
    published numbers only through this flag.
    """
    series = _as_time_series(actions, 4, 'caps_smoothness')
    rate = _check_rate(sample_rate_hz)
    length = series.shape[0]
    half = length // 2
    amplitudes = np.abs(np.fft.rfft(series, axis=0)[1:half + 1])
    if pave_normalisation:
        rate = 1.0
    else:
        amplitudes = 2.0 * amplitudes / length
    frequencies = np.arange(1, half + 1, dtype=np.float64) * rate / length
    per_dimension = (2.0 / (half * rate)) * (amplitudes * frequencies[:, None]).sum(axis=0)
    unit = 'PAVE units (raw |FFT|, f_s = 1)' if pave_normalisation else 'signal units'
    return MetricResult('sm', float(per_dimension.mean()), unit, float(sample_rate_hz), length,
                        per_dimension, {'pave_normalisation': bool(pave_normalisation)})


def action_rate(actions: np.ndarray, sample_rate_hz: Optional[float] = None) -> MetricResult:
    """
    Return the mean over steps of ||a_t - a_{t-1}||_2 (signal units per step).

    ``per_dimension`` holds mean |a_t,j - a_{t-1},j| per dimension. ``sample_rate_hz`` is only
    recorded with the figure.
    """
    series = _as_time_series(actions, 2, 'action_rate')
    steps = np.diff(series, axis=0)
    value = float(np.linalg.norm(steps, axis=1).mean())
    return MetricResult('action_rate', value, 'signal units per step', sample_rate_hz,
                        series.shape[0], np.abs(steps).mean(axis=0))


def second_difference(actions: np.ndarray,
                      sample_rate_hz: Optional[float] = None) -> MetricResult:
    """
    Return the mean over steps of ||a_t - 2 a_{t-1} + a_{t-2}||_2 (signal units per step^2).

    ``per_dimension`` holds the mean absolute second difference per dimension.
    """
    series = _as_time_series(actions, 3, 'second_difference')
    second = np.diff(series, n=2, axis=0)
    value = float(np.linalg.norm(second, axis=1).mean())
    return MetricResult('second_difference', value, 'signal units per step^2', sample_rate_hz,
                        series.shape[0], np.abs(second).mean(axis=0))


def jerk(joint_positions: np.ndarray, sample_rate_hz: float) -> MetricResult:
    """
    Return the RMS jerk of measured joint positions, rad/s^3 for positions in rad.

    The third time derivative is the third finite difference times f_s^3; RMS over time per
    joint, then the mean over joints.
    """
    series = _as_time_series(joint_positions, 4, 'jerk')
    rate = _check_rate(sample_rate_hz)
    third = np.diff(series, n=3, axis=0) * rate ** 3
    per_dimension = np.sqrt(np.mean(third ** 2, axis=0))
    return MetricResult('jerk', float(per_dimension.mean()), 'position units/s^3', rate,
                        series.shape[0], per_dimension)


def smoothness_report(actions: np.ndarray, sample_rate_hz: float,
                      joint_positions: Optional[np.ndarray] = None,
                      cutoff_hz: float = DEFAULT_CUTOFF_HZ,
                      pave_normalisation: bool = False) -> Dict[str, MetricResult]:
    """Return every action metric (and jerk when joint positions are given), keyed by name."""
    report = {
        'hfr': high_frequency_ratio(actions, sample_rate_hz, cutoff_hz),
        'hfr_power_weighted': power_weighted_high_frequency_ratio(actions, sample_rate_hz,
                                                                  cutoff_hz),
        'sm': caps_smoothness(actions, sample_rate_hz, pave_normalisation),
        'action_rate': action_rate(actions, sample_rate_hz),
        'second_difference': second_difference(actions, sample_rate_hz),
    }
    if joint_positions is not None:
        report['jerk'] = jerk(joint_positions, sample_rate_hz)
    return report
