"""
Task formulation ablation: which observation and reward terms make the robot move in the world.

    python bench/task_formulation.py [--clip trot] [--iterations 300] [--seeds 0 1]
        [--variants none velocity heading ...] [--config lpn_trot_arm_wave_base] [--num-envs 64]
        [--episodes 20] [--seconds 10] [--set key=value ...] [--out runs/task_formulation]
        [--output JSON]

Each variant adds switches to the config (fast physics for all, so a run costs about 100 s per
300 iterations here); every run trains in its own process (bench_runs.train_run: a
finished run is reused, an interrupted one resumes) and its exported policy is evaluated through
the numpy runtime (evaluate_policy, 20 episodes of 10 s). The table puts the world-frame figures
first (forward and lateral speed, heading drift, root position error), then joint RMSE and HFR,
each as the mean over seeds with the per-seed values beside it.
"""

import argparse
import json
from pathlib import Path
import sys
from types import SimpleNamespace

from bench_runs import train_run
import numpy as np

VELOCITY = ('env.base_linear_velocity.enabled=true',)
HEADING = ('env.observe_heading=true',)
# Variants in the order each builds on the last; the name says what it adds.
VARIANTS = {
    'none': ('the shipped formulation before: no velocity, no heading', ()),
    'velocity': ('+ base linear velocity (odometry, noise/bias/latency)', VELOCITY),
    'heading': ('+ heading (IMU yaw since start)', VELOCITY + HEADING),
    'root_position': ('+ root position reward (w 0.2, k 5)',
                      VELOCITY + HEADING + ('env.reward_terms.root_position.weight=0.2',)),
    'drift_termination': ('+ root position reward + end at 0.5 m drift',
                          VELOCITY + HEADING + ('env.reward_terms.root_position.weight=0.2',
                                                'env.max_root_drift=0.5')),
    'sharp_root_velocity': ('velocity + heading, root velocity k 4 -> 10',
                            VELOCITY + HEADING + ('env.reward_terms.root_velocity.scale=10.0',)),
}
FIGURES = (  # (label, read from an evaluation, digits)
    ('forward speed (m/s)', lambda e: e['forward_speed_m_s'], 3),
    ('lateral speed (m/s)', lambda e: e['lateral_speed_m_s'], 3),
    ('heading drift (deg/s)', lambda e: e['heading_drift_deg_per_s'], 2),
    ('root position RMS (m)', lambda e: e['world']['root_position_error_rms_m'], 2),
    ('joint RMSE (rad)', lambda e: e['joint_rmse_rad'], 3),
    ('HFR (%)', lambda e: 100.0 * e['smoothness']['hfr']['value'], 2),
    ('survival', lambda e: e['survival_rate'], 2),
)


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--clip', default='trot')
    parser.add_argument('--config', default='lpn_trot_arm_wave_base')
    parser.add_argument('--iterations', type=int, default=300)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--num-envs', type=int, default=64)
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--set', dest='extra', action='append', default=[],
                        help='a further override for every run (key=value)')
    parser.add_argument('--out', type=Path, default=Path('runs/task_formulation'))
    parser.add_argument('--output', type=Path, help='write the figures to this JSON file')
    return parser.parse_args(argv)


def run_variant(name, seed, args):
    """Train (or reuse) one run of a variant and evaluate it; returns (process, evaluation)."""
    from lpn_controller.policy_format import load_policy
    from smooth_policy_trainer.evaluation.evaluate import env_config_for, evaluate_policy
    run_dir = args.out / args.clip / f'{name}_s{seed}'
    switches = ['env.physics=fast', *VARIANTS[name][1], *args.extra]
    train_args = SimpleNamespace(config=args.config, iterations=args.iterations,
                                 num_envs=args.num_envs, extra=switches)
    process = train_run(run_dir, args.clip, None, seed, train_args)
    path = run_dir / 'evaluation.json'
    if path.is_file():
        return process, json.loads(path.read_text())
    policy = load_policy(run_dir / 'policy')
    evaluation = evaluate_policy(policy, env_config_for(policy), args.episodes, args.seconds)
    path.write_text(json.dumps(evaluation, indent=2) + '\n')
    return process, evaluation


def table(rows):
    """Return the markdown table: one row per variant, mean over seeds and each seed's value."""
    header = ['variant', *(label for label, _, _ in FIGURES), 'train s']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for name, runs in rows.items():
        cells = [f'`{name}`: {VARIANTS[name][0]}']
        for _, read, digits in FIGURES:
            values = [read(evaluation) for _, evaluation in runs]
            each = ' / '.join(f'{v:.{digits}f}' for v in values)
            cells.append(f'{np.mean(values):.{digits}f} ({each})' if len(values) > 1 else each)
        cells.append(f'{np.mean([p["train_wall_s"] for p, _ in runs]):.0f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    """Run every variant and seed, print the table, optionally write the figures."""
    args = parse_args(argv)
    rows = {}
    for name in args.variants:
        rows[name] = []
        for seed in args.seeds:
            print(f'{args.clip}: {name}, seed {seed} ({args.iterations} iterations)', flush=True)
            rows[name].append(run_variant(name, seed, args))
    print(f'\n{args.clip}, {args.iterations} iterations, seeds {args.seeds}, '
          f'{args.episodes} x {args.seconds:g} s:\n')
    print(table(rows))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(
            {name: [{'process': p, 'evaluation': {k: v for k, v in e.items() if k != 'world'}}
                    for p, e in runs] for name, runs in rows.items()}, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
