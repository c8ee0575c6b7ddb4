"""
Simulator throughput: control steps per second for N environments, against raw mj_step.

Runs N environments of 50 Hz control steps with PD at the physics rate through VectorSimulator
(targets in, RobotState out, as the trainer uses it) and, in the same run, the raw bound: the same
models (with the physics configuration's options: rate, integrator, solver, collision filter) and
threads calling only mj_step, as many substeps per control step, with fixed controls. The last
line is ``ratio=...`` (ours / raw, both in the configuration run).

    .venv/bin/python bench/sim_throughput.py [--physics full|fast] [--envs 32] [--seconds 5]

``fast`` keeps the trainer's fall-detection bodies (EnvConfig.fall_bodies) in contact with the
floor, as the trainer's environments do.
"""

import argparse
import time

import mujoco
import numpy as np
from sim_bridge.physics import DEFAULT_PHYSICS, PHYSICS_CONFIGS
from sim_bridge.vector import VectorSimulator
from smooth_policy_trainer.config.env_config import EnvConfig


def measure(run_once, seconds):
    """Call run_once until `seconds` have passed; return calls per second."""
    run_once()  # warm-up
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run_once()
        calls += 1
    return calls / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--envs', type=int, default=32)
    parser.add_argument('--seconds', type=float, default=5.0)
    parser.add_argument('--threads', type=int, default=None, help='default: all cores')
    parser.add_argument('--physics', default=DEFAULT_PHYSICS, choices=sorted(PHYSICS_CONFIGS))
    args = parser.parse_args()

    vec = VectorSimulator(args.envs, seed=0, num_threads=args.threads, physics=args.physics,
                          contact_bodies=EnvConfig().fall_bodies)
    substeps = vec.config.substeps
    rng = np.random.default_rng(0)
    stand = vec.envs[0].joint_targets
    targets = stand + 0.05 * rng.standard_normal((args.envs, len(stand)))

    def ours():
        vec.step(targets)
        vec.read_state()

    def raw_chunk(ids):
        for i in ids:
            env = vec.envs[i]
            mujoco.mj_step(env.model, env.data, nstep=substeps)

    def raw():
        vec._run(raw_chunk)

    # Interleave the two so that machine load affects both alike.
    ours_rates, raw_rates = [], []
    for _ in range(3):
        vec.reset()
        ours_rates.append(measure(ours, args.seconds / 3) * args.envs)
        vec.reset()
        raw_rates.append(measure(raw, args.seconds / 3) * args.envs)
    ours_rate, raw_rate = np.median(ours_rates), np.median(raw_rates)
    vec.close()
    options = vec.envs[0].model.opt
    print(f'physics={vec.physics.name} envs={args.envs} threads={len(vec._chunks)} '
          f'control_rate_hz={vec.config.control_rate_hz:g} '
          f'physics_rate_hz={vec.config.physics_rate_hz:g} substeps={substeps} '
          f'integrator={mujoco.mjtIntegrator(options.integrator).name[len("mjINT_"):]} '
          f'solver_iterations={options.iterations}')
    print(f'control_steps_per_s={ours_rate:.0f} (simulated seconds per second: '
          f'{ours_rate / vec.config.control_rate_hz:.1f})')
    print(f'raw_mj_step_bound_control_steps_per_s={raw_rate:.0f} '
          f'(mj_step calls per second: {raw_rate * substeps:.0f})')
    print(f'ratio={ours_rate / raw_rate:.3f}')


if __name__ == '__main__':
    main()
