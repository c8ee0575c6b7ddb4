"""
Fault table: the deployed closed loop (bridge core + controller core) with faults injected.

For each policy (``--policies``, default the shipped trot policies), each robot model
(``--robot-config``: the packaged robot by default; ``menagerie_spot_arm`` for MuJoCo
Menagerie's Spot, which needs MENAGERIE_ROOT) and each fault (joint states stop, the IMU
freezes, NaN in a joint state, an e-stop, sideways force pushes on the base of several sizes
for 0.1 s, and velocity pushes: the base's horizontal velocity changes at once by each of
``--push-velocities``, in each of ``--push-directions`` of its heading frame), one run of
``run_closed_loop``: the policy engages after its 2 s approach and trots, the fault comes at
``--fault-at`` s (between two control steps, as faults do), and the run goes on for ``--after``
s. Prints a markdown table: what the controller did (safety mode and reason), when it first
commanded damping after the fault (goal: within one control period, 20 ms at 50 Hz), how the
run ended (ground truth), and for pushes whether the robot survived (the policy still running
and no fall by the end) and the base's peak speed along the push after it.

Run: ``[MENAGERIE_ROOT=...] .venv/bin/python bench/fault_injection.py [--policies DIR ...]
[--robot-config quadruped_arm menagerie_spot_arm] [--after 3]
[--push-forces 100 200 400 800] [--push-velocities 1.0 1.5]
[--push-directions sideways forward] [--faults KIND ...] [--state-timeout-s 0.1]
[--frozen-imu-timeout-s 0.1] [--output JSON]``
"""

import argparse
from dataclasses import asdict
import json
from pathlib import Path
import sys
import tempfile
import time
import warnings

from lpn_controller.bags import BagWriter
from lpn_controller.config_files import ConfigError
from lpn_controller.controller import ControllerConfig
from lpn_controller.policy_format import load_policy
from lpn_controller.safety import SafetyConfig
from quadruped_arm_bringup.fault_injection import (FAULT_KINDS, fault_table, instability_lines,
                                                   PUSH_VELOCITIES_M_S, run_fault,
                                                   standard_faults, VELOCITY_PUSH_DIRECTIONS)
from sim_bridge.config import DEFAULT_CONFIG_PATH, robot_config_name, robot_config_path
from sim_bridge.mjcf import MissingMeshWarning
from sim_bridge.physics import PhysicsMismatchWarning

POLICIES = Path(__file__).resolve().parents[1] / 'src' / 'quadruped_arm_bringup' / 'policies'
TROT_POLICIES = ('lpn_trot', 'lpn_trot_arm_wave')


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--policies', '--policy', nargs='+',
                        default=[str(POLICIES / name) for name in TROT_POLICIES],
                        help='exported policy directories (default: the shipped trot policies)')
    parser.add_argument('--robot-config', nargs='+', default=[DEFAULT_CONFIG_PATH.stem],
                        help='robot models: shipped names (quadruped_arm, menagerie_spot_arm) '
                        'or robot YAMLs; default: the packaged robot')
    parser.add_argument('--fault-at', type=float, default=3.006,
                        help='sim time of the fault (s); the policy engages at about 2.04 s')
    parser.add_argument('--after', type=float, default=3.0,
                        help='sim seconds the run goes on after the fault')
    parser.add_argument('--push-forces', type=float, nargs='*', default=[100, 200, 400, 800],
                        help='sizes of the 0.1 s sideways force pushes (N)')
    parser.add_argument('--push-velocities', type=float, nargs='*',
                        default=list(PUSH_VELOCITIES_M_S),
                        help="sizes of the velocity pushes: changes of the base's horizontal "
                        'velocity (m/s)')
    parser.add_argument('--push-directions', nargs='*', default=list(VELOCITY_PUSH_DIRECTIONS),
                        choices=list(VELOCITY_PUSH_DIRECTIONS),
                        help="the velocity pushes' directions in the base's heading frame "
                        '(sideways: to its left)')
    parser.add_argument('--faults', nargs='+', default=list(FAULT_KINDS), choices=FAULT_KINDS,
                        help='which kinds of fault to run (default: every kind)')
    defaults = SafetyConfig()
    parser.add_argument('--state-timeout-s', type=float, default=defaults.state_timeout_s)
    parser.add_argument('--frozen-imu-timeout-s', type=float,
                        default=defaults.frozen_imu_timeout_s)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', type=Path, help='write every outcome to this JSON file')
    args = parser.parse_args(argv)
    if not args.after > 0:
        parser.error(f'--after must be positive, got {args.after}')
    return args


def main(argv=None):
    """Run every policy, model and fault; print the table; 1 on a problem."""
    args = parse_args(argv)
    try:
        policies = [load_policy(path) for path in args.policies]
        robots = [robot_config_path(robot) for robot in args.robot_config]
        faults = [fault for fault in standard_faults(args.fault_at, args.push_forces,
                                                     args.push_velocities,
                                                     args.push_directions)
                  if fault.kind in args.faults]
    except (OSError, ValueError, ConfigError) as error:
        print(f'cannot set up the runs: {error}', file=sys.stderr)
        return 1
    config = ControllerConfig(safety=SafetyConfig(
        state_timeout_s=args.state_timeout_s, frozen_imu_timeout_s=args.frozen_imu_timeout_s))
    seconds = args.fault_at + args.after
    outcomes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as bags, warnings.catch_warnings():
        # Menagerie's XML alone (its meshes dropped, as its config explains); a policy trained
        # in fast physics runs in the bridge's full physics, as it does on the robot.
        warnings.simplefilter('ignore', MissingMeshWarning)
        warnings.simplefilter('ignore', PhysicsMismatchWarning)
        for policy in policies:
            for robot in robots:
                for fault in faults:
                    with BagWriter(Path(bags) / f'run{len(outcomes)}') as bag:
                        outcomes.append(run_fault(policy, fault, seconds, bag, config,
                                                  seed=args.seed, robot_config=robot))
    if not outcomes:
        print('no runs: every fault was left out', file=sys.stderr)
        return 1
    engaged = sorted({'never' if outcome.policy_engaged_s is None
                      else f'{outcome.policy_engaged_s:.2f}' for outcome in outcomes})
    print(f'policies {", ".join(Path(policy.source).name for policy in policies)} on '
          f'{", ".join(robot_config_name(robot) for robot in robots)}; '
          f'{1 / outcomes[0].control_period_s:g} Hz control; '
          f'state_timeout_s {args.state_timeout_s:g}, frozen_imu_timeout_s '
          f'{args.frozen_imu_timeout_s:g}; policy engaged at '
          f'{", ".join(engaged)} s, '
          f'fault at {args.fault_at:g} s, {args.after:g} s observed after it '
          f'({time.perf_counter() - started:.1f} s wall for {len(outcomes)} runs)\n')
    print(fault_table(outcomes))
    for line in instability_lines(outcomes):   # unstable runs stopped early: not the fault's
        print(line)
    if args.output:
        args.output.write_text(json.dumps(
            [{**asdict(outcome), 'fault': asdict(outcome.fault), 'label': outcome.fault.label,
              'ending': outcome.ending, 'survived': outcome.survived}
             for outcome in outcomes], indent=2) + '\n')
        print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
