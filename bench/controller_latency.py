"""
Per-step latency of the numpy policy runtimes (lpn_controller), side by side.

Measures ``policy.act(observation, phase)`` (normalisation, network, clipping) for the 18-joint
robot with the trainer's sizes and random weights:

* LPN in table mode (K, k interpolated from 200 phase bins; rank 8, phase MLP [64, 64], H = 2),
* LPN in exact mode (the phase MLP evaluated every step),
* an MLP of the trainer's size ([256, 128, 64], ELU),

interleaved step by step so all see the same machine conditions, plus the observation builder
and a full controller step (observation + LPN table + safety + monitor push) for context.
Prints p50/p99 in microseconds; the last line is ``lpn_p99_us=... mlp_p99_us=...`` where the LPN
figure is table mode, the deployment default. Target: LPN p99 under 50 us.

Run: ``.venv/bin/python bench/controller_latency.py [--steps 20000]``
"""

import argparse
import time

from lpn_controller.controller import ControllerConfig, ControllerCore
from lpn_controller.example_policy import make_example_policy
from lpn_controller.observation import ObservationBuilder
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.runtime import LpnPolicy, MlpPolicy
from lpn_controller.safety import SafetyMode
import numpy as np
from sim_bridge.config import load_config

# The robot's joints in action order, from the one robot configuration.
JOINT_NAMES = load_config().joint_names
TARGET_P99_US = 50.0


def live_rates(now):
    """Return body rates that change every message, as a live IMU's do (a constant is frozen)."""
    return np.full(3, 1e-6 * now)


def engaged_controller(policy):
    """Return a ControllerCore already in POLICY mode, and the state it was fed."""
    runtime = LpnPolicy(policy, mode='table')
    metadata = policy.metadata
    core = ControllerCore(runtime, metadata.default_pose - 2.0, metadata.default_pose + 2.0,
                          ControllerConfig())
    state = (metadata.default_pose.copy(), np.zeros(len(JOINT_NAMES)))
    upright = np.array([1.0, 0.0, 0.0, 0.0])
    now = 0.0
    while core.safety.mode != SafetyMode.POLICY:
        core.set_joint_state(now, *state)
        core.set_imu(now, upright, live_rates(now))
        core.step(now)
        now += 0.02
    return core, state, upright, now


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=20000)
    parser.add_argument('--warmup', type=int, default=1000)
    args = parser.parse_args()

    lpn = ExportedPolicy(*make_example_policy('lpn', JOINT_NAMES, seed=0))
    mlp = ExportedPolicy(*make_example_policy('mlp', JOINT_NAMES, seed=0))
    builder = ObservationBuilder(lpn.metadata.observation_terms, lpn.metadata.default_pose)
    core, (positions, velocities), upright, now = engaged_controller(lpn)
    rng = np.random.default_rng(0)
    num_joints = len(JOINT_NAMES)

    def observation_step(step):
        return builder.build(positions, velocities, upright, np.zeros(3), np.zeros(num_joints))

    controller_clock = [now]

    def controller_step(step):
        controller_clock[0] += 0.02
        core.set_joint_state(controller_clock[0], positions, velocities)
        core.set_imu(controller_clock[0], upright, live_rates(controller_clock[0]))
        return core.step(controller_clock[0])

    observations = rng.normal(size=(256, lpn.metadata.observation_size))
    phases = rng.uniform(size=256)
    table = LpnPolicy(lpn, mode='table', table_bins=200)
    exact = LpnPolicy(lpn, mode='exact')
    mlp_runtime = MlpPolicy(mlp)

    def act(runtime):
        return lambda step: runtime.act(observations[step % 256], phases[step % 256])

    cases = {
        'lpn_table': ('LPN table (r=8, phase MLP [64, 64], H=2, 200 bins)', act(table)),
        'lpn_exact': ('LPN exact (phase MLP every step)', act(exact)),
        'mlp': ('MLP [256, 128, 64] ELU', act(mlp_runtime)),
        'observation': ('observation builder (18 joints, 60 values)', observation_step),
        'controller_step': ('controller step (observation + LPN table + safety + monitor)',
                            controller_step),
    }
    samples = {name: np.empty(args.steps) for name in cases}
    clock = time.perf_counter_ns
    for step in range(args.warmup + args.steps):
        for name, (_, function) in cases.items():
            start = clock()
            function(step)
            elapsed = clock() - start
            if step >= args.warmup:
                samples[name][step - args.warmup] = elapsed * 1e-3

    print(f'controller_latency: per-call latency in us, {args.steps} interleaved steps each, '
          f'{num_joints} joints, observation size {lpn.metadata.observation_size}, numpy '
          f'{np.__version__}')
    p99 = {}
    for name, (label, _) in cases.items():
        p50_value, p99[name] = np.percentile(samples[name], [50, 99])
        print(f'  {label:<62s} p50={p50_value:7.1f}  p99={p99[name]:7.1f}')
    met = 'met' if p99['lpn_table'] < TARGET_P99_US else 'NOT met'
    print(f'target LPN p99 < {TARGET_P99_US:g} us: {met}')
    print(f'lpn_p99_us={p99["lpn_table"]:.1f} mlp_p99_us={p99["mlp"]:.1f}')


if __name__ == '__main__':
    main()
