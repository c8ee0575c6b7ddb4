"""
Ablate the observation normaliser and the initialisation of the bare MLP on a trot.

    python bench/normalizer_ablation.py [--task trot] [--iterations 300] [--seeds 0 1]
        [--variants ours std_offset default_init rsl_rl] [--out runs/normalizer_ablation]
        [--eval-episodes 20] [--eval-seconds 10] [--num-envs 64]

The bare MLP (the study's ``mlp`` method: lpn_trot_arm_wave_base's env, rewards and PPO,
policy.kind mlp, no penalty) trained once per variant and seed, each in its own process, then
evaluated by the one evaluation (numpy runtime, mean actions, world-frame and smoothness
figures). Variants:

- ``ours``: (s - mean) / sqrt(var + 1e-8), orthogonal initialisation (CleanRL's);
- ``std_offset``: (s - mean) / (std + 0.01), rsl_rl's EmpiricalNormalization;
- ``default_init``: PyTorch's default initialisation of actor and critic, as rsl_rl keeps;
- ``rsl_rl``: both.

Besides the evaluation it prints how strongly each policy reacts to each observation term: the
Frobenius norm of d action / d raw observation, per term, at the normaliser's mean over 64
phases (central differences through the exported runtime). Runs are kept under --out: a
finished run is skipped, an interrupted one resumes from its checkpoint.
"""

import argparse
import json
from pathlib import Path
import sys
from types import SimpleNamespace

from bench_runs import evaluate_run, train_run
import numpy as np

OURS = ('normalizer.epsilon=1e-8', 'normalizer.std_offset=0')
RSL_RL = ('normalizer.epsilon=0', 'normalizer.std_offset=0.01')
ORTHOGONAL = ('policy.init=orthogonal', 'critic.init=orthogonal')
DEFAULT_INIT = ('policy.init=default', 'critic.init=default')
# Every variant sets all four keys: the base config's own choice must not leak in.
VARIANTS = {
    'ours': ('sqrt(var + 1e-8), orthogonal init', (*OURS, *ORTHOGONAL)),
    'std_offset': ('std + 0.01, orthogonal init', (*RSL_RL, *ORTHOGONAL)),
    'default_init': ('sqrt(var + 1e-8), PyTorch init', (*OURS, *DEFAULT_INIT)),
    'rsl_rl': ('std + 0.01, PyTorch init', (*RSL_RL, *DEFAULT_INIT)),
}


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--task', default='trot')
    parser.add_argument('--iterations', type=int, default=300)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--out', type=Path, default=Path('runs/normalizer_ablation'))
    parser.add_argument('--eval-episodes', type=int, default=20)
    parser.add_argument('--eval-seconds', type=float, default=10.0)
    parser.add_argument('--num-envs', type=int, default=64)
    return parser.parse_args(argv)


def observation_sensitivity(policy, phases=64, step=1e-4):
    """Return {term: mean over phases of ||d action / d raw term||_F} at the observation mean."""
    from lpn_controller.runtime import make_runtime
    runtime = make_runtime(policy, lpn_mode='exact')
    metadata = policy.metadata
    mean = np.asarray(metadata.observation_mean, dtype=np.float64)
    phase = np.linspace(0.0, 1.0, phases, endpoint=False)
    size = len(mean)
    # Row k of the batch moves input k: one batched call per sign.
    jacobian = np.zeros((phases, len(metadata.joint_names), size))
    for index in range(size):
        plus, minus = np.tile(mean, (phases, 1)), np.tile(mean, (phases, 1))
        plus[:, index] += step
        minus[:, index] -= step
        jacobian[:, :, index] = (runtime.act(plus, phase) - runtime.act(minus, phase)) / (2 * step)
    figures, start = {}, 0
    for term in metadata.observation_terms:
        block = jacobian[:, :, start:start + term.size]
        figures[term.name] = float(np.mean(np.linalg.norm(block, axis=(1, 2))))
        start += term.size
    figures['total'] = float(np.mean(np.linalg.norm(jacobian, axis=(1, 2))))
    return figures


def run_row(variant, seed, args):
    """Train, evaluate and probe one run; returns its row."""
    from lpn_controller.policy_format import load_policy
    run_dir = args.out / f'{args.task}_{variant}_seed{seed}'
    study_args = SimpleNamespace(iterations=args.iterations, num_envs=args.num_envs,
                                 extra=list(VARIANTS[variant][1]),
                                 eval_episodes=args.eval_episodes,
                                 eval_seconds=args.eval_seconds)
    print(f'{variant} seed {seed}: training {run_dir}', flush=True)
    process = train_run(run_dir, args.task, 'mlp', seed, study_args)
    evaluation = evaluate_run(run_dir, study_args)
    sensitivity = observation_sensitivity(load_policy(run_dir / 'policy'))
    row = {'variant': variant, 'seed': seed, **process, 'evaluation': evaluation,
           'sensitivity': sensitivity}
    (run_dir / 'ablation_row.json').write_text(json.dumps(row, indent=2) + '\n')
    return row


def table(rows):
    """Return the markdown table of the rows, one line per run then the variant means."""
    terms = [name for name in rows[0]['sensitivity'] if name != 'total']
    header = ['variant', 'seed', 'fwd (m/s)', 'lat (m/s)', 'heading (deg/s)', 'RMSE (rad)',
              'survival', 'HFR (%)', 'Sm', '|da/ds|', *(f'|da/d {t}|' for t in terms), 'train s']

    def cells(group, label, seed):
        def mean(read):
            return float(np.mean([read(row) for row in group]))
        world = [row['evaluation']['world'] for row in group]
        values = [
            mean(lambda r: r['evaluation']['forward_speed_m_s']),
            float(np.mean([w['lateral_speed_m_s'] for w in world])),
            mean(lambda r: r['evaluation']['heading_drift_deg_per_s']),
            mean(lambda r: r['evaluation']['joint_rmse_rad']),
            mean(lambda r: r['evaluation']['survival_rate']),
            100 * mean(lambda r: r['evaluation']['smoothness']['hfr']['value']),
            mean(lambda r: r['evaluation']['smoothness']['sm']['value']),
            mean(lambda r: r['sensitivity']['total']),
            *(mean(lambda r, t=t: r['sensitivity'][t]) for t in terms),
            mean(lambda r: r['train_wall_s'])]
        digits = [3, 3, 2, 3, 2, 3, 4, 2, *([2] * len(terms)), 0]
        return [label, seed, *(f'{v:.{d}f}' for v, d in zip(values, digits))]

    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        lines.append('| ' + ' | '.join(map(str, cells([row], row['variant'], row['seed'])))
                     + ' |')
    for variant in dict.fromkeys(row['variant'] for row in rows):
        group = [row for row in rows if row['variant'] == variant]
        lines.append('| ' + ' | '.join(map(str, cells(group, f'**{variant}**', 'mean'))) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    """Command line entry point."""
    args = parse_args(argv)
    rows = [run_row(variant, seed, args) for seed in args.seeds for variant in args.variants]
    print(table(rows))
    for variant in args.variants:
        print(f'{variant}: {VARIANTS[variant][0]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
