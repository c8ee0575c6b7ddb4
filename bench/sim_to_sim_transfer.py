"""
Sim-to-sim transfer table: every shipped policy on its home model and on another robot model.

Each shipped policy runs on both models from three starts (the ``start`` column):

* ``clip``: ``evaluate_transfer`` (the figures of ``python -m smooth_policy_trainer.evaluate
  --robot-config``): reference states at random phases, at the clip's root height, which
  belongs to the home model (on another model the feet may start in or above its floor);
* ``on floor``: the same reference states with the root height set so the feet stand on each
  model's own floor (``--start-on-floor``, smooth_policy_trainer.envs.floor_start);
* ``deployed``: the deployed closed loop (quadruped_arm_bringup.deployed_start: stand,
  interpolate to the policy's pose, engage), one run of ``--deployed-seconds``, figures from
  engagement on (no reference: joint RMSE and root error are n/a).

It prints a markdown table of the world-frame and smoothness figures, and what differs between
the two models (mass, base inertia, stance height, foot contact), read from the compiled
models. The ``unstable`` column counts the episodes whose simulation MuJoCo reset (counted
apart from falls; a note follows the table when there are any).

    MENAGERIE_ROOT=~/mujoco_menagerie .venv/bin/python bench/sim_to_sim_transfer.py \
        [--robot-config menagerie_spot_arm] \
        [--episodes 20] [--seconds 10] [--deployed-seconds 20] [--output transfer.json]
"""

import argparse
import json
from pathlib import Path
import warnings

from lpn_controller.config_files import ConfigError
from lpn_controller.policy_format import load_policy
import mujoco
import numpy as np
from quadruped_arm_bringup.deployed_start import deployed_start_figures
from sim_bridge.config import load_config, robot_config_path
from sim_bridge.mjcf import MissingMeshWarning
from sim_bridge.physics import PhysicsMismatchWarning
from sim_bridge.simulator import Simulator
from smooth_policy_trainer.evaluation.evaluate import (env_config_for, evaluate_transfer,
                                                       instability_note)

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / 'src' / 'quadruped_arm_bringup' / 'policies'
COLUMNS = (('survival', 'survival_rate', 2), ('unstable', 'unstable_episodes', 0),
           ('fwd (m/s)', 'forward_speed_m_s', 3),
           ('lat (m/s)', 'lateral_speed_m_s', 3),
           ('heading (deg/s)', 'heading_drift_deg_per_s', 3),
           ('root err (m)', 'root_position_error_rms_m', 3),
           ('joint RMSE (rad)', 'joint_rmse_rad', 3),
           ('HFR (%)', 'hfr', 3), ('Sm', 'sm', 4))


def model_summary(robot_config):
    """Return the figures that tell two models apart (a dict of numbers)."""
    sim = Simulator(load_config(robot_config))
    model, config = sim.model, sim.config
    base = model.body(config.base_body)
    feet = [geom for geom in range(model.ngeom) if model.geom_contype[geom]
            and model.body_parentid[model.geom_bodyid[geom]] != 0
            and model.geom_type[geom] == 2]  # spheres: the feet of both models
    return {
        'total_mass_kg': float(model.body_subtreemass[base.id]),
        'base_mass_kg': float(base.mass[0]),
        'base_inertia_kg_m2': [float(value) for value in base.inertia],
        'stance_height_m': float(sim.read_state().base_position[2]),
        'foot_radius_m': sorted({round(float(model.geom_size[geom][0]), 4) for geom in feet}),
        'contact_geoms': int(sum(1 for geom in range(model.ngeom) if model.geom_contype[geom]
                                 or model.geom_conaffinity[geom])),
        'timestep_s': float(model.opt.timestep),
        'integrator': mujoco.mjtIntegrator(model.opt.integrator).name,
    }


def figure(result, key):
    """Return one figure of an evaluation, smoothness metrics included."""
    if key in ('hfr', 'sm'):
        value = result['smoothness'][key]['value']
        return None if value is None else value * (100.0 if key == 'hfr' else 1.0)
    return result['world'].get(key, result.get(key))


def table(rows):
    """Return the markdown table of (policy, model, start, evaluation) rows."""
    lines = ['| policy | model | start | ' + ' | '.join(name for name, _, _ in COLUMNS) + ' |',
             '|---|---|---|' + '---|' * len(COLUMNS)]
    for policy, model, start, result in rows:
        cells = []
        for _, key, digits in COLUMNS:
            value = figure(result, key)
            cells.append('n/a' if value is None else f'{value:.{digits}f}')
        lines.append(f'| {policy} | {model} | {start} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def evaluate_starts(policy, robot_config, args):
    """Return {start: {'home': figures, 'other': figures}} of one policy from every start."""
    starts = {}
    with warnings.catch_warnings():   # a policy trained in fast physics runs in full here
        warnings.simplefilter('ignore', PhysicsMismatchWarning)
        for start, on_floor in (('clip', False), ('on floor', True)):
            starts[start] = evaluate_transfer(policy, env_config_for(policy), robot_config,
                                              start_on_floor=on_floor, episodes=args.episodes,
                                              seconds=args.seconds, seed=args.seed)
        starts['deployed'] = {
            side: deployed_start_figures(policy, args.deployed_seconds, config, seed=args.seed)
            for side, config in (('home', None), ('other', robot_config))}
    return starts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--robot-config', default='menagerie_spot_arm',
                        help='the other model: a shipped name or a robot YAML')
    parser.add_argument('--policies', nargs='*', default=None,
                        help='policy directories (default: every shipped policy)')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--deployed-seconds', type=float, default=20.0,
                        help='length of the deployed run (the policy engages after about 2 s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', help='write every figure to this JSON file')
    args = parser.parse_args()
    try:
        other = robot_config_path(args.robot_config)
    except ConfigError as error:
        parser.error(f'--robot-config: {error}')
    if other is None:
        parser.error('--robot-config: name the other model (menagerie_spot_arm or a robot YAML)')
    args.robot_config = str(other)

    # Menagerie's XML alone: its mesh geoms are dropped, which the config's comments explain.
    warnings.simplefilter('ignore', MissingMeshWarning)
    policy_dirs = args.policies or sorted(str(path.parent) for path in
                                          POLICIES.glob('*/policy.yaml'))
    rows, reports = [], {}
    for policy_dir in policy_dirs:
        policy = load_policy(policy_dir)
        name = Path(policy_dir).name
        print(f'{name}: {args.episodes} episodes x {args.seconds:g} s on home and '
              f'{args.robot_config}', flush=True)
        reports[name] = starts = evaluate_starts(policy, args.robot_config, args)
        rows += [(name, side, start, starts[start][side])
                 for side in ('home', 'other') for start in starts]
    notes = [instability_note(result, f' of {name} on the {model} model, {start} start')
             for name, model, start, result in rows]
    models = {'home': model_summary(None), 'other': model_summary(args.robot_config)}
    print()
    print(table(rows))
    for note in filter(None, notes):   # unstable episodes: neither survived nor fell
        print(note)
    print()
    for key in models['home']:
        print(f"  {key:<22} home {models['home'][key]}   other {models['other'][key]}")
    if args.output:
        for starts in reports.values():
            for start in ('clip', 'on floor'):
                for side in ('home', 'other'):
                    starts[start][side].pop('actions', None)
        Path(args.output).write_text(json.dumps(
            {'robot_config': args.robot_config, 'models': models, 'policies': reports},
            indent=2, default=lambda value: np.asarray(value).tolist()) + '\n')
        print(f'wrote {args.output}')


if __name__ == '__main__':
    main()
