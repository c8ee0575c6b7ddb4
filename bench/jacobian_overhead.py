"""
Cost of the action Jacobian penalty and the other smoothness terms: one PPO update each.

Same rollout batch and sizes for every configuration (observation 60, action 18, the trainer's
network sizes: MLP [256, 128, 64], LPN phase MLP [64, 64] with rank 8): MLP, MLP + exact penalty,
MLP + one-VJP estimator, MLP + CAPS, MLP + GP-LCP, MLP with spectral normalisation, LPN, LPN +
closed-form penalty. Times are medians over interleaved
repeats in one process; peak memory is what one update adds to the peak resident set of a
fresh process (processes with and without the update, compared). The last line gives each
with-penalty time over its own without-penalty time:
``lpn_penalty_ratio=... mlp_exact_penalty_ratio=...``.

    .venv/bin/python bench/jacobian_overhead.py [--envs 64] [--steps 24] [--repeats 5]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

from smooth_policy_trainer.algorithms.ppo import PPO
from smooth_policy_trainer.algorithms.storage import RolloutStorage
from smooth_policy_trainer.config.train_config import PPOConfig
from smooth_policy_trainer.networks.policies import Critic, make_actor
from smooth_policy_trainer.smoothing.jacobian import JacobianPenalty
from smooth_policy_trainer.smoothing.regularizers import CAPS, GradientPenalty
import torch

OBSERVATION_SIZE, NUM_ACTIONS = 60, 18
# name: (actor kind, extra actor options, the PPO regularisers)
CONFIGURATIONS = {
    'mlp': ('mlp', {}, lambda: []),
    'mlp_exact': ('mlp', {}, lambda: [JacobianPenalty(0.01, 'exact')]),
    'mlp_estimator': ('mlp', {}, lambda: [JacobianPenalty(0.01, 'estimator')]),
    'mlp_caps': ('mlp', {}, lambda: [CAPS()]),
    'mlp_gp_lcp': ('mlp', {}, lambda: [GradientPenalty()]),
    'mlp_sn': ('mlp', {'spectral_norm': 1.0}, lambda: []),
    'lpn': ('lpn', {}, lambda: []),
    'lpn_penalty': ('lpn', {}, lambda: [JacobianPenalty(0.01, 'closed_form')]),
}


def build(name, envs, steps):
    """Return a PPO learner and a filled rollout for one configuration (seeded alike)."""
    kind, extra_options, regularizers = CONFIGURATIONS[name]
    torch.manual_seed(0)
    options = {'hidden_sizes': (256, 128, 64)} if kind == 'mlp' else \
        {'hidden_sizes': (64, 64), 'rank': 8}
    actor = make_actor(kind, OBSERVATION_SIZE, NUM_ACTIONS, **options, **extra_options)
    critic = Critic(OBSERVATION_SIZE)
    regularizers = regularizers()
    ppo = PPO(actor, critic, PPOConfig(num_steps=steps, schedule='fixed'), regularizers)
    storage = RolloutStorage(steps, envs, OBSERVATION_SIZE, NUM_ACTIONS)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        states = torch.randn(envs, OBSERVATION_SIZE, generator=generator)
        phases = torch.rand(envs, generator=generator)
        actions, log_probs, values, means, stds = ppo.act(states, phases, generator)
        storage.add(states, phases, actions, log_probs, values, torch.rand(envs),
                    (torch.rand(envs) < 0.02).float(), means, stds, states, phases)
    storage.compute_returns(torch.zeros(envs), 0.99, 0.95)
    return ppo, storage


def peak_rss_mib(name, envs, steps, update):
    """Return this (fresh) process's peak resident set in MiB after building, and updating."""
    ppo, storage = build(name, envs, steps)
    if update:
        ppo.update(storage)
    # VmHWM, not getrusage's ru_maxrss: on Linux ru_maxrss carries the parent's peak across
    # fork and exec, which would hide what the child itself used.
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError('no VmHWM in /proc/self/status: peak memory needs Linux')


def update_memory_mib(name, envs, steps):
    """Peak memory an update adds: fresh processes with and without one update, compared."""
    peaks = []
    for update in (False, True):
        command = [sys.executable, __file__, '--memory-child', name, '--envs', str(envs),
                   '--steps', str(steps)] + (['--with-update'] if update else [])
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        peaks.append(json.loads(output.strip().splitlines()[-1]))
    return peaks[1] - peaks[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--envs', type=int, default=64)
    parser.add_argument('--steps', type=int, default=24)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--memory-child', help=argparse.SUPPRESS)
    parser.add_argument('--with-update', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(peak_rss_mib(args.memory_child, args.envs, args.steps,
                                      args.with_update)))
        return

    torch.set_num_threads(max(1, torch.get_num_threads()))
    setups = {name: build(name, args.envs, args.steps) for name in CONFIGURATIONS}
    for ppo, storage in setups.values():
        ppo.update(storage)  # warm-up
    times = {name: [] for name in CONFIGURATIONS}
    for _ in range(args.repeats):
        for name, (ppo, storage) in setups.items():
            start = time.perf_counter()
            ppo.update(storage)
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}

    memory = {name: update_memory_mib(name, args.envs, args.steps) for name in CONFIGURATIONS}

    batch = args.envs * args.steps
    config = PPOConfig()
    print(f'one PPO update: batch {batch} ({args.envs} envs x {args.steps} steps), '
          f'{config.num_learning_epochs} epochs x {config.num_minibatches} minibatches, '
          f'observation {OBSERVATION_SIZE}, action {NUM_ACTIONS}, {torch.get_num_threads()} '
          f'threads, median of {args.repeats}')
    print(f'{"configuration":16s} {"time (s)":>9s} {"update peak memory (MiB)":>25s}')
    for name in CONFIGURATIONS:
        print(f'{name:16s} {medians[name]:9.3f} {memory[name]:25.1f}')
    print(' '.join(f'{name}_ratio={medians[name] / medians["mlp"]:.2f}' for name in
                   ('mlp_estimator', 'mlp_caps', 'mlp_gp_lcp', 'mlp_sn')) + ' (over mlp)')
    print(f'lpn_penalty_ratio={medians["lpn_penalty"] / medians["lpn"]:.2f} '
          f'mlp_exact_penalty_ratio={medians["mlp_exact"] / medians["mlp"]:.2f}')


if __name__ == '__main__':
    main()
