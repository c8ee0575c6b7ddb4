"""
Which randomisation closes which gap: train one policy per randomisation group, evaluate each.

    MENAGERIE_ROOT=/work/menagerie .venv/bin/python bench/randomization_ablation.py
        [--base-policy lpn_trot] [--groups none dynamics contact actuators latency pushes all]
        [--iterations 300] [--seeds 0] [--num-envs 64] [--episodes 20] [--seconds 10]
        [--deployed-seconds 20] [--out runs/randomization_ablation] [--output JSON]

The recipe is the shipped policy's own (``--base-policy``: its provenance training config, the
same task, rewards, PPO and regulariser; for a policy trained in two stages, its first stage's
config, since the ablation trains from scratch); each variant turns on one group of
env.domain_randomization at its default ranges (``none``: nothing, the baseline at the same
budget; ``all``: every group) and trains ``--iterations`` PPO iterations per seed, each run in
its own process (bench_runs.train_run: a finished run is reused, an interrupted one
resumes). Each policy is then evaluated, through the numpy runtime, where the gaps are:

* ``home``: the packaged robot, reference starts (the training task);
* ``home, driver gains``: the packaged robot with the Spot driver's default joint gains
  instead of the trained ones (a robot config written next to the runs);
* ``spot, on floor``: Menagerie's Spot (``--robot-config``, default menagerie_spot_arm: needs
  MENAGERIE_ROOT), reference starts standing on its floor;
* ``spot, deployed``: Menagerie's Spot, the deployed start (stand, interpolate, engage).

Without MENAGERIE_ROOT the Spot rows are left out, with a note. The table's figures are the
issue's targets: survival, forward speed, |lateral| speed, |heading drift|, HFR.
"""

import argparse
import json
import os
from pathlib import Path
import sys
from types import SimpleNamespace
import warnings

import yaml

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / 'src' / 'quadruped_arm_bringup' / 'policies'
GROUP_SETS = {
    'none': (),
    'dynamics': ('mass', 'center_of_mass', 'inertia'),
    'contact': ('friction', 'foot_contact'),
    'actuators': ('actuators', 'joint_dynamics'),
    'latency': ('action_latency', 'observation_latency', 'observation_noise'),
    'pushes': ('pushes',),
}
# The Spot driver's default gains (spot_ros2's spot_driver), joint order hx, hy, kn per leg and
# sh0, sh1, el0, el1, wr0, wr1; the trained ones are the packaged robot configuration's.
DRIVER_KP = {'*_hip_x': 624.0, '*_hip_y': 936.0, '*_knee': 286.0, 'arm_sh0': 1020.0,
             'arm_sh1': 255.0, 'arm_el0': 204.0, 'arm_el1': 102.0, 'arm_wr0': 102.0,
             'arm_wr1': 102.0}
DRIVER_KD = {'*_hip_x': 5.2, '*_hip_y': 5.2, '*_knee': 2.04, 'arm_sh0': 10.2, 'arm_sh1': 15.3,
             'arm_el0': 10.2, 'arm_el1': 2.04, 'arm_wr0': 2.04, 'arm_wr1': 2.04}
COLUMNS = (('survival', 'survival_rate', 2), ('fwd (m/s)', 'forward_speed_m_s', 3),
           ('lat (m/s)', 'lateral_speed_m_s', 3),
           ('heading (deg/s)', 'heading_drift_deg_per_s', 2), ('HFR (%)', 'hfr', 2))


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--base-policy', default='lpn_trot',
                        help='shipped policy (or policy directory) whose training config is the '
                        'recipe')
    parser.add_argument('--groups', nargs='+', default=[*GROUP_SETS, 'all'],
                        choices=[*GROUP_SETS, 'all'])
    parser.add_argument('--iterations', type=int, default=300)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--num-envs', type=int, default=64)
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--deployed-seconds', type=float, default=20.0)
    parser.add_argument('--robot-config', default='menagerie_spot_arm')
    parser.add_argument('--set', dest='extra', action='append', default=[], metavar='KEY=VALUE',
                        help='config override for every run')
    parser.add_argument('--out', type=Path, default=Path('runs/randomization_ablation'))
    parser.add_argument('--output', type=Path, help='write every figure to this JSON file')
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.episodes < 1 or args.seconds <= 0:
        parser.error('need --iterations >= 1, --episodes >= 1 and --seconds > 0')
    return args


def group_overrides(name):
    """Return the --set overrides that turn one variant's groups on."""
    from smooth_policy_trainer.config.domain_randomization import GROUPS
    groups = GROUPS if name == 'all' else GROUP_SETS[name]
    # Every group off first: a recipe may randomise already (a second stage's does).
    return [f'env.domain_randomization.{group}.enabled={str(group in groups).lower()}'
            for group in GROUPS]


def base_config(args):
    """Write the base policy's training config as a YAML file under --out; return its path."""
    from lpn_controller.policy_format import load_policy
    folder = Path(args.base_policy)
    policy = load_policy(folder if folder.is_dir() else POLICIES / args.base_policy)
    config = dict(policy.metadata.training_config)
    if not isinstance(config.get('env'), dict):
        raise SystemExit(f'{policy.source} records no training config to train from')
    if config.get('run', {}).get('init_from'):
        # A second stage starts from a trained policy; the ablation trains from scratch, on the
        # first stage's recipe: the shipped config of the policy's name.
        from smooth_policy_trainer.config import config_to_dict, load_train_config
        from smooth_policy_trainer.config.reader import ConfigError
        try:
            config = config_to_dict(load_train_config(Path(policy.source).name))
        except ConfigError as error:
            raise SystemExit(f'{policy.source} is a second training stage; the config of its '
                             f'first stage is needed: {error}') from None
    path = args.out / 'base_config.yaml'
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, config['env']['clip']


def driver_gains_config(folder):
    """Write the packaged robot's configuration with the Spot driver's gains; return its path."""
    from sim_bridge.config import DEFAULT_CONFIG_PATH
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw.update(model=str(DEFAULT_CONFIG_PATH.parent / raw['model']), kp=DRIVER_KP, kd=DRIVER_KD)
    path = folder / 'packaged_with_driver_gains.yaml'
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def evaluate_variant(policy_dir, args, driver_robot, spot_robot):
    """Return {evaluation: figures} of one trained policy (see the module)."""
    from lpn_controller.policy_format import load_policy
    from quadruped_arm_bringup.deployed_start import deployed_start_figures
    from sim_bridge.physics import PhysicsMismatchWarning
    from smooth_policy_trainer.evaluation.evaluate import env_config_for, evaluate_transfer
    policy = load_policy(policy_dir)
    options = {'episodes': args.episodes, 'seconds': args.seconds}
    figures = {}
    driver = evaluate_transfer(policy, env_config_for(policy), driver_robot, **options)
    figures['home'], figures['home, driver gains'] = driver['home'], driver['other']
    if spot_robot is not None:
        spot = evaluate_transfer(policy, env_config_for(policy), spot_robot,
                                 start_on_floor=True, **options)
        figures['spot, on floor'] = spot['other']
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', PhysicsMismatchWarning)
            figures['spot, deployed'] = deployed_start_figures(policy, args.deployed_seconds,
                                                               spot_robot)
    for result in figures.values():
        result.pop('actions', None)
    return figures


def cell(result, key, digits):
    """Return one table cell of an evaluation."""
    if key == 'hfr':
        value = result['smoothness']['hfr']['value']
        value = None if value is None else 100.0 * value
    else:
        value = result.get(key)
    return 'n/a' if value is None else f'{value:.{digits}f}'


def table(rows):
    """Return the markdown table of (variant, seed, evaluation, figures) rows."""
    lines = ['| randomised | seed | evaluated on | ' + ' | '.join(c for c, _, _ in COLUMNS)
             + ' |', '|---|---|---|' + '---|' * len(COLUMNS)]
    for variant, seed, where, result in rows:
        lines.append(f'| {variant} | {seed} | {where} | '
                     + ' | '.join(cell(result, key, digits) for _, key, digits in COLUMNS)
                     + ' |')
    return '\n'.join(lines)


def main(argv=None):
    """Train, evaluate and tabulate; returns the exit status."""
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sim_bridge.config import ConfigError, robot_config_path
    from sim_bridge.mjcf import MissingMeshWarning
    from bench_runs import train_run
    warnings.simplefilter('ignore', MissingMeshWarning)   # Menagerie's XML without its meshes
    config_path, clip = base_config(args)
    driver_robot = driver_gains_config(args.out)
    spot_robot, note = None, None
    try:
        spot_robot = robot_config_path(args.robot_config)
        if '${MENAGERIE_ROOT}' in spot_robot.read_text() and not os.environ.get('MENAGERIE_ROOT'):
            raise ConfigError('MENAGERIE_ROOT is not set')
    except ConfigError as error:
        spot_robot, note = None, f'note: no {args.robot_config} rows ({error})'
    rows, results = [], {}
    for variant in args.groups:
        for seed in args.seeds:
            run_dir = args.out / f'{variant}_seed{seed}'
            training = SimpleNamespace(config=str(config_path), iterations=args.iterations,
                                       num_envs=args.num_envs,
                                       extra=[*group_overrides(variant), *args.extra])
            print(f'{variant} (seed {seed}): training {args.iterations} iterations', flush=True)
            process = train_run(run_dir, clip, None, seed, training)
            figures = evaluate_variant(run_dir / 'policy', args, driver_robot, spot_robot)
            results[f'{variant}_seed{seed}'] = {'training': process, 'evaluations': figures}
            rows += [(variant, seed, where, result) for where, result in figures.items()]
    print()
    print(table(rows))
    if note:
        print(note)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({'base_policy': args.base_policy,
                                           'iterations': args.iterations, 'runs': results},
                                          indent=2) + '\n')
        print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
