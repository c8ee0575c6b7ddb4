"""
Sim-to-sim transfer between the physics configurations: train in one, evaluate in both.

    python bench/sim_to_sim.py [--config lpn_trot_arm_wave_base] [--iterations 300] [--seeds 0]
        [--full-policy DIR] [--fast-policy DIR] [--episodes 20] [--seconds 10]
        [--num-envs 64] [--set key=value ...] [--out runs/sim_to_sim] [--output JSON]

A policy trained in ``fast`` and one trained in ``full`` (the same config and budget; each in its
own process, by bench_runs.train_run, so a finished run is reused and an interrupted one
resumes) are each evaluated in both configurations by smooth_policy_trainer.evaluate
.evaluate_policy: the training run's environment (env_config_for) with only env.physics
replaced. ``--full-policy`` / ``--fast-policy`` take an exported policy instead of training (the
shipped src/quadruped_arm_bringup/policies/lpn_trot_arm_wave was trained in full; its budget is
its own, see the printed iterations).

Evaluating a policy in the configuration it was not trained in is the point here, so the
PhysicsMismatchWarning that evaluate_policy raises for it is silenced in this script (only that
warning, only around those evaluations).

For each trained-in configuration and figure (survival, joint RMSE, forward speed, HFR) the
change between the evaluated-in configurations is checked against "within 5 % or the seed
spread": |transferred - native| <= max(5 % of |native|, spread), the spread being the range of
the native figure over the training seeds (none with a single seed: then 5 % alone).
"""

import argparse
from dataclasses import replace
import json
from pathlib import Path
import sys
from types import SimpleNamespace
import warnings

from bench_runs import train_run
import numpy as np

PHYSICS = ('full', 'fast')
TOLERANCE = 0.05
FIGURES = {  # name: (label, read from an evaluation, digits)
    'survival': ('survival', lambda e: e['survival_rate'], 2),
    'joint_rmse': ('joint RMSE (rad)', lambda e: e['joint_rmse_rad'], 4),
    'forward_speed': ('forward speed (m/s)', lambda e: e['forward_speed_m_s'], 3),
    # None when every episode fell before a metric window: nan, which no check passes.
    'hfr': ('HFR (%)', lambda e: percent(e['smoothness']['hfr']['value']), 3),
}


def percent(fraction):
    """Return 100 x fraction, nan for None."""
    return np.nan if fraction is None else 100.0 * fraction


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--config', default='lpn_trot_arm_wave_base')
    parser.add_argument('--iterations', type=int, default=300,
                        help='PPO iterations per trained policy')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='training seeds per trained configuration')
    parser.add_argument('--full-policy', type=Path, help='exported policy trained in full')
    parser.add_argument('--fast-policy', type=Path, help='exported policy trained in fast')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--num-envs', type=int, default=64)
    parser.add_argument('--set', dest='extra', action='append', default=[],
                        metavar='KEY=VALUE', help='extra override for every training run')
    parser.add_argument('--out', type=Path, default=Path('runs/sim_to_sim'),
                        help='folder of the training runs')
    parser.add_argument('--output', type=Path, help='write the figures to this JSON file')
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.episodes < 1 or args.seconds <= 0:
        parser.error('need --iterations >= 1, --episodes >= 1 and --seconds > 0')
    return args


def policies(args):
    """Return {trained-in: [(label, policy directory)]}, training what was not given."""
    from smooth_policy_trainer.config.train_config import load_config
    clip = load_config(args.config).env.clip
    given = {'full': args.full_policy, 'fast': args.fast_policy}
    found = {}
    for physics in PHYSICS:
        if given[physics] is not None:
            found[physics] = [(str(given[physics]), given[physics])]
            continue
        found[physics] = []
        for seed in args.seeds:
            run_dir = args.out / f'{args.config}_{physics}_seed{seed}'
            study_args = SimpleNamespace(config=args.config, iterations=args.iterations,
                                         num_envs=args.num_envs,
                                         extra=[f'env.physics={physics}', *args.extra])
            print(f'training in {physics}, seed {seed}: {run_dir}', flush=True)
            process = train_run(run_dir, clip, None, seed, study_args)
            print(f"  {process['train_wall_s']:.0f} s", flush=True)
            found[physics].append((f'seed {seed}', run_dir / 'policy'))
    return found


def evaluate_both(directory, args):
    """Return (trained-in, iterations, {evaluated-in: evaluation}) of one exported policy."""
    from lpn_controller.policy_format import load_policy
    from sim_bridge.physics import DEFAULT_PHYSICS, PhysicsMismatchWarning
    from smooth_policy_trainer.evaluation.evaluate import (env_config_for, evaluate_policy,
                                                           instability_note)
    policy = load_policy(directory)
    trained_in = policy.metadata.physics or DEFAULT_PHYSICS
    iterations = policy.metadata.training_config.get('run', {}).get('iterations')
    env_config = env_config_for(policy)
    results = {}
    for physics in PHYSICS:
        with warnings.catch_warnings():
            # On purpose: the transfer is what is measured (see the module docstring).
            warnings.simplefilter('ignore', PhysicsMismatchWarning)
            result = evaluate_policy(policy, replace(env_config, physics=physics),
                                     args.episodes, args.seconds)
        results[physics] = {name: read(result) for name, (_, read, _) in FIGURES.items()}
        note = instability_note(result, f' of {directory} in {physics}')
        if note:   # counted apart: neither survived nor fell
            print(note, flush=True)
    return trained_in, iterations, results


def compare(rows):
    """Return, per trained-in configuration and figure, the change and whether it holds."""
    checks = []
    for trained_in in PHYSICS:
        group = [row for row in rows if row['trained_in'] == trained_in]
        if not group:
            continue
        other = PHYSICS[1 - PHYSICS.index(trained_in)]
        for name in FIGURES:
            native = np.array([row['evaluations'][trained_in][name] for row in group])
            moved = np.array([row['evaluations'][other][name] for row in group])
            change = float(np.mean(moved - native))
            reference = float(np.mean(native))
            spread = float(np.ptp(native)) if len(group) > 1 else None
            bound = max(TOLERANCE * abs(reference), spread or 0.0)
            checks.append({
                'trained_in': trained_in, 'native': trained_in, 'transferred': other,
                'figure': name, 'policies': len(group), 'native_value': reference,
                'transferred_value': float(np.mean(moved)), 'change': change,
                'change_percent': 100 * change / reference if reference else None,
                'seed_spread': spread, 'bound': bound, 'holds': bool(abs(change) <= bound)})
    return checks


def tables(rows, checks):
    """Return the printed tables: every evaluation, then the changes and their checks."""
    header = ['trained in', 'policy', 'iterations', 'evaluated in',
              *(label for label, _, _ in FIGURES.values())]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        for physics in PHYSICS:
            values = [f'{row["evaluations"][physics][name]:.{digits}f}'
                      for name, (_, _, digits) in FIGURES.items()]
            lines.append(f"| {row['trained_in']} | {row['label']} | {row['iterations']} | "
                         f'{physics} | ' + ' | '.join(values) + ' |')
    header = ['trained in', 'figure', 'native', 'transferred', 'change', 'change (%)',
              'seed spread', 'within 5 % or the spread']
    lines += ['', '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for check in checks:
        digits = FIGURES[check['figure']][2] + 1
        percent = 'n/a' if check['change_percent'] is None else f"{check['change_percent']:+.1f}"
        spread = ('n/a (one seed)' if check['seed_spread'] is None
                  else f"{check['seed_spread']:.{digits}f}")
        lines.append(
            f"| {check['trained_in']} -> {check['transferred']} | "
            f"{FIGURES[check['figure']][0]} | {check['native_value']:.{digits}f} | "
            f"{check['transferred_value']:.{digits}f} | {check['change']:+.{digits}f} | "
            f"{percent} | {spread} | {'yes' if check['holds'] else 'NO'} |")
    held = sum(check['holds'] for check in checks)
    single = [p for p in PHYSICS if any(c['trained_in'] == p and c['policies'] == 1
                                        for c in checks)]
    lines += ['', f'{held} of {len(checks)} changes within 5 % or the seed spread'
              + (f"; one policy trained in {' and '.join(single)}: no seed spread, 5 % alone"
                 if single else '')]
    return '\n'.join(lines)


def main(argv=None):
    """Command line entry point."""
    args = parse_args(argv)
    rows = []
    for trained_for, found in policies(args).items():
        for label, directory in found:
            trained_in, iterations, evaluations = evaluate_both(directory, args)
            if trained_in != trained_for:
                print(f'note: {directory} was trained in {trained_in}, given as {trained_for}')
            rows.append({'trained_in': trained_in, 'label': label, 'policy': str(directory),
                         'iterations': iterations, 'evaluations': evaluations})
    checks = compare(rows)
    print(f'{args.episodes} episodes x {args.seconds:g} s per evaluation')
    print(tables(rows, checks))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({
            'config': args.config, 'episodes': args.episodes, 'seconds': args.seconds,
            'seeds': args.seeds, 'rows': rows, 'checks': checks}, indent=2) + '\n')
        print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
