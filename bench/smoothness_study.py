"""
The smoothness comparison study: every baseline on the same tasks, env steps and seeds.

    python bench/smoothness_study.py [--iterations 100] [--seeds 0 1 2]
        [--tasks trot_arm_wave hop] [--methods mlp lpn_jacobian ...] [--out runs/study]
        [--results docs/results.md] [--figures docs/study] [--eval-episodes 8]
        [--eval-seconds 10] [--num-envs 64] [--set key=value ...]
        [--offpolicy-steps 60000] [--offpolicy-set key=value ...]

Every (task, method, seed) trains in its own process (``python -m smooth_policy_trainer.train``)
from one base config (lpn_trot_arm_wave: its rewards, PPO and env settings) and differs from the
others only in the method's switches (METHODS below), so each run's peak memory is its own
process's. Finished runs are skipped and an interrupted run resumes from its last checkpoint, so
a killed study continues where it stopped. Each exported policy is then evaluated by the one
evaluation (smooth_policy_trainer.evaluate: the numpy runtime, mean actions, METHODS.md 8 metrics
from lpn_controller.metrics). Runs live under --out; the plots and results.json go to --figures
and the tables between the --section's markers of --results (text around the markers is kept).

The off-policy method (``--methods td3_pave``) trains with smooth_policy_trainer.train_offpolicy
from its own config (the same imitation environment and rewards) for --offpolicy-steps
transitions, and is evaluated like the others; its s / iteration is the time of as many
transitions as a PPO iteration collects.

The defaults are the study in docs/results.md: 10 methods x 2 tasks x 3 seeds of 100 iterations,
about 65 minutes of training on the 2-core development machine.
"""

import argparse
import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import time

import numpy as np
from study_report import aggregate, plot_spectra, plot_training_curves, write_results

BASE_CONFIG = 'lpn_trot_arm_wave_base'
NO_PENALTY = ('penalty.enabled=false',)
MLP = ('policy.kind=mlp', *NO_PENALTY)
# name: (label, --set overrides on the base config)
METHODS = {
    'mlp': ('MLP, no regularisation', MLP),
    'lpn': ('LPN, no regularisation', ('policy.kind=lpn', *NO_PENALTY)),
    'lpn_jacobian': ('LPN + Jacobian penalty (w 0.05)',
                     ('policy.kind=lpn', 'penalty.enabled=true', 'penalty.method=closed_form',
                      'penalty.weight=0.05')),
    'action_rate_0.01': ('MLP + action-rate reward (w 0.01)',
                         (*MLP, 'env.action_rate_weight=0.01')),
    'action_rate_0.1': ('MLP + action-rate reward (w 0.1)', (*MLP, 'env.action_rate_weight=0.1')),
    'action_rate_1': ('MLP + action-rate reward (w 1)', (*MLP, 'env.action_rate_weight=1.0')),
    'low_pass': ('MLP + low-pass filter (alpha 0.5)', (*MLP, 'env.action_filter_alpha=0.5')),
    'caps': ('MLP + CAPS', (*MLP, 'caps.enabled=true')),
    'gp_lcp': ('MLP + GP-LCP (w 0.002)', (*MLP, 'gradient_penalty.enabled=true')),
    'spectral_norm': ('MLP + SN (lambda 1, hidden layers)', (*MLP, 'policy.spectral_norm=true')),
}
# TD3 + PAVE spends about 40 ms on each transition here (one update each), so it cannot have the
# PPO runs' environment steps; it gets its own budget. name: (label, config, --set overrides)
OFFPOLICY_METHODS = {
    'td3_pave': ('TD3 + PAVE', 'td3_pave_trot_arm_wave',
                 ('pave.enabled=true', 'caps.enabled=false')),
}
TASKS = ('trot_arm_wave', 'hop')
SPECTRUM_SEGMENT = 64   # samples per Welch segment in the plots: 0.78 Hz bins at 50 Hz


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--iterations', type=int, default=100,
                        help='PPO iterations per run (num_envs x 24 env steps each)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--tasks', nargs='+', default=list(TASKS))
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=[*METHODS, *OFFPOLICY_METHODS])
    parser.add_argument('--num-envs', type=int, default=64)
    parser.add_argument('--offpolicy-steps', type=int, default=60_000,
                        help='transitions per off-policy run (td3_pave)')
    parser.add_argument('--eval-episodes', type=int, default=8)
    parser.add_argument('--eval-seconds', type=float, default=10.0)
    parser.add_argument('--out', type=Path, default=Path('runs/study'))
    parser.add_argument('--results', type=Path, default=Path('docs/results.md'),
                        help='markdown file whose study section is rewritten')
    parser.add_argument('--figures', type=Path, default=Path('docs/study'),
                        help='folder for the plots and results.json (committed with the doc)')
    parser.add_argument('--section', default='main',
                        help='name of the study section in --results (one per budget)')
    parser.add_argument('--set', dest='extra', action='append', default=[],
                        help='extra key=value override for every PPO run (e.g. ppo.num_steps=8)')
    parser.add_argument('--offpolicy-set', dest='offpolicy_extra', action='append', default=[],
                        help='extra key=value override for every off-policy run')
    return parser.parse_args(argv)


def train_run(run_dir, task, method, seed, args):
    """
    Train (or resume, or skip) one run; returns its process figures.

    ``args.config`` (when present) replaces BASE_CONFIG for PPO runs; ``method`` None trains
    that config as it is, with no method switches.
    """
    record = run_dir / 'study_run.json'
    if (run_dir / 'policy').is_dir() and record.is_file():
        return json.loads(record.read_text())
    naming = [f'env.clip={task}', f'env.seed={seed}', f'run.seed={seed}',
              f'run.log_dir={run_dir.parent}', f'run.run_name={run_dir.name}']
    if method in OFFPOLICY_METHODS:
        _, config, switches = OFFPOLICY_METHODS[method]
        module, budget = 'train_offpolicy', ['--total-steps', str(args.offpolicy_steps)]
        overrides = [*naming, *switches, *args.offpolicy_extra]
    else:
        config = getattr(args, 'config', BASE_CONFIG)
        module, budget = 'train', ['--iterations', str(args.iterations)]
        switches = METHODS[method][1] if method is not None else ()
        overrides = [*naming, f'env.num_envs={args.num_envs}', 'run.eval_every=0', *switches,
                     *args.extra]
    command = [sys.executable, '-m', f'smooth_policy_trainer.{module}', '--no-progress']
    if (run_dir / 'checkpoints').is_dir():
        command += ['--resume', str(run_dir), *budget]
    else:
        command += ['--config', config, *budget,
                    *(part for item in overrides for part in ('--set', item))]
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir.parent / f'{run_dir.name}.log', 'a') as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        # wait4 gives this child's own peak RSS (KiB on Linux), not the study's.
        _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f'{task}/{method}/{run_dir.name}: training exited with {code}; see '
                           f'{run_dir.parent / (run_dir.name + ".log")}')
    figures = {'train_wall_s': time.perf_counter() - start,
               'peak_rss_mib': usage.ru_maxrss / 1024.0}
    record.write_text(json.dumps(figures, indent=2) + '\n')
    return figures


def evaluate_run(run_dir, args):
    """Evaluate a run's exported policy once; returns the figures (actions kept on disk)."""
    # Imported here: the study's own process stays light while the children train.
    from lpn_controller.metrics import power_spectral_density
    from lpn_controller.policy_format import load_policy
    from smooth_policy_trainer.evaluation.evaluate import env_config_for, evaluate_policy
    path = run_dir / 'evaluation.json'
    if path.is_file() and (run_dir / 'spectrum.npz').is_file():
        return json.loads(path.read_text())
    policy = load_policy(run_dir / 'policy')
    result = evaluate_policy(policy, env_config_for(policy), args.eval_episodes,
                             args.eval_seconds, keep_actions=True)
    spectra = [power_spectral_density(actions, result['sample_rate_hz'], SPECTRUM_SEGMENT)
               for actions in result.pop('actions') if len(actions) >= SPECTRUM_SEGMENT]
    if spectra:
        frequencies = spectra[0][0]
        power = np.mean([p.mean(axis=1) for _, p in spectra], axis=0)  # over joints, episodes
    else:  # every episode fell before one segment
        frequencies, power = np.zeros(0), np.zeros(0)
    np.savez(run_dir / 'spectrum.npz', frequencies=frequencies, power=power)
    path.write_text(json.dumps(result, indent=2) + '\n')
    return result


def training_curve(run_dir, steps_per_iteration):
    """
    Return (training seconds, mean episode return, s / iteration) from TensorBoard events.

    An off-policy run logs its transitions per second every run.log_every transitions instead
    of iteration times; its s / iteration is the time of ``steps_per_iteration`` transitions.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run_dir), size_guidance={'scalars': 0})
    events.Reload()
    tags = events.Tags()['scalars']
    # Seconds of training (rollouts and updates): robust to resumes and checkpoint pauses.
    if 'perf/iteration_s' in tags:
        durations = {e.step: e.value for e in events.Scalars('perf/iteration_s')}
        per_iteration = list(durations.values())
    elif 'perf/steps_per_s' in tags:
        rates = {e.step: e.value for e in events.Scalars('perf/steps_per_s')}
        logged = sorted(rates)
        durations = {step: (step - previous) / rates[step]
                     for previous, step in zip([0, *logged], logged)}
        per_iteration = [steps_per_iteration / rate for rate in rates.values()]
    else:
        return np.zeros(0), np.zeros(0), float('nan')
    steps = sorted(durations)
    elapsed = dict(zip(steps, np.cumsum([durations[s] for s in steps])))
    # No return is logged before the first episode ends.
    returns = [(elapsed[e.step], e.value) for e in events.Scalars('train/episode_return')
               if e.step in elapsed] if 'train/episode_return' in tags else []
    seconds, values = (np.array(column) for column in zip(*returns)) if returns else \
        (np.zeros(0), np.zeros(0))
    return seconds, values, float(np.median(per_iteration))


def main(argv=None):
    """Run the study; returns the exit status."""
    args = parse_args(argv)
    if args.iterations < 1 or args.eval_episodes < 1 or args.eval_seconds < 1.0:
        print('smoothness_study: need --iterations >= 1, --eval-episodes >= 1 and '
              '--eval-seconds >= 1', file=sys.stderr)
        return 2
    steps_per_iteration = args.num_envs * next(
        (int(item.split('=')[1]) for item in args.extra if item.startswith('ppo.num_steps=')),
        24)
    methods = {**METHODS, **{name: (f'{label} ({args.offpolicy_steps:,} transitions)', ())
                             for name, (label, _, _) in OFFPOLICY_METHODS.items()}}
    # Seed-major: a study stopped early still has every method of every task, on fewer seeds.
    runs = [(task, method, seed) for seed in args.seeds for task in args.tasks
            for method in args.methods]
    study_start = time.perf_counter()
    rows = []
    for index, (task, method, seed) in enumerate(runs, 1):
        run_dir = args.out / task / method / f'seed{seed}'
        began = time.perf_counter()
        process = train_run(run_dir, task, method, seed, args)
        evaluation = evaluate_run(run_dir, args)
        seconds, returns, iteration_s = training_curve(run_dir, steps_per_iteration)
        if method in OFFPOLICY_METHODS and len(seconds):
            # A resumed run's process timed only its last part; the logged rates cover it all.
            process = {**process, 'train_wall_s': float(seconds[-1])}
        spectrum = np.load(run_dir / 'spectrum.npz')
        rows.append({'task': task, 'method': method, 'seed': seed, **process,
                     'iteration_s': iteration_s, 'evaluation': evaluation,
                     'curve': (seconds, returns),
                     'spectrum': (spectrum['frequencies'], spectrum['power'])})
        smooth = evaluation['smoothness']
        print(f'[{index}/{len(runs)}] {task} {method} seed {seed}: return '
              f"{evaluation['return']:.1f}, RMSE {evaluation['joint_rmse_rad']:.3f} rad, "
              f"survival {evaluation['survival_rate']:.2f}, HFR "
              f"{100 * (smooth['hfr']['value'] or 0.0):.2f} %, "
              f'{iteration_s:.2f} s/it, {process["peak_rss_mib"]:.0f} MiB '
              f'({time.perf_counter() - began:.0f} s)', flush=True)

    summary = aggregate(rows, methods)
    args.figures.mkdir(parents=True, exist_ok=True)
    plots = {}
    for task in args.tasks:
        task_rows = [row for row in rows if row['task'] == task]
        # Off-policy runs take 10x the PPO runs' time and log other returns: curves of PPO only.
        on_policy = [row for row in task_rows if row['method'] not in OFFPOLICY_METHODS]
        plots[task] = (plot_spectra(task_rows, methods, args.figures / f'{task}_spectra.png'),
                       plot_training_curves(on_policy, methods,
                                            args.figures / f'{task}_return_vs_time.png')
                       if on_policy else None)
    offpolicy = {name: OFFPOLICY_METHODS[name][1] for name in args.methods
                 if name in OFFPOLICY_METHODS}
    setup = {'iterations': args.iterations, 'num_envs': args.num_envs,
             'steps_per_iteration': steps_per_iteration,
             'env_steps': args.iterations * steps_per_iteration, 'seeds': args.seeds,
             'eval_episodes': args.eval_episodes, 'eval_seconds': args.eval_seconds,
             'base_config': BASE_CONFIG, 'extra_overrides': args.extra,
             'offpolicy': {'steps': args.offpolicy_steps, 'configs': offpolicy,
                           'extra_overrides': args.offpolicy_extra} if offpolicy else None,
             'machine': f'{platform.processor() or platform.machine()}, '
                        f'{os.cpu_count()} cores, {platform.system()}',
             'train_wall_s': sum(row['train_wall_s'] for row in rows),
             'study_wall_s': time.perf_counter() - study_start}
    (args.figures / 'results.json').write_text(json.dumps(
        {'setup': setup, 'summary': summary}, indent=2) + '\n')
    write_results(args.results, summary, setup, plots, methods, args.section)
    print(f'wrote {args.figures / "results.json"}, the plots under {args.figures} and the '
          f'tables in {args.results} (this invocation {setup["study_wall_s"] / 60:.1f} min)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
