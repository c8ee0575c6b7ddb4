"""
Train an off-policy actor-critic (TD3 or SAC, with PAVE or CAPS) on a Gym or imitation task.

    python -m smooth_policy_trainer.train_offpolicy --config CONFIG [--set key=value ...]
        [--total-steps N]
    python -m smooth_policy_trainer.train_offpolicy --resume RUN_DIR [--total-steps N]

(or ``ros2 run smooth_policy_trainer train_offpolicy ...``). CONFIG is a YAML file or the name
of a shipped config under config/offpolicy (``td3_pendulum``, ``td3_pave_hopper``,
``td3_pave_trot_arm_wave``, ...). ``--total-steps`` is ``--set run.total_steps=...`` (the total
of environment transitions, counted from the start of the run). A resumed run keeps its saved
config; only ``--total-steps`` may change. The run directory gets config.yaml, TensorBoard
events, checkpoints/, evaluations/ (return, smoothness and critic diagnostics) and, for an
imitation task, the exported policy in policy/ (also written when a finished run is resumed).
"""

import argparse
import sys

from lpn_controller.policy_metadata import PolicyFormatError
from smooth_policy_trainer.config.offpolicy_config import load_offpolicy_config
from smooth_policy_trainer.config.reader import ConfigError
from smooth_policy_trainer.runners.checkpoint import CheckpointError
from smooth_policy_trainer.runners.offpolicy_runner import new_offpolicy_run_dir, OffPolicyRunner


def parse_args(argv=None):
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(
        prog='train_offpolicy', description='Train TD3 or SAC (optionally with PAVE on the '
        'critics or CAPS on the actor) on a Gymnasium or motion-imitation task.')
    parser.add_argument('--config', help='YAML config file or shipped off-policy config name')
    parser.add_argument('--set', dest='overrides', action='append', default=[],
                        metavar='KEY=VALUE', help='override one config key (value in YAML)')
    parser.add_argument('--total-steps', type=int, help='total environment transitions')
    parser.add_argument('--resume', metavar='RUN_DIR', help='continue a run from its latest '
                        'checkpoint')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if args.resume and (args.config or args.overrides):
        parser.error('--resume continues a run with its saved config; only --total-steps may '
                     'be given with it')
    if not args.resume and not args.config:
        parser.error('give --config CONFIG (a file or a shipped config name), or --resume')
    if args.total_steps is not None and args.total_steps < 1:
        parser.error('--total-steps must be at least 1')
    return args


def main(argv=None):
    """Command line entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        if args.resume:
            runner = OffPolicyRunner.resume(args.resume, args.total_steps, not args.no_progress)
            print(f'resuming {args.resume} at {runner.steps} of '
                  f'{runner.config.run.total_steps} steps')
        else:
            overrides = list(args.overrides)
            if args.total_steps is not None:
                overrides.append(f'run.total_steps={args.total_steps}')
            config = load_offpolicy_config(args.config, overrides)
            run_dir = new_offpolicy_run_dir(config)
            runner = OffPolicyRunner(config, run_dir, not args.no_progress)
            method = '+'.join([config.learner.algorithm] + [
                name for name in ('pave', 'caps') if getattr(config, name).enabled])
            print(f'training {method} on {runner.task.name} in {run_dir} '
                  f'({runner.task.num_envs} envs, {config.run.total_steps} steps)')
    except (ConfigError, CheckpointError, FileExistsError, ValueError) as error:
        print(f'train_offpolicy: error: {error}', file=sys.stderr)
        return 2
    try:
        if runner.steps < runner.config.run.total_steps:
            if runner.train() != 'finished':
                return 130
            print(f'finished {runner.steps} steps in {runner.run_dir}')
        else:
            print(f'{runner.run_dir} is already at {runner.steps} steps; pass --total-steps '
                  'with a larger total to continue')
        if runner.config.task == 'imitation':
            path = runner.export()
            print(f'exported the policy to {path}\nevaluate it with: python -m '
                  f'smooth_policy_trainer.evaluate --policy {path}')
        return 0
    except PolicyFormatError as error:
        print(f'train_offpolicy: error: {error}', file=sys.stderr)
        return 1
    finally:
        runner.close()


if __name__ == '__main__':
    sys.exit(main())
