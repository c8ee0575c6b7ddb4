"""
PAVE's comparison reproduced: TD3, TD3 + CAPS and TD3 + PAVE on Pendulum-v1 and Hopper-v5.

Each (task, method, seed) is one run of smooth_policy_trainer's off-policy runner from the
shipped config (td3_pendulum, td3_pave_hopper) with the method's switches, under
``--output-dir``. The script is resumable: a run with a result.json is skipped, a run with
checkpoints is resumed, the others start; stop it with Ctrl-C (the runs save a checkpoint) and
start the same command again. Each run's figures come from its final deterministic evaluation
(10 episodes to their end): the return, Sm in PAVE's normalisation (raw |FFT|, f_s = 1) and
ours, HFR at the task's control rate, and the critic diagnostics of Q1 (sup of the spectral
norm of d2Q/dads, the rate of negative-definite d2Q/da2, the sign-flip rate of grad_a Q between
consecutive steps), with the run's wall time. They go to a JSON file and to the section
between ``<!-- pave:reproduction:begin -->`` and ``<!-- pave:reproduction:end -->`` of the
results file (docs/results.md; the text around the markers is kept), with the paper's
published figures beside ours.

Budgets: Pendulum 1e5 steps as in the paper; Hopper 100 000 by default, where the paper trains
1e6: what fits about two hours of the 2-core development machine. There, with two runs side by
side (``--jobs 2``), a Pendulum run of 1e5 steps took about 9 minutes for TD3 and TD3 + CAPS
(about 185 transitions/s, one update each) and 50 minutes for TD3 + PAVE (32 transitions/s
once learning starts: PAVE's three terms cost about 6x the TD3 update); the 9 Hopper runs,
longest first, took about 1.7 h (TD3 9-10 min, TD3 + CAPS 10-11, TD3 + PAVE 46-49).
bench/offpolicy_throughput.py measures the rates. A tiny budget runs end to end in seconds
(``--pendulum-steps 60 --hopper-steps 60 --seeds 1 --set learner.learning_starts=20 ...``).

    .venv/bin/python bench/pave_reproduction.py [--pendulum-steps 100000]
        [--hopper-steps 100000] [--seeds 3] [--tasks Pendulum-v1 Hopper-v5]
        [--methods base caps pave] [--jobs 1] [--output-dir runs/pave_reproduction]
        [--json docs/results_pave.json] [--results docs/results.md] [--figures docs/pave]
        [--set KEY=VALUE]
"""

import argparse
from concurrent.futures import as_completed, ProcessPoolExecutor
import json
import multiprocessing
import os
from pathlib import Path
import signal
import sys
import time

import numpy as np
from smooth_policy_trainer.config.offpolicy_config import load_offpolicy_config
from smooth_policy_trainer.config.reader import ConfigError
from smooth_policy_trainer.evaluation.study_report import plt, replace_section
from smooth_policy_trainer.runners.checkpoint import CHECKPOINT_DIR
from smooth_policy_trainer.runners.common import git_revision
from smooth_policy_trainer.runners.offpolicy_runner import OffPolicyRunner

CONFIGS = {'Pendulum-v1': 'td3_pendulum', 'Hopper-v5': 'td3_pave_hopper'}
METHODS = {'base': ['pave.enabled=false', 'caps.enabled=false'],
           'caps': ['pave.enabled=false', 'caps.enabled=true'],
           'pave': ['pave.enabled=true', 'caps.enabled=false']}
LABELS = {'base': 'TD3', 'caps': 'TD3 + CAPS', 'pave': 'TD3 + PAVE'}
# Cost of a run relative to TD3's, from the Hopper-v5 runs of 1e5 steps, two side by side: TD3
# 9-10 min, TD3 + CAPS 10-11, TD3 + PAVE 46-49 (10 000 random steps at the start of each).
RELATIVE_COST = {'base': 1.0, 'caps': 1.1, 'pave': 5.0}
# PAVE paper (arXiv 2601.22970), TD3, 5 seeds, 1e6 steps: Sm in its normalisation
# (METHODS.md 7) and M_sup, the trajectory-wise sup of ||d2Q/dsda||_2 (as the authors' README
# quotes it from the paper).
PUBLISHED_SM = {'Hopper': {'base': 2.715, 'pave': 0.950},
                'Walker2d': {'base': 1.990, 'pave': 1.272},
                'LunarLander': {'base': 1.809, 'pave': 0.541}}
PUBLISHED_SUP = {'Hopper': {'base': 8831, 'pave': 934}, 'Walker2d': {'base': 1923, 'pave': 643},
                 'LunarLander': {'base': 990, 'pave': 151}}
MARKERS = ('<!-- pave:reproduction:begin -->', '<!-- pave:reproduction:end -->')
DIAGNOSTICS = ('sup_mixed_hessian_spectral', 'negative_definite_rate',
               'action_gradient_cosine_flip_rate', 'action_gradient_sign_flip_rate')


# Set once this process has seen Ctrl-C: a pool worker then starts no further run (the pool
# hands each worker its next run before the parent can cancel it).
STOPPED = []


def stop_on_interrupt():
    """Pool worker initialiser: Ctrl-C outside a run's training marks the worker stopped."""
    signal.signal(signal.SIGINT, lambda *_: STOPPED.append(True))


def longest_first(specs):
    """
    Order runs by expected cost, longest first.

    Side by side, the short runs then fill the other cores at the end, instead of one long PAVE
    run going on alone on one core after the rest have ended.
    """
    return sorted(specs, key=lambda spec: -spec['steps'] * RELATIVE_COST[spec['method']])


def run_one(spec):
    """Train (or resume, or skip) one run; returns its result, or None if interrupted."""
    if STOPPED:
        return None
    run_dir = Path(spec['output_dir']) / spec['name']
    result_path = run_dir / 'result.json'
    if result_path.is_file():
        result = json.loads(result_path.read_text())
        # A larger budget resumes the run instead; older diagnostics are measured again.
        if result['steps'] >= spec['steps'] and current(result['critic']):
            return {**result, 'skipped': True}
    if (run_dir / CHECKPOINT_DIR).is_dir():
        runner = OffPolicyRunner.resume(run_dir, spec['steps'], spec['progress'])
    else:
        overrides = METHODS[spec['method']] + [
            f"run.seed={spec['seed']}", f"gym.seed={1000 * spec['seed']}",
            f"run.total_steps={spec['steps']}", f"run.log_dir={spec['output_dir']}",
            f"run.run_name={spec['name']}", *spec['overrides']]
        config = load_offpolicy_config(CONFIGS[spec['task']], overrides)
        runner = OffPolicyRunner(config, run_dir, spec['progress'])
    try:
        if runner.steps < spec['steps'] and runner.train() != 'finished':
            STOPPED.append(True)   # the runner took the Ctrl-C, saved and stopped
            return None
        final = run_dir / 'evaluations' / f'step_{runner.steps:09d}.json'
        evaluation = json.loads(final.read_text()) if final.is_file() else None
        if evaluation is None or not current(evaluation['critic']):
            evaluation = runner.evaluate()   # deterministic: the same return and Sm
        result = summarize(spec, evaluation, runner.wall_time_s)
    finally:
        runner.close()
    result_path.write_text(json.dumps(result, indent=2) + '\n')
    return result


def current(critic):
    """Whether critic diagnostics were measured on the evaluation trajectories."""
    return (critic or {}).get('source') == 'evaluation trajectories'


def summarize(spec, evaluation, wall_time_s):
    """Return the figures of one run from its final evaluation."""
    smoothness = evaluation['smoothness']

    def figure(name):
        return smoothness[name]['value'] if name in smoothness else None
    return {'task': spec['task'], 'method': spec['method'], 'seed': spec['seed'],
            'steps': evaluation['steps'], 'return': evaluation['return'],
            'episode_length': evaluation['episode_length'],
            'sm_pave': figure('sm_pave'), 'sm': figure('sm'), 'hfr': figure('hfr'),
            'hfr_cutoff_hz': smoothness.get('hfr', {}).get('parameters', {}).get('cutoff_hz'),
            'sample_rate_hz': evaluation['sample_rate_hz'],
            'window_length': smoothness.get('sm', {}).get('window_length'),
            'eval_episodes': evaluation['episodes'], 'critic': evaluation['critic'],
            'wall_time_s': wall_time_s}


def aggregate(results):
    """Return mean and std over seeds per (task, method) of every figure."""
    table = {}
    for result in results:
        table.setdefault((result['task'], result['method']), []).append(result)
    rows = []
    for (task, method), runs in table.items():
        def stats(values):
            values = [v for v in values if v is not None]
            return (float(np.mean(values)), float(np.std(values))) if values else (None, None)
        row = {'task': task, 'method': method, 'seeds': len(runs), 'steps': runs[0]['steps']}
        for name in ('return', 'episode_length', 'sm_pave', 'sm', 'hfr', 'wall_time_s'):
            row[name] = stats([run[name] for run in runs])
        for name in DIAGNOSTICS:
            row[name] = stats([(run['critic'] or {}).get(name) for run in runs])
        row['hfr_cutoff_hz'], row['sample_rate_hz'] = runs[0]['hfr_cutoff_hz'], \
            runs[0]['sample_rate_hz']
        rows.append(row)
    return rows


def plot_training(output_dir, specs, path):
    """
    Plot return and Sm of the periodic evaluations against steps; returns the path.

    Sm in our normalisation: PAVE's grows with the episode length, which changes as a Hopper
    policy learns to stay up.
    """
    figure, (returns, smoothness) = plt.subplots(1, 2, figsize=(11, 4))
    for index, method in enumerate(dict.fromkeys(spec['method'] for spec in specs)):
        curves = []
        for spec in specs:
            if spec['method'] != method:
                continue
            folder = Path(output_dir) / spec['name'] / 'evaluations'
            evaluations = [json.loads(file.read_text()) for file in sorted(folder.glob('*.json'))]
            curves.append({e['steps']: (e['return'], e['smoothness']['sm']['value'])
                           for e in evaluations if e['steps'] > 0})
        steps = sorted(set.intersection(*(set(curve) for curve in curves))) if curves else []
        if not steps:
            continue
        # Mean over the seeds at the evaluations they share; learning starts at 1e4 steps.
        mean = np.mean([[curve[step] for step in steps] for curve in curves], axis=0)
        for axes, column in ((returns, 0), (smoothness, 1)):
            axes.plot(steps, mean[:, column], marker='o', markersize=3,
                      color=plt.cm.tab10(index), label=f'{LABELS[method]} ({len(curves)} seeds)')
    returns.set_ylabel('return (deterministic evaluation)')
    smoothness.set_ylabel('Sm, METHODS.md 8 (lower is smoother)')
    for axes in (returns, smoothness):
        axes.set_xlabel('environment steps')
        axes.grid(True, alpha=0.3)
    returns.legend(fontsize=8)
    figure.suptitle(f"{specs[0]['task']}: mean over seeds of the periodic evaluations")
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return Path(path)


def markdown(rows, args, plots=None):
    """Return the results section, between its markers: our table, then the paper's."""
    def cell(pair, digits=3):
        mean, std = pair
        return 'n/a' if mean is None else f'{mean:.{digits}g} ± {std:.2g}'
    rates = {row['task']: (row['sample_rate_hz'], row['hfr_cutoff_hz']) for row in rows}
    hfr_settings = '; '.join(f'{task} f_s = {rate:g} Hz, cut-off {cutoff} Hz'
                             for task, (rate, cutoff) in sorted(rates.items()))
    budgets = ', '.join(
        f"{task} {args.pendulum_steps if task == 'Pendulum-v1' else args.hopper_steps:,} steps"
        + ('' if task == 'Pendulum-v1' else ' (the paper: 1e6)') for task in args.tasks)
    lines = [
        MARKERS[0], '',
        f'Generated by `bench/pave_reproduction.py` on {time.strftime("%Y-%m-%d")} (git '
        f'{git_revision()[:12]}): {budgets}; seeds: {args.seeds}, mean ± std over them. '
        'Each run is evaluated at its end on deterministic episodes run to their end. '
        "Sm (PAVE) is in PAVE's normalisation (raw |FFT|, f_s = 1), Sm (ours) in METHODS.md "
        "8's, both per episode and action dimension. PAVE's is ours x N/2 for an episode of "
        'N steps, so it grows with the episode length: where episodes end early (a fall), '
        "compare methods by Sm (ours). HFR at the task's control rate, with a cut-off of "
        f'min(10 Hz, f_s / 4) ({hfr_settings}). Critic diagnostics on Q1 along the same '
        "deterministic evaluation trajectories, at the actor's actions: sup of the spectral "
        'norm of d2Q/dads over the visited states, the fraction of them where d2Q/da2 is '
        'negative definite, and the sign-flip rate: the fraction of consecutive steps where '
        'the cosine between the two grad_a Q is negative.', '',
        '| task | method | steps | seeds | return | episode length | Sm (PAVE) | paper Sm | '
        'Sm (ours) | HFR | sup ‖d²Q/dads‖₂ | neg.-def. rate | sign-flip rate | wall time (h) |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
        '| ---: |']
    for row in sorted(rows, key=lambda r: (r['task'], list(METHODS).index(r['method']))):
        paper = PUBLISHED_SM.get(row['task'].split('-')[0], {}).get(row['method'])
        hours = tuple(None if v is None else v / 3600 for v in row['wall_time_s'])
        lines.append(
            f"| {row['task']} | {LABELS[row['method']]} | {row['steps']} | {row['seeds']} | "
            f"{cell(row['return'], 4)} | {cell(row['episode_length'], 4)} | "
            f"{cell(row['sm_pave'])} | {'—' if paper is None else f'{paper:.3f}'} | "
            f"{cell(row['sm'])} | {cell(row['hfr'])} | "
            f"{cell(row['sup_mixed_hessian_spectral'])} | "
            f"{cell(row['negative_definite_rate'])} | "
            f"{cell(row['action_gradient_cosine_flip_rate'])} | {cell(hours, 2)} |")
    lines += ['', 'Published (PAVE paper, arXiv 2601.22970; TD3, 5 seeds, 1e6 steps on MuJoCo; '
              'Sm in its normalisation, sup ‖d²Q/dads‖₂ along trajectories):', '',
              '| task | TD3 Sm | TD3 + PAVE Sm | TD3 sup ‖d²Q/dads‖₂ | TD3 + PAVE sup |',
              '| --- | ---: | ---: | ---: | ---: |']
    lines += [f"| {task} | {figures['base']:.3f} | {figures['pave']:.3f} | "
              f"{PUBLISHED_SUP[task]['base']} | {PUBLISHED_SUP[task]['pave']} |"
              for task, figures in PUBLISHED_SM.items()]
    for task, path in (plots or {}).items():
        link = os.path.relpath(path, Path(args.results).resolve().parent)
        lines += ['', f'![Return and Sm against steps, {task}]({Path(link).as_posix()})']
    return '\n'.join(lines + ['', MARKERS[1]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--pendulum-steps', type=int, default=100_000)
    parser.add_argument('--hopper-steps', type=int, default=100_000)
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--tasks', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    parser.add_argument('--jobs', type=int, default=1, help='runs side by side (1 core each)')
    parser.add_argument('--output-dir', default='runs/pave_reproduction')
    parser.add_argument('--json', default='docs/results_pave.json')
    parser.add_argument('--results', default='docs/results.md',
                        help='markdown file whose PAVE section is rewritten')
    parser.add_argument('--figures', default='docs/pave',
                        help='folder for the training-curve plots')
    parser.add_argument('--set', dest='overrides', action='append', default=[],
                        metavar='KEY=VALUE', help='override a config key of every run')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args()
    if min(args.pendulum_steps, args.hopper_steps, args.seeds, args.jobs) < 1:
        parser.error('steps, seeds and jobs must be at least 1')
    steps = {'Pendulum-v1': args.pendulum_steps, 'Hopper-v5': args.hopper_steps}
    specs = [{'task': task, 'method': method, 'seed': seed, 'steps': steps[task],
              'name': f'{task}_{method}_seed{seed}', 'output_dir': args.output_dir,
              'overrides': args.overrides, 'progress': not args.no_progress}
             for task in args.tasks for seed in range(args.seeds) for method in args.methods]
    for spec in specs:   # fail on a bad --set before any training
        try:
            load_offpolicy_config(CONFIGS[spec['task']],
                                  METHODS[spec['method']] + spec['overrides'])
        except ConfigError as error:
            parser.error(str(error))

    results, interrupted = [], False
    if args.jobs == 1:
        for spec in specs:
            result = run_one(spec)
            if result is None:
                interrupted = True
                break
            results.append(result)
            print(f"{spec['name']}: {'skipped (done)' if result.get('skipped') else 'done'}",
                  flush=True)
    else:
        # A worker's runner handles Ctrl-C itself (finish the step, save, stop); outside
        # training it marks the worker stopped, and here it stops new runs from starting.
        stop = []
        previous = signal.signal(signal.SIGINT, lambda *_: stop.append(True))
        context = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(args.jobs, mp_context=context,
                                 initializer=stop_on_interrupt) as pool:
            futures = {pool.submit(run_one, {**spec, 'progress': False}): spec
                       for spec in longest_first(specs)}
            for future in as_completed(futures):
                if stop:
                    for pending in futures:
                        pending.cancel()
                result = None if future.cancelled() else future.result()
                if result is None:
                    interrupted = True
                    continue
                results.append(result)
                print(f"{futures[future]['name']}: "
                      f"{'skipped (done)' if result.get('skipped') else 'done'}", flush=True)
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        print('interrupted: the runs saved checkpoints; run the same command to continue',
              file=sys.stderr)
        return 130

    rows = aggregate(results)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({'runs': results, 'summary': rows}, indent=2) + '\n')
    plots = {task: plot_training(args.output_dir, [s for s in specs if s['task'] == task],
                                 (Path(args.figures) / f'{task}_training.png').resolve())
             for task in args.tasks}
    section = markdown(rows, args, plots)
    replace_section(args.results, *MARKERS, section,
                    '# Results\n\n## PAVE reproduction (bench/pave_reproduction.py)\n\n')
    print(section)
    print(f'wrote {args.json} and the PAVE section of {args.results}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
