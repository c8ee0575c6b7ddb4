"""
Headless simulator demo: stand, wave the arm, trot-in-place the legs, and report.

    python -m sim_bridge.demo [--seconds 6]

Runs the packaged robot in the simulator core (no ROS) with open-loop joint targets and prints
what happened: base height and tilt, how well the joints tracked, the largest torques against
their limits, and how fast the simulation ran.
"""

import argparse
import time

from lpn_controller.rotations import tilt_angle
import numpy as np

from sim_bridge.config import load_config
from sim_bridge.simulator import Simulator


def demo_targets(stand, joint_names, t):
    """Open-loop targets: stand for 2 s, then wave the arm and shift weight between legs."""
    targets = stand.copy()
    if t < 2.0:
        return targets
    s = t - 2.0
    index = {name: i for i, name in enumerate(joint_names)}
    ramp = min(1.0, s / 1.0)  # ease in so nothing jumps
    targets[index['arm_sh1']] = stand[index['arm_sh1']] + ramp * 1.6
    targets[index['arm_el0']] = stand[index['arm_el0']] - ramp * 1.4
    targets[index['arm_sh0']] = ramp * 0.6 * np.sin(2 * np.pi * 0.5 * s)
    targets[index['arm_wr0']] = ramp * 0.5 * np.sin(2 * np.pi * 1.0 * s)
    sway = ramp * 0.08 * np.sin(2 * np.pi * 0.8 * s)
    for leg in ('front_left', 'rear_left'):
        targets[index[f'{leg}_hip_x']] += sway
    for leg in ('front_right', 'rear_right'):
        targets[index[f'{leg}_hip_x']] += sway
    return targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=6.0)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    config = load_config()
    sim = Simulator(config, seed=args.seed)
    stand = sim.joint_targets
    steps = int(round(args.seconds * config.control_rate_hz))
    print(f'simulating {config.model_path.name}: {len(config.joint_names)} joints, '
          f'physics {config.physics_rate_hz:g} Hz, control {config.control_rate_hz:g} Hz, '
          f'{args.seconds:g} s')
    heights, tilts, errors, effort_fraction = [], [], [], []
    start = time.perf_counter()
    for step in range(steps):
        targets = demo_targets(stand, config.joint_names, sim.time)
        instability = sim.step(targets)
        if instability is not None:   # MuJoCo reset the state: nothing after it is physics
            print(f'stopped: {instability}')
            return 1
        state = sim.read_state()
        heights.append(state.base_position[2])
        tilts.append(float(np.degrees(tilt_angle(state.base_orientation))))
        errors.append(np.abs(sim.joint_targets - state.joint_positions))
        effort_fraction.append(np.abs(state.joint_efforts) / sim.effort_limits)
        if (step + 1) % int(config.control_rate_hz) == 0:
            print(f'  t={sim.time:4.1f} s  base height {heights[-1]:.3f} m  tilt '
                  f'{tilts[-1]:4.1f} deg  gripper z '
                  f'{sim.site_positions([config.gripper_site])[0, 2]:.2f} m')
    wall = time.perf_counter() - start
    errors = np.array(errors)
    effort_fraction = np.array(effort_fraction)
    print(f'base height {min(heights):.3f}-{max(heights):.3f} m, max tilt {max(tilts):.1f} deg')
    print('joint tracking error (rad), mean | max:')
    for name, mean, peak in zip(config.joint_names, errors.mean(0), errors.max(0)):
        print(f'  {name:18s} {mean:.3f} | {peak:.3f}')
    worst = int(np.argmax(effort_fraction.max(0)))
    print(f'largest torque: {config.joint_names[worst]} at '
          f'{100 * effort_fraction.max(0)[worst]:.0f} % of its limit')
    print(f'{steps} control steps in {wall:.2f} s wall time '
          f'({args.seconds / wall:.0f}x real time)')
    return 0 if min(heights) > 0.35 else 1


if __name__ == '__main__':
    raise SystemExit(main())
