"""
PNG plots of bag analysis (:mod:`lpn_controller.analyze`): spectra, spectrogram, comparison.

Works on the resampled actions of a ``BagAnalysis`` (label, sample_rate_hz, cutoff_hz, names,
actions, groups). The power spectra are Welch estimates with the settings HFR uses (mean
removed, Hann window, min(N, 256)-sample segments, half overlap), so what the plots show above
the cut-off line is what HFR counts. Figures are drawn on matplotlib's Agg canvas, without
pyplot, so nothing needs a display.
"""

from pathlib import Path
import re
from typing import Dict, Sequence

from lpn_controller.metrics import power_spectral_density
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
from scipy import signal as scipy_signal

SPECTROGRAM_SEGMENT = 64  # samples per spectrogram column: 1.28 s at 50 Hz
POWER_FLOOR = 1e-16


def file_stem(label: str) -> str:
    """Return ``label`` made safe for a file name."""
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', label).strip('_') or 'bag'


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=100)
    return path


def _cutoff_line(axes, cutoff_hz, vertical=True):
    if vertical:
        axes.axvline(cutoff_hz, color='k', linestyle='--', linewidth=0.8,
                     label=f'cut-off {cutoff_hz:g} Hz')
    else:
        axes.axhline(cutoff_hz, color='w', linestyle='--', linewidth=0.8)


def _floor(axes, power):
    # Eight decades below the peak: a still joint's zero power must not squash the rest.
    peak = float(np.max(power, initial=0.0))
    if peak > 0.0:
        axes.set_ylim(bottom=max(peak * 1e-8, POWER_FLOOR))


def _title(analysis) -> str:
    return (f'{analysis.label}: f_s = {analysis.sample_rate_hz:.4g} Hz, '
            f'N = {len(analysis.actions)}')


def plot_spectra(analysis, path: Path) -> Path:
    """Plot the power spectrum of every joint, one panel per joint group."""
    frequencies, power = power_spectral_density(analysis.actions, analysis.sample_rate_hz)
    groups = analysis.groups
    figure = Figure(figsize=(6.0 * len(groups), 4.5), layout='constrained')
    for column, (group, indices) in enumerate(groups.items()):
        axes = figure.add_subplot(1, len(groups), column + 1)
        for index in indices:
            axes.semilogy(frequencies[1:], np.maximum(power[1:, index], POWER_FLOOR),
                          linewidth=0.9, label=analysis.names[index])
        _cutoff_line(axes, analysis.cutoff_hz)
        _floor(axes, power[1:, indices])
        axes.set_title(f'{group} ({len(indices)} joints)')
        axes.set_xlabel('frequency (Hz)')
        axes.set_ylabel('PSD (action units$^2$/Hz)')
        axes.grid(True, which='both', alpha=0.3)
        axes.legend(fontsize=6, ncol=2)
    figure.suptitle(f'Action power spectra, {_title(analysis)}')
    return _save(figure, path)


def plot_spectrogram(analysis, path: Path) -> Path:
    """Plot the mean power spectrogram of each joint group over time (dB)."""
    segment = min(len(analysis.actions), SPECTROGRAM_SEGMENT)
    frequencies, times, power = scipy_signal.spectrogram(
        analysis.actions.T, fs=analysis.sample_rate_hz, window='hann', nperseg=segment,
        noverlap=segment // 2, detrend='constant', scaling='density', axis=-1)
    groups = analysis.groups
    figure = Figure(figsize=(10.0, 3.0 * len(groups)), layout='constrained')
    for row, (group, indices) in enumerate(groups.items()):
        axes = figure.add_subplot(len(groups), 1, row + 1)
        decibels = 10.0 * np.log10(np.maximum(power[indices].mean(axis=0), POWER_FLOOR))
        mesh = axes.pcolormesh(times, frequencies, decibels, shading='auto', rasterized=True,
                               vmin=max(decibels.max() - 80.0, decibels.min()))
        _cutoff_line(axes, analysis.cutoff_hz, vertical=False)
        axes.set_ylabel(f'{group}\nfrequency (Hz)')
        figure.colorbar(mesh, ax=axes, label='dB')
    axes.set_xlabel(f'time since the first action (s); {segment}-sample Hann segments')
    figure.suptitle(f'Action spectrogram, {_title(analysis)}; dashed: cut-off '
                    f'{analysis.cutoff_hz:g} Hz')
    return _save(figure, path)


def plot_bag(analysis, output: Path) -> Dict[str, str]:
    """Write one bag's spectra and spectrogram PNGs; return {kind: path}."""
    stem = file_stem(analysis.label)
    return {'spectra': str(plot_spectra(analysis, output / f'{stem}_spectra.png')),
            'spectrogram': str(plot_spectrogram(analysis, output / f'{stem}_spectrogram.png'))}


def plot_comparison(analyses: Sequence, output: Path) -> Path:
    """Plot several bags side by side: mean spectrum per joint group, and HFR per joint."""
    groups = list(dict.fromkeys(group for analysis in analyses for group in analysis.groups))
    figure = Figure(figsize=(5.5 * (len(groups) + 1), 4.5), layout='constrained')
    for column, group in enumerate(groups):
        axes = figure.add_subplot(1, len(groups) + 1, column + 1)
        for analysis in analyses:
            if group not in analysis.groups:
                continue
            frequencies, power = power_spectral_density(analysis.actions, analysis.sample_rate_hz)
            mean = power[1:, analysis.groups[group]].mean(axis=1)
            axes.semilogy(frequencies[1:], np.maximum(mean, POWER_FLOOR), linewidth=1.2,
                          label=f'{analysis.label} (N = {len(analysis.actions)})')
        _cutoff_line(axes, analyses[0].cutoff_hz)
        axes.set_title(f'{group}: mean power spectrum')
        axes.set_xlabel('frequency (Hz)')
        axes.set_ylabel('PSD (action units$^2$/Hz)')
        axes.grid(True, which='both', alpha=0.3)
        axes.legend(fontsize=7)
    axes = figure.add_subplot(1, len(groups) + 1, len(groups) + 1)
    names = list(dict.fromkeys(name for analysis in analyses for name in analysis.names))
    width = 0.8 / len(analyses)
    for offset, analysis in enumerate(analyses):
        per_joint = analysis.report['metrics']['hfr']['per_joint']
        values = [max(per_joint.get(name, np.nan), 1e-6) for name in names]
        axes.bar(np.arange(len(names)) + offset * width, values, width, label=analysis.label)
    axes.set_yscale('log')
    axes.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=90, fontsize=6)
    axes.set_ylabel(f'HFR (power fraction above {analyses[0].cutoff_hz:g} Hz)')
    axes.set_title('HFR per joint')
    axes.legend(fontsize=7)
    figure.suptitle('Comparison: ' + ', '.join(
        f'{a.label} (f_s = {a.sample_rate_hz:.4g} Hz)' for a in analyses))
    return _save(figure, output / 'comparison.png')
