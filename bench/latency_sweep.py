"""
Latency sweep: where each policy falls as its actions reach the motors later.

For each policy (``--policies``, default every shipped one), each extra action delay
(``--delays-ms``, default 0 10 20 30 40) and each model (the packaged robot, and
``--robot-config`` when given: a shipped name such as ``menagerie_spot_arm``, which needs
MENAGERIE_ROOT, or a robot YAML), ``--episodes`` episodes of ``--seconds`` s through the numpy
runtime in full physics (smooth_policy_trainer.evaluation.latency_sweep: the training env's
action latency fixed at the delay, everything else off; another model starts from reference
states standing on its floor). Prints a markdown table of survival, forward speed and HFR (the
mean over joints and the power-weighted ratio) per delay, then the delay each policy first loses
an episode at; ``--output`` writes every figure to a JSON file.

    [MENAGERIE_ROOT=...] .venv/bin/python bench/latency_sweep.py [--policies DIR ...]
        [--robot-config menagerie_spot_arm] [--delays-ms 0 10 20 30 40] [--episodes 20]
        [--seconds 10] [--seed 0] [--output latency.json]
"""

import argparse
import json
from pathlib import Path
import sys
import time
import warnings

from lpn_controller.config_files import ConfigError
from lpn_controller.policy_format import load_policy
from sim_bridge.config import load_config, robot_config_name, robot_config_path
from sim_bridge.mjcf import MissingMeshWarning
from sim_bridge.physics import PhysicsMismatchWarning
from smooth_policy_trainer.evaluation.evaluate import instability_note
from smooth_policy_trainer.evaluation.latency_sweep import DELAYS_S, latency_sweep, sweep_table

POLICIES = Path(__file__).resolve().parents[1] / 'src' / 'quadruped_arm_bringup' / 'policies'


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--policies', nargs='+', default=None,
                        help='policy directories (default: every shipped policy)')
    parser.add_argument('--robot-config', default=None,
                        help='another model to sweep besides the packaged robot: a shipped name '
                        '(menagerie_spot_arm) or a robot YAML')
    parser.add_argument('--delays-ms', type=float, nargs='+',
                        default=[1e3 * delay for delay in DELAYS_S],
                        help='extra action delays (ms), whole physics steps (2 ms at 500 Hz)')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', type=Path, help='write every figure to this JSON file')
    args = parser.parse_args(argv)
    if args.episodes < 1 or not args.seconds > 0:
        parser.error('need --episodes >= 1 and --seconds > 0')
    if any(delay < 0 for delay in args.delays_ms):
        parser.error(f'delays must be at least 0 ms, got {args.delays_ms}')
    return args


def main(argv=None):
    """Sweep every policy and model; print the table; 1 on a problem."""
    args = parse_args(argv)
    policy_dirs = args.policies or sorted(str(path.parent) for path in
                                          POLICIES.glob('*/policy.yaml'))
    try:
        robots = [None] + ([robot_config_path(args.robot_config)] if args.robot_config else [])
        for robot in robots:
            load_config(robot)   # fails now, naming the file or MENAGERIE_ROOT, not mid-sweep
        policies = [load_policy(path) for path in policy_dirs]
    except (OSError, ValueError, ConfigError) as error:
        print(f'cannot set up the sweep: {error}', file=sys.stderr)
        return 1
    delays = [delay / 1e3 for delay in args.delays_ms]
    options = {'episodes': args.episodes, 'seconds': args.seconds, 'seed': args.seed}
    sweeps, notes = [], []
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Menagerie's XML alone (meshes dropped, as its config explains); policies trained in
        # fast physics run in full physics here, as evaluate_transfer runs them.
        warnings.simplefilter('ignore', MissingMeshWarning)
        warnings.simplefilter('ignore', PhysicsMismatchWarning)
        for policy, policy_dir in zip(policies, policy_dirs):
            name = Path(policy_dir).name
            for robot in robots:
                model = robot_config_name(robot)
                print(f'{name} on {model}: {args.episodes} episode(s) x {args.seconds:g} s '
                      'per delay', flush=True)
                try:
                    rows = latency_sweep(policy, delays, robot, **options)
                except (OSError, ValueError, ConfigError) as error:
                    print(f'cannot sweep {name} on {model}: {error}', file=sys.stderr)
                    return 1
                sweeps.append((name, rows))
                notes += [instability_note(row['evaluation'],
                                           f' of {name} on {model} at '
                                           f'{1e3 * row["action_latency_s"]:g} ms')
                          for row in rows]
    wall_s = time.perf_counter() - started
    print()
    print(sweep_table(sweeps))
    for note in filter(None, notes):   # unstable episodes: neither survived nor fell
        print(note)
    print(f'\n{wall_s:.1f} s wall for {len(sweeps)} sweeps of {len(delays)} delays')
    if args.output:
        args.output.write_text(json.dumps(
            {'delays_s': delays, 'episodes': args.episodes, 'seconds': args.seconds,
             'seed': args.seed, 'robot_config': args.robot_config, 'wall_s': wall_s,
             'sweeps': [{'policy': name, 'model': rows[0]['model'], 'start': rows[0]['start'],
                         'rows': rows} for name, rows in sweeps]}, indent=2) + '\n')
        print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
