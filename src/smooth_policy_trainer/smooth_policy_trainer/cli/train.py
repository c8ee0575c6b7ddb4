"""
Train a motion-imitation policy with PPO; export it when done.

    python -m smooth_policy_trainer.train --config CONFIG [--task CLIP] [--policy lpn|mlp]
        [--set key=value ...] [--iterations N]
    python -m smooth_policy_trainer.train --resume RUN_DIR [--iterations N]

(or ``ros2 run smooth_policy_trainer train ...``). CONFIG is a YAML file or the name of a shipped
config (``lpn_trot_arm_wave``). ``--task`` and ``--policy`` are shorthands for ``--set
env.clip=...`` and ``--set policy.kind=...``; ``--iterations`` for ``--set run.iterations=...``
(the total, counted from the start of the run). A resumed run keeps its saved config; only
``--iterations`` may change. The run directory gets config.yaml, TensorBoard events,
checkpoints/, evaluations/ and, at the end, the exported policy in policy/.
"""

import argparse
import sys

from lpn_controller.policy_format import save_policy
from smooth_policy_trainer.config.reader import config_to_dict, ConfigError
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.runners.checkpoint import CheckpointError
from smooth_policy_trainer.runners.ppo_runner import new_run_dir, Runner


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(
        prog='train', description='Train a smooth motion-imitation policy (LPN or MLP) with PPO.')
    parser.add_argument('--config', help='YAML config file or shipped config name')
    parser.add_argument('--task', help='motion clip (shorthand for --set env.clip=CLIP)')
    parser.add_argument('--policy', choices=('lpn', 'mlp'),
                        help='actor kind (shorthand for --set policy.kind=KIND)')
    parser.add_argument('--set', dest='overrides', action='append', default=[],
                        metavar='KEY=VALUE', help='override one config key (value in YAML)')
    parser.add_argument('--iterations', type=int, help='total PPO iterations of the run')
    parser.add_argument('--resume', metavar='RUN_DIR', help='continue a run from its latest '
                        'checkpoint')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if args.resume and (args.config or args.task or args.policy or args.overrides):
        parser.error('--resume continues a run with its saved config; only --iterations may '
                     'be given with it')
    if not args.resume and not args.config:
        parser.error('give --config CONFIG (a file or a shipped config name), or --resume')
    if args.iterations is not None and args.iterations < 1:
        parser.error('--iterations must be at least 1')
    return args


def main(argv=None):
    """Command line entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        if args.resume:
            runner = Runner.resume(args.resume, args.iterations, not args.no_progress)
            print(f'resuming {args.resume} at iteration {runner.iteration} of '
                  f'{runner.config.run.iterations}')
        else:
            overrides = list(args.overrides)
            if args.task:
                overrides.append(f'env.clip={args.task}')
            if args.policy:
                overrides.append(f'policy.kind={args.policy}')
            if args.iterations is not None:
                overrides.append(f'run.iterations={args.iterations}')
            config = load_config(args.config, overrides)
            run_dir = new_run_dir(config)
            runner = Runner(config, run_dir, not args.no_progress)
            print(f'training {config.policy.kind} on {config.env.clip} in {run_dir} '
                  f'({config.env.num_envs} envs x {config.ppo.num_steps} steps per iteration, '
                  f'{config.run.iterations} iterations)')
    except (ConfigError, CheckpointError, FileExistsError, ValueError) as error:
        print(f'train: error: {error}', file=sys.stderr)
        return 2
    try:
        if runner.iteration >= runner.config.run.iterations:
            print(f'{runner.run_dir} is already at iteration {runner.iteration}; pass '
                  '--iterations with a larger total to continue')
            return 0
        status = runner.train()
        if status != 'finished':
            return 130
        policy = build_policy(runner.ppo.actor, runner.normalizer, runner.env.policy_metadata(),
                              config_to_dict(runner.config), runner.git_revision)
        path = save_policy(runner.run_dir / 'policy', policy.metadata, policy.weights)
        print(f'finished {runner.iteration} iterations; exported the policy to {path}\n'
              f'evaluate it with: python -m smooth_policy_trainer.evaluate --policy {path}')
        return 0
    finally:
        runner.close()


if __name__ == '__main__':
    sys.exit(main())
