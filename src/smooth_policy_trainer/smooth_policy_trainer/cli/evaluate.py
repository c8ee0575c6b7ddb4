"""
Evaluate an exported policy in the training environment through the lpn_controller runtime.

    python -m smooth_policy_trainer.evaluate --policy DIR_OR_ARCHIVE [--episodes N]
        [--seconds S] [--output FILE.json] [--physics full|fast] [--start-on-floor]
        [--robot-config CONFIG [--joint-remap POLICY:ROBOT ...]]

Figures and their definitions: evaluation/evaluate.py.
"""

import argparse
from dataclasses import replace
import json
from pathlib import Path
import sys

from lpn_controller.joint_map import parse_joint_remap
from lpn_controller.policy_format import load_policy
from lpn_controller.policy_metadata import PolicyFormatError
from sim_bridge.config import robot_config_path
from sim_bridge.physics import PHYSICS_CONFIGS
from smooth_policy_trainer.evaluation.evaluate import (env_config_for, evaluate_policy,
                                                       evaluate_transfer, format_table,
                                                       instability_note, TRANSFER_PHYSICS)
from smooth_policy_trainer.evaluation.transfer import change_lines


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog='evaluate', description='Deterministic rollouts of an exported policy through the '
        'lpn_controller runtime: imitation return, joint RMSE, survival and smoothness.')
    parser.add_argument('--policy', required=True, help='policy directory or archive')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--output', help='write the figures to this JSON file')
    parser.add_argument('--lpn-mode', default='table', choices=('table', 'exact'))
    parser.add_argument('--seed', type=int, default=0, help='start phases and reset noise')
    parser.add_argument('--physics', choices=sorted(PHYSICS_CONFIGS),
                        help="simulation options to evaluate in (default: the training run's, "
                        'and full with --robot-config: each model as its MJCF says); full is '
                        'what the bridge and the robot run')
    parser.add_argument('--robot-config', help='another model: a robot configuration YAML, or '
                        'the name of one shipped with sim_bridge (menagerie_spot_arm); run '
                        'there too and report the change from the home model')
    parser.add_argument('--start-on-floor', action='store_true',
                        help='start from reference states with the root height set so the '
                        "feet stand on the model's floor (for models the clip was not made on)")
    parser.add_argument('--joint-remap', nargs='*', default=[], metavar='POLICY:ROBOT',
                        help="policy joint names to the robot config's (POLICY=ROBOT too), "
                        'over its joint_map')
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.seconds <= 0:
        parser.error('need --episodes >= 1 and --seconds > 0')
    if args.joint_remap and not args.robot_config:
        parser.error('--joint-remap needs --robot-config')
    options = {'episodes': args.episodes, 'seconds': args.seconds, 'lpn_mode': args.lpn_mode,
               'seed': args.seed}
    try:
        policy = load_policy(args.policy)
        home_config = env_config_for(policy)
        if args.physics:
            home_config = replace(home_config, physics=args.physics)
        home_config = replace(home_config, start_on_floor=args.start_on_floor)
        if args.robot_config:
            result = evaluate_transfer(policy, home_config,
                                       robot_config_path(args.robot_config),
                                       parse_joint_remap(args.joint_remap),
                                       start_on_floor=args.start_on_floor,
                                       physics=args.physics or TRANSFER_PHYSICS, **options)
        else:
            result = evaluate_policy(policy, home_config, **options)
    except (PolicyFormatError, ValueError) as error:
        print(f'evaluate: error: {error}', file=sys.stderr)
        return 1
    if args.robot_config:
        notes = [instability_note(result['home'], ' on the home model'),
                 instability_note(result['other'], f' on {args.robot_config}')]
        print('\n'.join([f'home model: {format_table(result["home"])}',
                         f'on {args.robot_config}: {format_table(result["other"])}',
                         *change_lines(result), *filter(None, notes)]))
    else:
        print('\n'.join(filter(None, [format_table(result), instability_note(result)])))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + '\n')
        print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
