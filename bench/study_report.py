"""
Tables and plots of the smoothness study (bench/smoothness_study.py): aggregate, plot, write.

The markdown goes between ``<!-- study:NAME:begin -->`` and ``<!-- study:NAME:end -->`` of the
results file (NAME from --section, so one file can hold several budgets), and the discussion
written around the tables survives a rerun of the study.
"""

from pathlib import Path
import re

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402,I100  (after choosing the headless backend)

# column: (header, how to read it from an evaluation or run row, digits)
COLUMNS = {
    'return': ('return', lambda row: row['evaluation']['return'], 1),
    'joint_rmse': ('joint RMSE (rad)', lambda row: row['evaluation']['joint_rmse_rad'], 3),
    'survival': ('survival', lambda row: row['evaluation']['survival_rate'], 2),
    'forward_speed': ('fwd speed (m/s)',
                      lambda row: row['evaluation']['forward_speed_m_s'], 2),
    'hfr': ('HFR > 10 Hz (%)', lambda row: _metric(row, 'hfr', 100.0), 2),
    'sm': ('Sm', lambda row: _metric(row, 'sm'), 4),
    'action_rate': ('action rate', lambda row: _metric(row, 'action_rate'), 4),
    'jerk': ('jerk (rad/s^3)', lambda row: _metric(row, 'jerk'), 0),
    'iteration_s': ('s / iteration', lambda row: row['iteration_s'], 2),
    'peak_rss_mib': ('peak MiB', lambda row: row['peak_rss_mib'], 0),
}


def markers(section):
    """Return the (begin, end) comment lines around one study section."""
    return f'<!-- study:{section}:begin -->', f'<!-- study:{section}:end -->'


def _metric(row, name, scale=1.0):
    value = row['evaluation']['smoothness'][name]['value']
    return np.nan if value is None else scale * value


def aggregate(rows, methods):
    """Return {task: {method: {column: (mean, std, seeds)}}} over the seeds of each method."""
    summary = {}
    for task in dict.fromkeys(row['task'] for row in rows):
        summary[task] = {}
        for method in methods:
            chosen = [row for row in rows if row['task'] == task and row['method'] == method]
            if not chosen:
                continue
            figures = {}
            for column, (_, read, _) in COLUMNS.items():
                values = np.array([read(row) for row in chosen], dtype=float)
                finite = values[np.isfinite(values)]
                figures[column] = (float(finite.mean()) if len(finite) else None,
                                   float(finite.std()) if len(finite) else None, len(finite))
            summary[task][method] = figures
    return summary


def _label(methods, method):
    return methods[method][0] if method in methods else method


def plot_spectra(rows, methods, path):
    """Plot the joint-averaged action PSD of each method (mean over seeds); returns the path."""
    figure, axes = plt.subplots(figsize=(9, 5))
    styles = ['-', '--', ':', '-.']
    for index, method in enumerate(dict.fromkeys(row['method'] for row in rows)):
        spectra = [row['spectrum'] for row in rows if row['method'] == method
                   and len(row['spectrum'][0])]
        if not spectra:
            continue
        frequencies = spectra[0][0]
        power = np.mean([p for _, p in spectra], axis=0)
        axes.semilogy(frequencies[1:], power[1:], styles[index % len(styles)],
                      label=_label(methods, method), color=plt.cm.tab10(index % 10))
    axes.axvline(10.0, color='grey', linewidth=0.8)
    axes.text(10.2, axes.get_ylim()[1], 'HFR cut-off 10 Hz', va='top', fontsize=8)
    axes.set_xlabel('frequency (Hz)')
    axes.set_ylabel('action PSD (units^2 / Hz), mean over joints')
    axes.set_title(f"Action power spectra, '{rows[0]['task']}' (deterministic rollouts)")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7)
    axes.grid(True, which='both', alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)


def plot_training_curves(rows, methods, path):
    """Plot mean training episode return against seconds of training; returns the path."""
    figure, axes = plt.subplots(figsize=(9, 5))
    for index, method in enumerate(dict.fromkeys(row['method'] for row in rows)):
        curves = [row['curve'] for row in rows if row['method'] == method
                  and len(row['curve'][0])]
        if not curves:
            continue
        # Seeds log at their own times: average on a common grid up to the shortest run.
        end = min(seconds[-1] for seconds, _ in curves)
        grid = np.linspace(0.0, end, 100)
        mean = np.mean([np.interp(grid, seconds, values) for seconds, values in curves], axis=0)
        axes.plot(grid, mean, label=_label(methods, method), color=plt.cm.tab10(index % 10),
                  linestyle=['-', '--', ':', '-.'][index % 4])
    axes.set_xlabel('training wall-clock (s, rollouts + updates)')
    axes.set_ylabel('mean episode return (training, stochastic)')
    axes.set_title(f"Return against wall-clock time, '{rows[0]['task']}'")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)


def _cell(figure, digits):
    mean, std, count = figure
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f} ± {std:.{digits}f}' if count > 1 else f'{mean:.{digits}f}'


def tables_markdown(summary, setup, plots, methods, relative_to, section='main'):
    """Return the study section: setup, one table per task, the plots."""
    begin, end = markers(section)
    lines = [begin, '',
             f"Budget per run: {setup['iterations']} PPO iterations x {setup['num_envs']} envs "
             f"x {setup['steps_per_iteration'] // setup['num_envs']} steps = "
             f"{setup['env_steps']:,} env steps; seeds {setup['seeds']}; "
             f"evaluation {setup['eval_episodes']} deterministic episodes of "
             f"{setup['eval_seconds']:g} s (f_s = 50 Hz, N = "
             f"{int(setup['eval_seconds'] * 50)} per full episode). Base config "
             f"`{setup['base_config']}`. Machine: {setup['machine']}. "
             f"Training time of all runs: {setup['train_wall_s'] / 60:.0f} min."
             + _offpolicy_budget(setup), '',
             'Cells are mean ± std over seeds. HFR, Sm, action rate are on the commanded '
             'action (after the low-pass filter where there is one); jerk on measured joint '
             'positions; s / iteration and peak MiB are of the training process.', '']
    for task, by_method in summary.items():
        lines += [f'### {task}', '',
                  '| method | ' + ' | '.join(header for header, _, _ in COLUMNS.values()) + ' |',
                  '|---|' + '---|' * len(COLUMNS)]
        for method, figures in by_method.items():
            cells = [_cell(figures[column], digits)
                     for column, (_, _, digits) in COLUMNS.items()]
            lines.append(f'| {_label(methods, method)} | ' + ' | '.join(cells) + ' |')
        spectra, curves = plots.get(task, (None, None))
        for title, path in (('Action power spectra', spectra),
                            ('Return against wall-clock time', curves)):
            if path is not None:
                lines += ['', f'![{title}, {task}]({_relative(path, relative_to)})']
        lines.append('')
    lines.append(end)
    return '\n'.join(lines)


def _offpolicy_budget(setup):
    offpolicy = setup.get('offpolicy')
    if not offpolicy:
        return ''
    configs = ', '.join(f'`{config}`' for config in offpolicy['configs'].values())
    return (f" Off-policy runs: {offpolicy['steps']:,} env transitions each, one update per "
            f'transition, from {configs}; their s / iteration is the time of as many '
            'transitions as one PPO iteration.')


def _relative(path, relative_to):
    try:
        return Path(path).resolve().relative_to(Path(relative_to).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def replace_section(results_path, begin, end, text_of_section, heading):
    """
    Put ``text_of_section`` (which starts with ``begin`` and ends with ``end``) into a file.

    The old text between the markers is replaced and everything around it kept; without the
    markers the section is appended (after ``heading`` in a new file). Returns the path.
    """
    results_path = Path(results_path)
    text = results_path.read_text() if results_path.is_file() else heading
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + '.*?' + re.escape(end), lambda _: text_of_section,
                      text, flags=re.S)
    else:
        text = text.rstrip('\n') + '\n\n' + text_of_section + '\n'
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(text)
    return results_path


def write_results(results_path, summary, setup, plots, methods, section='main'):
    """Rewrite one study section of ``results_path`` (creating the file if needed)."""
    text_of_section = tables_markdown(summary, setup, plots, methods, Path(results_path).parent,
                                      section)
    return replace_section(results_path, *markers(section), text_of_section,
                           '# Results\n\n## Smoothness baselines (bench/smoothness_study.py)\n\n')
