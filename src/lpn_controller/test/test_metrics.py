"""Smoothness metrics on synthetic signals with known answers."""

import math

from lpn_controller import metrics
import numpy as np
import pytest

RATE = 50.0


def sine(frequency_hz, amplitude=1.0, samples=1000, rate=RATE, phase=0.3):
    time = np.arange(samples) / rate
    return amplitude * np.sin(2 * math.pi * frequency_hz * time + phase)


def test_hfr_pure_sines_below_and_above_cutoff():
    assert metrics.high_frequency_ratio(sine(2.0), RATE).value < 1e-4
    assert metrics.high_frequency_ratio(sine(15.0), RATE).value > 1.0 - 1e-4


def test_hfr_of_two_tones_is_their_power_ratio():
    signal = sine(2.0, amplitude=1.0) + sine(15.0, amplitude=0.5)
    result = metrics.high_frequency_ratio(signal, RATE)
    assert result.value == pytest.approx(0.25 / 1.25, abs=1e-3)


def test_hfr_white_noise_is_the_band_fraction():
    noise = np.random.default_rng(0).normal(size=(20000, 3))
    result = metrics.high_frequency_ratio(noise, RATE)
    # Flat spectrum: (25 - 10) / 25 of the power lies above 10 Hz at f_s = 50 Hz.
    assert result.value == pytest.approx(0.6, abs=0.02)
    assert result.per_dimension.shape == (3,)


def test_hfr_constant_is_zero_and_mean_is_removed():
    assert metrics.high_frequency_ratio(np.full(200, 0.3), RATE).value == 0.0
    offset_sine = 5.0 + sine(2.0, samples=200)
    assert metrics.high_frequency_ratio(offset_sine, RATE).value < 1e-3


def test_hfr_averages_dimensions_and_reports_settings():
    signal = np.stack([sine(2.0, samples=300), sine(20.0, samples=300)], axis=1)
    result = metrics.high_frequency_ratio(signal, RATE, cutoff_hz=10.0)
    assert result.value == pytest.approx(0.5, abs=1e-3)
    np.testing.assert_allclose(result.per_dimension, [0.0, 1.0], atol=1e-3)
    assert result.sample_rate_hz == RATE
    assert result.window_length == 300
    assert result.parameters == {'cutoff_hz': 10.0, 'segment_length': 256}
    assert 'f_s=50 Hz' in str(result) and 'N=300' in str(result)


def test_hfr_cutoff_follows_the_argument():
    signal = sine(8.0)
    assert metrics.high_frequency_ratio(signal, RATE, cutoff_hz=5.0).value > 0.999
    assert metrics.high_frequency_ratio(signal, RATE, cutoff_hz=10.0).value < 1e-3


def test_power_weighted_hfr_is_not_dominated_by_a_still_joint_with_ripple():
    # A joint that drives the motion (0.5 rad at 2 Hz) and one that stands still but for a 1 mrad
    # ripple at 20 Hz: per joint, the still one is all high frequency, so the per-joint mean
    # reads 50 %; by power it is (1e-3 / 0.5)^2 = 4e-6 of the motion.
    signal = np.stack([sine(2.0, amplitude=0.5), sine(20.0, amplitude=1e-3)], axis=1)
    mean = metrics.high_frequency_ratio(signal, RATE)
    weighted = metrics.power_weighted_high_frequency_ratio(signal, RATE)
    assert mean.value == pytest.approx(0.5, abs=1e-3)
    assert weighted.value == pytest.approx(4e-6, rel=0.05)
    assert weighted.name == 'hfr_power_weighted' and weighted.unit == 'ratio'
    assert weighted.parameters == {'cutoff_hz': 10.0, 'segment_length': 256}
    # Each joint's share of the high-frequency power over all the power: they sum to the figure.
    assert weighted.per_dimension.sum() == pytest.approx(weighted.value)
    assert weighted.per_dimension[0] < 1e-3 * weighted.per_dimension[1]


def test_power_weighted_hfr_is_the_pooled_power_ratio():
    # Equal power on every joint: both ways agree. Unequal: the weighted one is the pooled ratio.
    same = np.stack([sine(2.0) + sine(15.0, amplitude=0.5)] * 3, axis=1)
    assert metrics.power_weighted_high_frequency_ratio(same, RATE).value == pytest.approx(
        metrics.high_frequency_ratio(same, RATE).value, rel=1e-9)
    unequal = np.stack([sine(2.0, amplitude=1.0), sine(15.0, amplitude=0.5)], axis=1)
    assert metrics.power_weighted_high_frequency_ratio(unequal, RATE).value == pytest.approx(
        0.25 / 1.25, abs=1e-3)
    assert metrics.power_weighted_high_frequency_ratio(np.full((200, 2), 0.3), RATE).value == 0.0
    with pytest.raises(ValueError, match='Nyquist'):
        metrics.power_weighted_high_frequency_ratio(sine(1.0), 15.0, cutoff_hz=10.0)


def test_sm_of_an_on_bin_sine():
    samples, frequency, amplitude = 100, 5.0, 0.7  # 5 Hz is FFT bin 10 of 100 samples at 50 Hz
    result = metrics.caps_smoothness(sine(frequency, amplitude, samples), RATE)
    half = samples // 2
    assert result.value == pytest.approx(2.0 / (half * RATE) * amplitude * frequency, rel=1e-9)
    assert result.window_length == samples and result.sample_rate_hz == RATE


def test_sm_constant_is_zero_and_scales_with_amplitude_and_frequency():
    assert metrics.caps_smoothness(np.full(64, 2.0), RATE).value == pytest.approx(0.0, abs=1e-15)
    slow = metrics.caps_smoothness(sine(2.0, samples=500), RATE).value
    assert metrics.caps_smoothness(sine(2.0, 3.0, samples=500), RATE).value == pytest.approx(
        3.0 * slow)
    assert metrics.caps_smoothness(sine(8.0, samples=500), RATE).value == pytest.approx(
        4.0 * slow)


def test_sm_pave_normalisation_is_n_over_2_times_ours():
    signal = np.random.default_rng(1).normal(size=(128, 4))
    ours = metrics.caps_smoothness(signal, RATE)
    pave = metrics.caps_smoothness(signal, RATE, pave_normalisation=True)
    assert pave.value == pytest.approx(ours.value * 128 / 2, rel=1e-12)
    assert pave.parameters == {'pave_normalisation': True}
    # With f_s = 1 PAVE's figure does not depend on the control rate.
    assert metrics.caps_smoothness(signal, 10.0, pave_normalisation=True).value == pytest.approx(
        pave.value)


def test_action_rate_and_second_difference():
    time = np.arange(10.0)[:, None]
    ramp = time * np.array([[0.3, -0.4]])
    assert metrics.action_rate(ramp).value == pytest.approx(0.5)
    np.testing.assert_allclose(metrics.action_rate(ramp).per_dimension, [0.3, 0.4])
    assert metrics.second_difference(ramp).value == pytest.approx(0.0)
    alternating = np.array([1.0, -1.0] * 5)
    assert metrics.action_rate(alternating, RATE).value == pytest.approx(2.0)
    assert metrics.second_difference(alternating).value == pytest.approx(4.0)
    assert metrics.action_rate(alternating, RATE).sample_rate_hz == RATE


def test_jerk_of_a_cubic_and_a_sine():
    time = np.arange(100) / RATE
    cubic = np.stack([0.5 * time ** 3, -2.0 * time ** 3], axis=1)
    result = metrics.jerk(cubic, RATE)
    np.testing.assert_allclose(result.per_dimension, [3.0, 12.0], rtol=1e-6)
    assert result.value == pytest.approx(7.5, rel=1e-6)
    omega = 2 * math.pi * 1.5
    rate = 500.0
    wave = sine(1.5, amplitude=0.2, samples=int(rate * 4), rate=rate)
    assert metrics.jerk(wave, rate).value == pytest.approx(0.2 * omega ** 3 / math.sqrt(2),
                                                           rel=0.01)


def test_smoothness_report_collects_everything():
    actions = np.random.default_rng(2).normal(size=(100, 3))
    report = metrics.smoothness_report(actions, RATE, joint_positions=np.cumsum(actions, axis=0))
    assert set(report) == {'hfr', 'hfr_power_weighted', 'sm', 'action_rate', 'second_difference',
                           'jerk'}
    assert all(result.window_length == 100 for result in report.values())


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match='Nyquist'):
        metrics.high_frequency_ratio(sine(1.0), 15.0, cutoff_hz=10.0)
    with pytest.raises(ValueError, match='at least 4 samples'):
        metrics.caps_smoothness(np.zeros(3), RATE)
    with pytest.raises(ValueError, match='shape'):
        metrics.action_rate(np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match='sample rate'):
        metrics.jerk(np.zeros(10), 0.0)


def test_power_spectral_density_peaks_at_the_signal_frequency():
    rate = 50.0
    t = np.arange(500) / rate
    actions = np.stack([np.sin(2 * np.pi * 3.0 * t), np.sin(2 * np.pi * 15.0 * t)], axis=1)
    frequencies, power = metrics.power_spectral_density(actions, rate)
    assert power.shape == (len(frequencies), 2)
    assert frequencies[np.argmax(power[:, 0])] == pytest.approx(3.0, abs=0.2)
    assert frequencies[np.argmax(power[:, 1])] == pytest.approx(15.0, abs=0.2)
