"""
Smoothness of recorded actions: ``python -m lpn_controller.analyze BAG [BAG ...]``.

Reads each ROS 2 bag (MCAP or sqlite3, no ROS needed), takes the action topic (the controller's
stamped ``/lpn_controller/action`` by default; any JointState or Float64MultiArray topic with
``--topic``), resamples it on its header stamps to a uniform grid at the policy rate
(estimated from the stamp intervals, or ``--rate``), and reports per joint, per joint group and
overall HFR, Sm, action rate and second difference, plus jerk of the measured ``/joint_states``
positions resampled on the same grid (as the trainer's evaluation takes it at the control
rate). All figures come from :mod:`lpn_controller.metrics`, the one implementation, and carry
f_s and N.

Messages holding NaN or inf are dropped and counted (the report says how many and when the
first was); the resampling interpolates across them as across any gap. Writes ``report.json``
and PNG plots (spectra per joint group, spectrogram, and a comparison when several bags are
given) to ``--output`` and prints a table with one row per bag.

    python -m lpn_controller.analyze BAG [BAG ...] [--topic /lpn_controller/action]
        [--joint-states /joint_states] [--rate HZ] [--cutoff 10] [--output DIR]
        [--joint-names a,b,...] [--no-plots]
"""

import argparse
from dataclasses import dataclass, field
import fnmatch
import json
from pathlib import Path
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

from lpn_controller import metrics
from lpn_controller.bag_recovery import open_bag, recovery_summary
from lpn_controller.bags import BagError, BagReader, describe_topics, Series
import numpy as np

DEFAULT_ACTION_TOPIC = '/lpn_controller/action'
DEFAULT_JOINT_STATES_TOPIC = '/joint_states'
DEFAULT_OUTPUT = 'bag_analysis'
# Joint groups by shell-style name pattern (Spot's names: *_hip_x, *_hip_y, *_knee, arm_*).
# Joints that match no group form 'other'; when none match, everything is one group, 'all'.
DEFAULT_GROUPS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('legs', ('*_hip_x', '*_hip_y', '*_knee', '*hip*', '*knee*', '*leg*', '*foot*')),
    ('arm', ('arm_*', '*_arm_*', '*wrist*', '*elbow*', '*shoulder*', '*gripper*')),
)
MIN_SAMPLES = 16
GAP_FACTOR = 1.5  # an interval longer than this many grid steps counts as a gap
LATTICE_WINDOW = 64  # stamps in the first lattice fit of estimate_rate
NON_FINITE_POLICY = ('messages holding NaN or inf are dropped and counted; the resampling '
                     'interpolates across them')


@dataclass(frozen=True)
class AnalysisConfig:
    """What to read and how; None for ``action_topic`` or ``rate_hz`` means choose."""

    action_topic: Optional[str] = None
    joint_states_topic: Optional[str] = DEFAULT_JOINT_STATES_TOPIC
    rate_hz: Optional[float] = None
    cutoff_hz: float = metrics.DEFAULT_CUTOFF_HZ
    joint_names: Optional[Tuple[str, ...]] = None
    groups: Tuple[Tuple[str, Tuple[str, ...]], ...] = DEFAULT_GROUPS


@dataclass(eq=False)
class BagAnalysis:
    """One bag's resampled actions (for the plots) and its JSON-ready report."""

    label: str
    sample_rate_hz: float
    cutoff_hz: float
    names: Tuple[str, ...]
    actions: np.ndarray
    groups: Dict[str, List[int]]
    report: dict = field(default_factory=dict)


def choose_action_topic(topics: Dict, requested: Optional[str]) -> Tuple[str, Optional[str]]:
    """
    Return (topic, note): the requested topic, or the default with a fallback.

    Without a request the default ``/lpn_controller/action`` is used; if it is absent but
    exactly one topic ends in ``/action`` (a controller node with another name), that one is
    used and the note says so.
    """
    if requested is not None or DEFAULT_ACTION_TOPIC in topics:
        return requested or DEFAULT_ACTION_TOPIC, None
    candidates = [name for name in topics if name.endswith('/action')]
    if len(candidates) == 1:
        return candidates[0], (f'{DEFAULT_ACTION_TOPIC} is absent; using {candidates[0]}, the '
                               "only topic ending in '/action'")
    if candidates:
        raise BagError(f'{DEFAULT_ACTION_TOPIC} is absent and several topics end in '
                       f"'/action' ({', '.join(candidates)}): choose one with --topic")
    raise BagError(f'no action topic: {DEFAULT_ACTION_TOPIC} is absent and no topic ends in '
                   f"'/action'; topics: {describe_topics(topics)}; choose one with --topic")


def estimate_rate(stamps: np.ndarray) -> float:
    """
    Return the sample rate in Hz of stamps that lie near a lattice ``t0 + k / rate``.

    A controller's timer stamps its messages on a lattice, give or take jitter, with a sample
    missing now and then. The first guess of the period is the mean of the intervals within
    half a period of the median (gaps left out). Then each stamp gets its lattice index k and
    the period is refitted by least squares (t on k) over a window that doubles until it holds
    every stamp, so k stays right over hours of stamps: exact for timer stamps on a simulated
    clock (where a late tick and the early one after it bias any mean of intervals; a last fit
    leaves out stamps off the typical residual) and unbiased under jitter (which biases one
    over the median). Stamps that fit no lattice (residuals spread over a sixth of a period)
    keep the first guess.
    """
    stamps = np.asarray(stamps, dtype=np.float64)
    intervals = np.diff(stamps)
    positive = intervals[intervals > 0.0]
    if positive.size == 0:
        raise ValueError('cannot estimate a sample rate: fewer than two distinct stamps')
    median = np.median(positive)
    guess = period = float(positive[np.abs(positive - median) < 0.5 * median].mean())
    offsets = stamps - stamps[0]
    window = min(len(stamps), LATTICE_WINDOW)
    while True:
        lattice = np.rint(offsets[:window] / period)
        if lattice[-1] == lattice[0]:
            return float(1.0 / guess)
        period, intercept = np.polyfit(lattice, offsets[:window], 1)
        if window == len(stamps):
            break
        window = min(len(stamps), 2 * window)
    residuals = offsets - intercept - lattice * period
    if np.std(residuals) > period / 6:
        return float(1.0 / guess)
    # Refit on the stamps near the typical residual: late ticks no longer pull the line.
    inliers = np.abs(residuals - np.median(residuals)) < period / 20
    if np.count_nonzero(inliers) > 1 and np.ptp(lattice[inliers]) > 0:
        period = np.polyfit(lattice[inliers], offsets[inliers], 1)[0]
    return float(1.0 / period)


def resample(stamps: np.ndarray, values: np.ndarray, rate_hz: float,
             start_s: Optional[float] = None,
             count: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """
    Return (grid, values on the grid): linear interpolation onto ``start + k / rate``.

    The grid starts at ``start_s`` (default the first stamp) and spans the stamps (or holds
    ``count`` points); stamps must be sorted. Values of shape (N, m).
    """
    stamps = np.asarray(stamps, dtype=np.float64)
    start = stamps[0] if start_s is None else start_s
    if count is None:
        count = int(np.floor((stamps[-1] - start) * rate_hz + 1e-6)) + 1
    grid = start + np.arange(count) / rate_hz
    columns = [np.interp(grid, stamps, values[:, j]) for j in range(values.shape[1])]
    return grid, np.stack(columns, axis=1) if columns else np.zeros((count, 0))


def group_joints(names: Sequence[str], groups=DEFAULT_GROUPS) -> Dict[str, List[int]]:
    """Return group name -> joint indices; unmatched joints form 'other', no match 'all'."""
    result: Dict[str, List[int]] = {}
    taken = set()
    for group, patterns in groups:
        indices = [i for i, name in enumerate(names) if i not in taken
                   and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)]
        if indices:
            result[group] = indices
            taken.update(indices)
    if not result:
        return {'all': list(range(len(names)))}
    rest = [i for i in range(len(names)) if i not in taken]
    if rest:
        result['other'] = rest
    return result


def figure_json(result: metrics.MetricResult, names: Sequence[str]) -> dict:
    """Return a metric as JSON: value, unit, f_s, N, parameters and per-joint figures."""
    return {'value': result.value, 'unit': result.unit,
            'sample_rate_hz': result.sample_rate_hz, 'window_length': result.window_length,
            'parameters': result.parameters,
            'per_joint': dict(zip(names, result.per_dimension.tolist()))}


def _gaps(stamps: np.ndarray, rate_hz: float) -> dict:
    intervals = np.diff(stamps)
    long = intervals[intervals > GAP_FACTOR / rate_hz]
    return {'count': int(long.size), 'largest_s': float(long.max()) if long.size else 0.0,
            'threshold_s': GAP_FACTOR / rate_hz}


def _positions_on_grid(reader: BagReader, config: AnalysisConfig, action: Series,
                       grid: np.ndarray, rate: float
                       ) -> Tuple[Optional[np.ndarray], Tuple[str, ...], dict]:
    """Return joint positions on the action grid (or None), their names and a source note."""
    topic = config.joint_states_topic
    if not topic:
        return None, (), {'topic': None, 'note': 'jerk not asked for (--joint-states "")'}
    if topic not in reader.topics:
        return None, (), {'topic': topic, 'note': f'no {topic} topic in the bag: no jerk'}
    positions = reader.read_series(topic, field='position')
    names, values = positions.names, positions.values
    if set(action.names) <= set(names):  # the action's joints, in its order; else all
        values = values[:, [names.index(name) for name in action.names]]
        names = action.names
    inside = (grid >= positions.stamps[0]) & (grid <= positions.stamps[-1])
    source = {'topic': topic, 'stamp_source': positions.stamp_source,
              'messages': positions.messages,
              'dropped_non_finite': positions.dropped_non_finite,
              'native_rate_hz': estimate_rate(positions.stamps) if len(positions.stamps) > 1
              else None,
              'note': 'positions resampled on the action grid, as evaluation takes them at the '
                      'control rate'}
    if np.count_nonzero(inside) < MIN_SAMPLES:
        source['note'] = f'{topic} overlaps the actions in fewer than {MIN_SAMPLES} samples'
        return None, names, source
    grid = grid[inside]
    _, values = resample(positions.stamps, values, rate, grid[0], len(grid))
    return values, names, source


def analyze_bag(path, config: AnalysisConfig = AnalysisConfig(),
                label: Optional[str] = None) -> BagAnalysis:
    """Read one bag and compute its figures; BagError or ValueError on bad input."""
    path = Path(path)
    started = time.perf_counter()
    with open_bag(path) as reader:  # a cut-off bag: what is intact, see bag_recovery
        topic, note = choose_action_topic(reader.topics, config.action_topic)
        action = reader.read_series(topic, joint_names=config.joint_names)
        if len(action.stamps) < MIN_SAMPLES:
            raise BagError(f'topic {topic} in bag {path} has {len(action.stamps)} usable '
                           f'samples; the analysis needs at least {MIN_SAMPLES}')
        rate = config.rate_hz or estimate_rate(action.stamps)
        grid, actions = resample(action.stamps, action.values, rate)
        if len(grid) < MIN_SAMPLES:
            raise BagError(f'topic {topic} in bag {path} spans {len(grid)} samples at '
                           f'{rate:g} Hz; the analysis needs at least {MIN_SAMPLES}')
        positions, position_names, jerk_source = _positions_on_grid(
            reader, config, action, grid, rate)
        topics = {name: {'type': info.msgtype, 'messages': info.message_count}
                  for name, info in reader.topics.items()}
        storage, duration = reader.storage, reader.duration_s
        recovery = getattr(reader, 'recovery', None)
    if not 0.0 < config.cutoff_hz < rate / 2.0:
        raise ValueError(f'cut-off {config.cutoff_hz:g} Hz must lie below the Nyquist frequency '
                         f'{rate / 2.0:g} Hz of {topic} in bag {path} (f_s = {rate:g} Hz); '
                         'set --cutoff')
    names = action.names
    groups = group_joints(names, config.groups)
    report_metrics = metrics.smoothness_report(actions, rate, positions, config.cutoff_hz)
    figures = {name: figure_json(result, position_names if name == 'jerk' else names)
               for name, result in report_metrics.items()}
    figures.setdefault('jerk', None)
    group_figures = {}
    for group, indices in groups.items():
        group_report = metrics.smoothness_report(actions[:, indices], rate, None,
                                                 config.cutoff_hz)
        group_figures[group] = {name: result.value for name, result in group_report.items()}
    analysis = BagAnalysis(label or path.name, rate, config.cutoff_hz, names, actions, groups)
    analysis.report = {
        'bag': str(path), 'label': analysis.label, 'storage': storage,
        'duration_s': round(duration, 9), 'recovery': recovery, 'topics': topics,
        'action_topic': topic, 'action_type': action.msgtype, 'topic_note': note,
        'stamp_source': action.stamp_source, 'messages': action.messages,
        'dropped_non_finite': action.dropped_non_finite,
        'first_dropped_s': action.first_dropped_s, 'non_finite_policy': NON_FINITE_POLICY,
        'reordered_stamps': action.reordered, 'duplicate_stamps': action.duplicates,
        'sample_rate_hz': rate, 'rate_source': '--rate' if config.rate_hz else
        'stamps (lattice fit)', 'window_length': len(grid),
        'start_s': float(grid[0]), 'end_s': float(grid[-1]),
        'gaps': _gaps(action.stamps, rate), 'joint_names': list(names),
        'groups': {group: [names[i] for i in indices] for group, indices in groups.items()},
        'metrics': figures, 'group_metrics': group_figures, 'jerk_source': jerk_source,
        'analysis_s': round(time.perf_counter() - started, 3),
    }
    return analysis


def unique_labels(paths: Sequence[Path]) -> List[str]:
    """Return a label per bag: its name, numbered where names repeat."""
    names = [Path(path).stem if Path(path).is_file() else Path(path).name for path in paths]
    return [name if names.count(name) == 1 else f'{name}_{index}'
            for index, name in enumerate(names)]


def format_table(analyses: Sequence[BagAnalysis]) -> str:
    """Return the overall figures as a text table, one row per bag, with f_s and N."""
    header = (f"{'bag':<20} {'topic':<26} {'f_s Hz':>7} {'N':>7} {'HFR':>9} {'HFR pw':>9} "
              f"{'Sm':>9} {'act.rate':>9} {'2nd diff':>9} {'jerk':>10}")
    lines = [header, '-' * len(header)]
    notes = []
    for analysis in analyses:
        report = analysis.report
        figures = report['metrics']

        def value(name, digits=4):
            figure = figures.get(name)
            return 'n/a' if figure is None else f'{figure["value"]:.{digits}g}'

        lines.append(f"{analysis.label[:20]:<20} {report['action_topic'][:26]:<26} "
                     f"{report['sample_rate_hz']:>7.4g} {report['window_length']:>7} "
                     f"{value('hfr'):>9} {value('hfr_power_weighted'):>9} {value('sm'):>9} "
                     f"{value('action_rate'):>9} "
                     f"{value('second_difference'):>9} {value('jerk'):>10}")
        if report['topic_note']:
            notes.append(f"{analysis.label}: {report['topic_note']}")
        if report['dropped_non_finite']:
            notes.append(f"{analysis.label}: dropped {report['dropped_non_finite']} messages "
                         f"holding NaN or inf (first at {report['first_dropped_s']:.3f} s)")
        if report['gaps']['count']:
            notes.append(f"{analysis.label}: {report['gaps']['count']} gaps in the stamps, the "
                         f"longest {report['gaps']['largest_s']:.3f} s (interpolated)")
        if figures['jerk'] is None:
            notes.append(f"{analysis.label}: {report['jerk_source']['note']}")
    units = (f'HFR: power fraction above {analyses[0].cutoff_hz:g} Hz, mean over joints; HFR pw: '
             "the same over all joints' power pooled (power-weighted); Sm: action units; "
             'action rate and 2nd diff: action units per step (L2 over joints); jerk: RMS '
             'position units/s^3 of the measured joints')
    return '\n'.join(lines + ['', units] + [f'note: {note}' for note in notes])


def write_outputs(analyses: Sequence[BagAnalysis], output: Path, plots: bool = True) -> dict:
    """Write report.json and the PNG plots to ``output``; return the report written."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise ValueError(f'output {output} exists and is not a directory')
    output.mkdir(parents=True, exist_ok=True)
    comparison = None
    if plots:
        from lpn_controller import analysis_plots  # matplotlib only when plotting
        for analysis in analyses:
            analysis.report['plots'] = analysis_plots.plot_bag(analysis, output)
        if len(analyses) > 1:
            comparison = str(analysis_plots.plot_comparison(analyses, output))
    report = {'tool': 'lpn_controller.analyze', 'metrics_module': metrics.__name__,
              'cutoff_hz': analyses[0].cutoff_hz, 'comparison_plot': comparison,
              'bags': [analysis.report for analysis in analyses]}
    path = output / 'report.json'
    path.write_text(json.dumps(report, indent=2, allow_nan=False) + '\n')
    report['report_path'] = str(path)
    return report


def analyze_bags(paths: Sequence, config: AnalysisConfig = AnalysisConfig(),
                 log=print) -> List[BagAnalysis]:
    """Analyse several bags, printing progress; labels are unique bag names."""
    analyses = []
    for path, label in zip(paths, unique_labels([Path(p) for p in paths])):
        log(f'reading {path} ...')
        analysis = analyze_bag(path, config, label)
        report = analysis.report
        log(f"  {report['action_topic']}: {report['messages']} messages, "
            f"f_s = {report['sample_rate_hz']:.4g} Hz, N = {report['window_length']} "
            f"({report['analysis_s']:.2f} s)")
        if report['recovery'] is not None:   # a cut-off recording: say so, before any figure
            log(f"  {recovery_summary(report['recovery'])}")
        analyses.append(analysis)
    return analyses


def main(argv=None) -> int:
    """Command line entry point; exit code 1 with a one-line message on bad input."""
    parser = argparse.ArgumentParser(
        prog='analyze', description='Action smoothness (HFR, Sm, action rate, jerk) and '
        'spectra from ROS 2 bags (MCAP or sqlite3).')
    parser.add_argument('bags', nargs='+', metavar='BAG', help='bag directory or .mcap/.db3')
    parser.add_argument('--topic', help=f'action topic (default {DEFAULT_ACTION_TOPIC}, or the '
                        "only topic ending in '/action')")
    parser.add_argument('--joint-states', default=DEFAULT_JOINT_STATES_TOPIC,
                        help='JointState topic for jerk; "" skips jerk')
    parser.add_argument('--rate', type=float, help='policy rate in Hz (default: from stamps)')
    parser.add_argument('--cutoff', type=float, default=metrics.DEFAULT_CUTOFF_HZ,
                        help='HFR cut-off frequency in Hz')
    parser.add_argument('--output', default=DEFAULT_OUTPUT, help='folder for JSON and PNGs')
    parser.add_argument('--joint-names', help='comma-separated names: picks JointState '
                        'joints, or names Float64MultiArray entries')
    parser.add_argument('--no-plots', action='store_true', help='write only the JSON report')
    args = parser.parse_args(argv)
    if args.rate is not None and not args.rate > 0:
        parser.error(f'--rate must be positive, got {args.rate}')
    if not args.cutoff > 0:
        parser.error(f'--cutoff must be positive, got {args.cutoff}')
    joint_names = None
    if args.joint_names:
        joint_names = tuple(name.strip() for name in args.joint_names.split(',') if name.strip())
    config = AnalysisConfig(args.topic, args.joint_states or None, args.rate, args.cutoff,
                            joint_names)
    try:
        analyses = analyze_bags(args.bags, config)
        report = write_outputs(analyses, Path(args.output), plots=not args.no_plots)
    except (BagError, ValueError, OSError) as error:
        message = ' '.join(str(error).split())
        print(f'analyze: error: {message}', file=sys.stderr)
        return 1
    print()
    print(format_table(analyses))
    print(f"\nreport: {report['report_path']}")
    for analysis in analyses:
        for kind, path in analysis.report.get('plots', {}).items():
            print(f'{kind}: {path}')
    if report['comparison_plot']:
        print(f"comparison: {report['comparison_plot']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
