"""
The smoothness study's report, rebuilt from whatever run records exist (study.py writes them).

Per task: a table of each method at its target (mean ± std over the seeds that reached it; how
many did), a table of the runs that did not reach it (their figures at the cap and the targets
missed), a Pareto plot (joint RMSE against HFR, one point per run, at the target or else at the
cap), a time-to-target chart and learning curves against training time. Writes
``<out>/report/report.md``, ``summary.json`` and the PNGs; with ``results`` also the tables
between ``<!-- study:SECTION:begin -->`` and ``<!-- study:SECTION:end -->`` of that markdown file
(text around the markers is kept).

Methods are ranked by the power-weighted HFR at the target (all joints' power above 10 Hz over
all their power): it measures how much of the motion the robot performs is high frequency,
whereas the per-joint mean (METHODS.md 8, the paper's) lets a joint that barely moves, whose
small variation is mostly noise, count as much as the joints that carry the gait. Both are shown.
"""

import json
from pathlib import Path
import re

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402,I100  (after choosing the headless backend)

# column: (header, read from a record, digits); 'at target' figures come from the first
# evaluation that met the targets.
COLUMNS = {
    'time_to_target_s': ('time to target (s)', lambda r: r['time_to_target_s'], 0),
    'env_steps_to_target': ('env steps to target',
                            lambda r: r['env_steps_to_target'], 0),
    'joint_rmse_rad': ('joint RMSE (rad)', lambda r: _at_target(r, 'joint_rmse_rad'), 3),
    'forward_speed_m_s': ('fwd (m/s)', lambda r: _at_target(r, 'forward_speed_m_s'), 2),
    'hop_flight_time_s': ('flight (s)', lambda r: _at_target(r, 'hop_flight_time_s'), 3),
    'hop_apex_error_max_m': ('apex off (cm)',
                             lambda r: _at_target(r, 'hop_apex_error_max_m', 100.0), 1),
    'hfr_power_weighted': ('HFR pw (%)',
                           lambda r: _at_target(r, 'hfr_power_weighted', 100.0), 2),
    'hfr': ('HFR mean (%)', lambda r: _at_target(r, 'hfr', 100.0), 2),
    'sm': ('Sm', lambda r: _at_target(r, 'sm'), 4),
    'action_rate': ('action rate', lambda r: _at_target(r, 'action_rate'), 4),
    'jerk': ('jerk (rad/s^3)', lambda r: _at_target(r, 'jerk'), 0),
    's_per_iteration': ('s / iteration', lambda r: r['s_per_iteration'], 2),
    'peak_rss_mib': ('peak MiB', lambda r: r['peak_rss_mib'], 0),
}
RANK_BY = 'hfr_power_weighted'
# The world figures a task's table shows: a hop's flight and apex, a trot's forward speed.
TASK_COLUMNS = {'hop': ('hop_flight_time_s', 'hop_apex_error_max_m')}
WORLD_COLUMNS = ('forward_speed_m_s', 'hop_flight_time_s', 'hop_apex_error_max_m')


def task_columns(task):
    """Return the COLUMNS keys of ``task``'s table, in order."""
    world = TASK_COLUMNS.get(task, ('forward_speed_m_s',))
    return [column for column in COLUMNS if column not in WORLD_COLUMNS or column in world]


def _at_target(record, name, scale=1.0):
    figures = record.get('figures_at_target') or {}
    value = figures.get(name)
    return None if value is None else scale * value


def load_records(results_dir):
    """Return every run record under ``results_dir`` (unreadable files are named and skipped)."""
    records = []
    for path in sorted(Path(results_dir).glob('*/*/seed*.json')):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            print(f'study_report: skipping {path}: {error}')
            continue
        if record.get('format') == 'smoothness-study-run':
            records.append(record)
    return records


def _statistics(values):
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not len(finite):
        return None, None, 0
    return float(finite.mean()), float(finite.std()), len(finite)


def summarise(records):
    """Return {task: {method: {'label', 'runs', 'reached', column: (mean, std, n)}}}."""
    summary = {}
    for task in dict.fromkeys(record['task'] for record in records):
        rows = {}
        for method in dict.fromkeys(r['method'] for r in records if r['task'] == task):
            chosen = [r for r in records if r['task'] == task and r['method'] == method]
            reached = [r for r in chosen if r['reached']]
            row = {'label': chosen[0]['label'], 'runs': len(chosen), 'reached': len(reached),
                   'seeds': sorted(r['seed'] for r in chosen)}
            for column, (_, read, _) in COLUMNS.items():
                # Cost figures of every run; tracking and smoothness at the target only.
                source = chosen if column in ('s_per_iteration', 'peak_rss_mib') else reached
                row[column] = _statistics([read(r) for r in source])
            rows[method] = row
        # Smoothest at target first; methods that never reached it last.
        summary[task] = dict(sorted(rows.items(), key=lambda item: (
            item[1][RANK_BY][0] is None, item[1][RANK_BY][0] or 0.0)))
    return summary


def _cell(figure, digits):
    mean, std, count = figure
    if mean is None:
        return 'n/a'
    text = f'{mean:,.{digits}f}'
    return f'{text} ± {std:,.{digits}f}' if count > 1 else text


def _plot_pareto(records, path):
    figure, axes = plt.subplots(figsize=(8, 5))
    for index, method in enumerate(dict.fromkeys(r['method'] for r in records)):
        color = plt.cm.tab20(index % 20)
        for record in (r for r in records if r['method'] == method):
            figures = record['figures_at_target'] or record['figures_at_cap'] or {}
            x, y = figures.get('hfr_power_weighted'), figures.get('joint_rmse_rad')
            if x is None or y is None:
                continue
            axes.scatter(100 * x, y, color=color, s=36,
                         facecolors=color if record['reached'] else 'none',
                         label=record['label'] if record['seed'] == min(
                             r['seed'] for r in records if r['method'] == method) else None)
    axes.set_xscale('symlog', linthresh=0.1)
    axes.set_xlabel('power-weighted HFR > 10 Hz (%)')
    axes.set_ylabel('joint RMSE (rad)')
    axes.set_title(f"'{records[0]['task']}': at the target (filled) or at the cap (hollow)")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=6)
    axes.grid(True, alpha=0.3)
    return _save(figure, path)


def _plot_time_to_target(summary_rows, task, path):
    figure, axes = plt.subplots(figsize=(8, 0.6 + 0.35 * len(summary_rows)))
    labels, means, stds = [], [], []
    for row in summary_rows.values():
        labels.append(f"{row['label']} ({row['reached']}/{row['runs']})")
        mean, std, _ = row['time_to_target_s']
        means.append(np.nan if mean is None else mean / 60.0)
        stds.append(0.0 if std is None else std / 60.0)
    positions = np.arange(len(labels))
    axes.barh(positions, np.nan_to_num(means), xerr=stds, color='tab:blue', alpha=0.8)
    for position, mean in zip(positions, means):
        if np.isnan(mean):
            axes.text(0.0, position, ' not reached', va='center', fontsize=7)
    axes.set_yticks(positions, labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel('training time to target (min, rollouts + updates; runs that reached it)')
    axes.set_title(f"Time to target, '{task}'")
    axes.grid(True, axis='x', alpha=0.3)
    return _save(figure, path)


def _plot_learning_curves(records, path):
    figure, (returns, smoothness) = plt.subplots(1, 2, figsize=(13, 5))
    for index, method in enumerate(dict.fromkeys(r['method'] for r in records)):
        chosen = [r for r in records if r['method'] == method]
        style = {'color': plt.cm.tab20(index % 20), 'linestyle': ['-', '--', ':', '-.'][index % 4]}
        for number, record in enumerate(chosen):
            curve = record['curve']
            points = [(t, v) for t, v in zip(curve['train_s'], curve['return']) if v is not None]
            if points:
                returns.plot(*zip(*((t / 60.0, v) for t, v in points)),
                             label=record['label'] if number == 0 else None, **style)
            evaluations = [(e['env_steps'], e['figures']['hfr_power_weighted'])
                           for e in record['evaluations']
                           if e['figures'].get('hfr_power_weighted') is not None]
            if evaluations:
                smoothness.plot(*zip(*((s, 100 * v) for s, v in evaluations)), marker='.',
                                label=record['label'] if number == 0 else None, **style)
    returns.set_xlabel('training time (min, rollouts + updates)')
    returns.set_ylabel('mean episode return (training, stochastic)')
    smoothness.set_xlabel('env steps')
    smoothness.set_ylabel('power-weighted HFR at the evaluations (%)')
    smoothness.set_yscale('symlog', linthresh=0.1)
    for axes in (returns, smoothness):
        axes.grid(True, alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=6)
    figure.suptitle(f"Learning curves, '{records[0]['task']}' (one line per seed)")
    return _save(figure, path)


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def _setup_lines(records):
    first = records[0]
    caps = sorted({r['cap_iterations'] for r in records})
    return [f"Base config `{first['config']}`; each run adds its task's and method's overrides "
            f"(the records list them). Cap {', '.join(map(str, caps))} iterations of "
            f"{first['env_steps_per_iteration']:,} env steps; evaluation every "
            f"{first['eval_every']} iterations, {first['eval_episodes']} deterministic episodes "
            f"of {first['eval_seconds']:g} s through the numpy runtime. {len(records)} runs "
            f"on {', '.join(sorted({r['machine'] for r in records}))}.", '',
            'At-target cells are mean ± std over the seeds that reached the targets (reached '
            'k/n); s / iteration and peak MiB over all runs. Time to target counts rollouts '
            'and updates only, not the evaluations. Rows are ranked by the power-weighted HFR '
            "at the target (all joints' power above 10 Hz over all their power); HFR mean is "
            "the mean over joints of each joint's ratio (METHODS.md 8).", '']


def tables_markdown(records, summary, plots, relative_to):
    """Return the report's markdown: setup, then per task the tables and plots."""
    lines = _setup_lines(records) if records else ['No run records yet.', '']
    for task, rows in summary.items():
        targets = next(r['targets'] for r in records if r['task'] == task)
        columns = task_columns(task)
        lines += [f'### {task}', '', 'Targets: ' + ', '.join(f'`{t}`' for t in targets) + '.',
                  '', '| method | reached | ' + ' | '.join(
                      COLUMNS[column][0] for column in columns) + ' |',
                  '|---|---|' + '---|' * len(columns)]
        for row in rows.values():
            cells = [_cell(row[column], COLUMNS[column][2]) for column in columns]
            lines.append(f"| {row['label']} | {row['reached']}/{row['runs']} | " +
                         ' | '.join(cells) + ' |')
        missed = [r for r in records if r['task'] == task and not r['reached']]
        if missed:
            lines += ['', 'Runs that did not reach the targets (figures at their last '
                      'evaluation):', '',
                      '| run | iterations | joint RMSE (rad) | fwd (m/s) | HFR pw (%) | missed |',
                      '|---|---|---|---|---|---|']
            for record in missed:
                last = record['evaluations'][-1] if record['evaluations'] else None
                figures = last['figures'] if last else {}

                def number(name, scale=1.0, digits=3):
                    value = figures.get(name)
                    return 'n/a' if value is None else f'{scale * value:.{digits}f}'
                lines.append(f"| {record['label']}, seed {record['seed']} | "
                             f"{record['iterations']} | {number('joint_rmse_rad')} | "
                             f"{number('forward_speed_m_s', digits=2)} | "
                             f"{number('hfr_power_weighted', 100.0, 2)} | "
                             f'{_missed(last)} |')
        for title, path in plots.get(task, {}).items():
            lines += ['', f'![{title}, {task}]({_relative(path, relative_to)})']
        lines.append('')
    return '\n'.join(lines)


def _missed(evaluation):
    if evaluation is None:
        return 'no evaluation'
    return ', '.join(evaluation['unmet']).replace('|', '\\|') or 'none'


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


def build_report(out, results=None, section='targets'):
    """Rebuild ``<out>/report/`` from the records in ``<out>/results``; returns the paths."""
    out = Path(out)
    records = load_records(out / 'results')
    folder = out / 'report'
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarise(records)
    plots = {}
    for task, rows in summary.items():
        task_records = [r for r in records if r['task'] == task]
        plots[task] = {
            'Joint RMSE against power-weighted HFR': _plot_pareto(
                task_records, folder / f'{task}_pareto.png'),
            'Time to target': _plot_time_to_target(rows, task,
                                                   folder / f'{task}_time_to_target.png'),
            'Learning curves': _plot_learning_curves(task_records,
                                                     folder / f'{task}_learning_curves.png')}
    (folder / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    report = folder / 'report.md'
    report.write_text('# Smoothness study: every method to its targets\n\n' +
                      tables_markdown(records, summary, plots, folder) + '\n')
    paths = {'report': report, 'summary': folder / 'summary.json', 'plots': plots}
    if results is not None:
        begin, end = f'<!-- study:{section}:begin -->', f'<!-- study:{section}:end -->'
        text = '\n'.join([begin, '', tables_markdown(records, summary, plots,
                                                     Path(results).parent), end])
        paths['results'] = replace_section(results, begin, end, text, '# Results\n')
    return paths
