"""
Throughput of the off-policy learners: transitions per second with one update per transition.

For each task and method, the shipped config (td3_pendulum for Pendulum-v1, td3_pave_hopper for
Hopper-v5, td3_pave_trot_arm_wave for the imitation task) with the method's switches, the
replay buffer filled with ``--warmup`` random transitions, then ``--steps`` timed transitions,
each followed by its updates (environment step, replay, normalisation and the TD3 update, as in
training; evaluation and checkpoints left out). Methods: TD3, TD3 + CAPS, TD3 + PAVE. The last
line gives PAVE's cost over the base per task: ``pave_cost_<task>=...``. Use it to size
bench/pave_reproduction.py's budgets.

    .venv/bin/python bench/offpolicy_throughput.py [--steps 2000] [--warmup 1000]
        [--tasks Pendulum-v1 Hopper-v5 trot_arm_wave] [--methods base caps pave]
"""

import argparse
import tempfile
import time

from smooth_policy_trainer.config.offpolicy_config import load_offpolicy_config
from smooth_policy_trainer.runners.offpolicy_runner import OffPolicyRunner
import torch

CONFIGS = {'Pendulum-v1': 'td3_pendulum', 'Hopper-v5': 'td3_pave_hopper',
           'trot_arm_wave': 'td3_pave_trot_arm_wave'}
METHODS = {'base': ['pave.enabled=false', 'caps.enabled=false'],
           'caps': ['pave.enabled=false', 'caps.enabled=true'],
           'pave': ['pave.enabled=true', 'caps.enabled=false']}


def measure(task, method, steps, warmup, log_dir):
    """Return transitions per second of ``steps`` timed transitions after the warm-up."""
    overrides = METHODS[method] + [f'learner.learning_starts={warmup}', 'run.eval_every=0',
                                   f'run.log_dir={log_dir}']
    config = load_offpolicy_config(CONFIGS[task], overrides)
    runner = OffPolicyRunner(config, f'{log_dir}/{task}_{method}', progress=False)
    try:
        while runner.steps < warmup + 10 * runner.task.num_envs:   # a few updates to warm up
            runner.step()
        start, first = time.perf_counter(), runner.steps
        while runner.steps < first + steps:
            runner.step()
        return (runner.steps - first) / (time.perf_counter() - start), runner.task.num_envs
    finally:
        runner.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--steps', type=int, default=2000, help='timed transitions')
    parser.add_argument('--warmup', type=int, default=1000, help='random transitions first')
    parser.add_argument('--tasks', nargs='+', default=['Pendulum-v1', 'Hopper-v5'],
                        choices=sorted(CONFIGS))
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rates = {}
    with tempfile.TemporaryDirectory() as log_dir:
        print(f'{"task":16s} {"method":8s} {"envs":>5s} {"steps/s":>9s} '
              f'{"hours per 1e5 steps":>20s}', flush=True)
        for task in args.tasks:
            for method in args.methods:
                rate, envs = measure(task, method, args.steps, args.warmup, log_dir)
                rates[task, method] = rate
                print(f'{task:16s} {method:8s} {envs:5d} {rate:9.1f} {1e5 / rate / 3600:20.2f}',
                      flush=True)
    print(f'{args.steps} timed transitions after {args.warmup} random ones, batch 256, '
          f'one update per transition, 1 torch thread')
    costs = [f'pave_cost_{task}={rates[task, "base"] / rates[task, "pave"]:.1f}'
             for task in args.tasks if (task, 'base') in rates and (task, 'pave') in rates]
    print(' '.join(costs))


if __name__ == '__main__':
    main()
