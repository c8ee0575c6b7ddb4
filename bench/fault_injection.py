"""
Fault table: the deployed closed loop (bridge core + controller core) with faults injected.

For each fault (joint states stop, the IMU freezes, NaN in a joint state, an e-stop, sideways
pushes on the base of several sizes for 0.1 s) one run of ``run_closed_loop``: the policy
engages after its 2 s approach, the fault comes at ``--fault-at`` s (between two control steps,
as faults do), and the run goes on for ``--after`` s. Prints a markdown table: what the
controller did (safety mode and reason), when it first commanded damping after the fault
(goal: within one control period, 20 ms at 50 Hz), and how the run ended (ground truth).

Run: ``.venv/bin/python bench/fault_injection.py [--after 3] [--push-forces 100 200 400 800]
[--state-timeout-s 0.1] [--frozen-imu-timeout-s 0.1]``
"""

import argparse
from pathlib import Path
import sys
import tempfile
import time

from lpn_controller.bags import BagWriter
from lpn_controller.controller import ControllerConfig
from lpn_controller.policy_format import load_policy
from lpn_controller.safety import SafetyConfig
from quadruped_arm_bringup.fault_injection import (fault_table, instability_lines, run_fault,
                                                   standard_faults)

SHIPPED_LPN = (Path(__file__).resolve().parents[1] / 'src' / 'quadruped_arm_bringup'
               / 'policies' / 'lpn_trot_arm_wave')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--policy', default=str(SHIPPED_LPN), help='exported policy directory')
    parser.add_argument('--fault-at', type=float, default=3.006,
                        help='sim time of the fault (s); the policy engages at about 2.04 s')
    parser.add_argument('--after', type=float, default=3.0,
                        help='sim seconds the run goes on after the fault')
    parser.add_argument('--push-forces', type=float, nargs='*', default=[100, 200, 400, 800],
                        help='sizes of the 0.1 s sideways pushes (N)')
    defaults = SafetyConfig()
    parser.add_argument('--state-timeout-s', type=float, default=defaults.state_timeout_s)
    parser.add_argument('--frozen-imu-timeout-s', type=float,
                        default=defaults.frozen_imu_timeout_s)
    args = parser.parse_args(argv)

    try:
        policy = load_policy(args.policy)
    except (OSError, ValueError) as error:
        print(f'cannot load the policy: {error}', file=sys.stderr)
        return 1
    config = ControllerConfig(safety=SafetyConfig(
        state_timeout_s=args.state_timeout_s, frozen_imu_timeout_s=args.frozen_imu_timeout_s))
    seconds = args.fault_at + args.after
    outcomes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as bags:
        for index, fault in enumerate(standard_faults(args.fault_at, args.push_forces)):
            with BagWriter(Path(bags) / f'run{index}') as bag:
                outcomes.append(run_fault(policy, fault, seconds, bag, config))
    engaged = {outcome.policy_engaged_s for outcome in outcomes}
    print(f'policy {policy.source}, {1 / outcomes[0].control_period_s:g} Hz control; '
          f'state_timeout_s {args.state_timeout_s:g}, frozen_imu_timeout_s '
          f'{args.frozen_imu_timeout_s:g}; policy engaged at '
          f'{", ".join(f"{value:.2f}" for value in sorted(engaged))} s, fault at '
          f'{args.fault_at:g} s, {args.after:g} s observed after it '
          f'({time.perf_counter() - started:.1f} s wall for {len(outcomes)} runs)\n')
    print(fault_table(outcomes))
    for line in instability_lines(outcomes):   # unstable runs stopped early: not the fault's
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
