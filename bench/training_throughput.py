"""
Training throughput of two variants of a task, and where the time goes.

    python bench/training_throughput.py [--config lpn_trot_arm_wave_base] [--iterations 20]
        [--warmup 1] [--compare physics|randomization] [--groups GROUP ...]
        [--set key=value ...] [--output JSON]

``--compare physics`` (the default): the full and the fast physics configuration.
``--compare randomization``: domain randomisation off and on (env.domain_randomization: every
group, or the ``--groups`` named), in the config's physics: what randomising costs.

Two runners of the same task (the two variants) live in one process and take turns, one PPO
iteration each, in the order A, B, B, A, ..., so that the machine's load falls on both alike.
Each iteration is Runner.step(): the trainer's own rollout and PPO update. Timers around the
runner's VectorSimulator.step (MuJoCo stepping on the worker threads plus the readout copies),
ImitationEnv.step and PPO.act split the rollout into physics, the rest of the environment step
(observations, reward, termination, resets; randomisation's draws, pushes and sensor buffers),
policy forward passes and the runner's own work (normaliser, storage, tensors); the update is
timed by Runner.step itself.

The Amdahl bound is the speedup of a whole iteration if only the physics time shrank by the
factor measured for it, the rest of the iteration staying as in the first variant. The last line
is ``speedup=X.XX``: the second variant over the first, environment steps per second, updates
included (below 1: the second is slower).
"""

import argparse
import functools
import json
from pathlib import Path
import sys
import tempfile
import time

import mujoco
from smooth_policy_trainer.config.domain_randomization import GROUPS
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.runners.ppo_runner import Runner

PHYSICS = ('full', 'fast')
RANDOMIZATION = ('off', 'on')
PARTS = ('physics', 'env_python', 'policy_forward', 'runner_python', 'update')
LABELS = {'physics': 'physics (VectorSimulator.step)',
          'env_python': 'env Python (obs, reward, termination, resets)',
          'policy_forward': 'policy forward (PPO.act)',
          'runner_python': 'runner Python (normaliser, storage)',
          'update': 'PPO update'}


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--config', default='lpn_trot_arm_wave_base')
    parser.add_argument('--iterations', type=int, default=20,
                        help='timed PPO iterations per physics configuration')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed iterations per configuration first')
    parser.add_argument('--compare', choices=('physics', 'randomization'), default='physics')
    parser.add_argument('--groups', nargs='+', choices=GROUPS, default=list(GROUPS),
                        help='randomisation groups turned on (--compare randomization)')
    parser.add_argument('--set', dest='overrides', action='append', default=[],
                        metavar='KEY=VALUE', help='config override for both runners')
    parser.add_argument('--output', type=Path, help='write the figures to this JSON file')
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0:
        parser.error('need --iterations >= 1 and --warmup >= 0')
    return args


class Timers:
    """Seconds accumulated per name; wrap() times every call of a callable."""

    def __init__(self):
        self.seconds = {}

    def wrap(self, name, function):
        """Return ``function`` with its calls' wall time added to ``name``."""
        self.seconds.setdefault(name, 0.0)

        @functools.wraps(function)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
        return timed

    def reset(self):
        """Zero every counter."""
        self.seconds = dict.fromkeys(self.seconds, 0.0)


def instrumented_runner(config, run_dir):
    """Return a Runner whose simulator, environment and policy calls are timed, and its Timers."""
    runner = Runner(config, run_dir, progress=False)
    timers = Timers()
    # Instance attributes shadow the methods: Runner.rollout and ImitationEnv.step call these.
    runner.env.sim.step = timers.wrap('sim_step', runner.env.sim.step)
    runner.env.step = timers.wrap('env_step', runner.env.step)
    runner.ppo.act = timers.wrap('act', runner.ppo.act)
    runner.ppo.value = timers.wrap('act', runner.ppo.value)
    return runner, timers


def variants(args):
    """Return {variant name: its config overrides}, in the order the report compares them."""
    if args.compare == 'physics':
        return {name: [f'env.physics={name}'] for name in PHYSICS}
    return {'off': [], 'on': [f'env.domain_randomization.{group}.enabled=true'
                              for group in args.groups]}


def measure(args):
    """Run the interleaved iterations; returns {variant: totals} and the runners' setup."""
    names = tuple(variants(args))
    totals = {name: {'iterations': 0, 'steps': 0, 'collect_s': 0.0, 'iteration_s': 0.0,
                     **dict.fromkeys(PARTS, 0.0)} for name in names}
    runners = {}
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for name, overrides in variants(args).items():
                config = load_config(args.config, [*args.overrides, *overrides,
                                                   'run.eval_every=0'])
                runners[name] = instrumented_runner(config, Path(scratch) / name)
            for index in range(args.warmup + args.iterations):
                order = names if index % 2 == 0 else names[::-1]
                for name in order:
                    runner, timers = runners[name]
                    timers.reset()
                    scalars = runner.step()
                    if index < args.warmup:
                        continue
                    add_iteration(totals[name], runner, scalars, timers.seconds)
            setup = {name: describe(runner) for name, (runner, _) in runners.items()}
        finally:
            for runner, _ in runners.values():
                runner.close()
    return totals, setup


def add_iteration(total, runner, scalars, seconds):
    """Add one iteration's timings to the totals of its physics configuration."""
    steps = runner.config.ppo.num_steps * runner.config.env.num_envs
    iteration_s = scalars['perf/iteration_s']
    update_s = scalars['perf/update_s']
    collect_s = iteration_s - update_s
    total['iterations'] += 1
    total['steps'] += steps
    total['collect_s'] += collect_s
    total['iteration_s'] += iteration_s
    total['physics'] += seconds['sim_step']
    total['env_python'] += seconds['env_step'] - seconds['sim_step']
    total['policy_forward'] += seconds['act']
    total['runner_python'] += collect_s - seconds['env_step'] - seconds['act']
    total['update'] += update_s


def describe(runner):
    """Return what a configuration runs: rates, integrator, environments, steps."""
    sim = runner.env.sim
    model = sim.envs[0].model
    return {'randomized': runner.config.env.domain_randomization.enabled_groups(),
            'physics_rate_hz': sim.config.physics_rate_hz, 'substeps': sim.config.substeps,
            'control_rate_hz': sim.config.control_rate_hz,
            'integrator': mujoco.mjtIntegrator(model.opt.integrator).name[len('mjINT_'):],
            'solver_iterations': model.opt.iterations,
            'num_envs': runner.config.env.num_envs, 'num_steps': runner.config.ppo.num_steps,
            'threads': len(sim._chunks)}


def figures(totals):
    """Return the per-configuration rates and shares, the speedups and the Amdahl bound."""
    result = {}
    for name, total in totals.items():
        per_iteration = {part: total[part] / total['iterations'] for part in PARTS}
        result[name] = {
            'iterations': total['iterations'],
            'collect_steps_per_s': total['steps'] / total['collect_s'],
            'total_steps_per_s': total['steps'] / total['iteration_s'],
            'update_s': total['update'] / total['iterations'],
            'iteration_s': total['iteration_s'] / total['iterations'],
            'seconds_per_iteration': per_iteration,
            'shares': {part: total[part] / total['iteration_s'] for part in PARTS},
        }
    first, second = list(totals)
    full, fast = result[first], result[second]
    physics_speedup = full['seconds_per_iteration']['physics'] / \
        fast['seconds_per_iteration']['physics']
    share = full['shares']['physics']
    result['physics_speedup'] = physics_speedup
    result['amdahl_bound'] = 1.0 / ((1.0 - share) + share / physics_speedup)
    result['amdahl_limit'] = 1.0 / (1.0 - share)   # physics taking no time at all
    result['collect_speedup'] = fast['collect_steps_per_s'] / full['collect_steps_per_s']
    result['speedup'] = fast['total_steps_per_s'] / full['total_steps_per_s']
    return result


def report(result, setup):
    """Return the printed report; its last line is speedup=X.XX."""
    lines = []
    names = tuple(setup)
    first, second = names
    for name in names:
        s = setup[name]
        lines.append(f"{name}: physics {s['physics_rate_hz']:g} Hz ({s['substeps']} substeps "
                     f"per {s['control_rate_hz']:g} Hz control step), integrator "
                     f"{s['integrator']}, {s['solver_iterations']} solver iterations, "
                     f"{s['num_envs']} envs x {s['num_steps']} steps, {s['threads']} threads, "
                     f"randomised: {', '.join(s['randomized']) or 'nothing'}")
    lines += ['', '| | ' + ' | '.join(names) + f' | {second} / {first} |',
              '|---|---|---|---|']

    def row(label, key, digits):
        full, fast = result[first][key], result[second][key]
        lines.append(f'| {label} | {full:.{digits}f} | {fast:.{digits}f} | {fast / full:.2f} |')
    row('env steps/s, collecting only', 'collect_steps_per_s', 0)
    row('env steps/s, updates included', 'total_steps_per_s', 0)
    row('s per update', 'update_s', 3)
    row('s per iteration', 'iteration_s', 3)
    lines += ['', '| s per iteration (share) | ' + ' | '.join(names) + ' |', '|---|---|---|']
    for part in PARTS:
        cells = [f"{result[name]['seconds_per_iteration'][part]:.3f} "
                 f"({100 * result[name]['shares'][part]:.0f} %)" for name in names]
        lines.append(f'| {LABELS[part]} | ' + ' | '.join(cells) + ' |')
    lines += ['',
              f"physics alone: {result['physics_speedup']:.2f}x as fast in {second} "
              f"({100 * result[first]['shares']['physics']:.0f} % of a {first} iteration)",
              f"Amdahl bound (only physics time shrinks, by {result['physics_speedup']:.2f}x): "
              f"{result['amdahl_bound']:.2f}x; with physics free: {result['amdahl_limit']:.2f}x",
              f"measured: collecting {result['collect_speedup']:.2f}x, updates included "
              f"{result['speedup']:.2f}x",
              f"speedup={result['speedup']:.2f}"]
    return '\n'.join(lines)


def main(argv=None):
    """Command line entry point."""
    args = parse_args(argv)
    totals, setup = measure(args)
    result = figures(totals)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({'setup': setup, 'config': args.config,
                                           'overrides': args.overrides, **result},
                                          indent=2) + '\n')
    print(report(result, setup))
    return 0


if __name__ == '__main__':
    sys.exit(main())
