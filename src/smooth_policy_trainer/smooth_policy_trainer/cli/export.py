"""
Export a training checkpoint to the lpn_controller policy format (POLICY_FORMAT.md).

    python -m smooth_policy_trainer.export --run RUN_DIR [--checkpoint FILE] [--output DIR]
"""

import argparse
from pathlib import Path
import sys

from lpn_controller.policy_format import save_policy
from lpn_controller.policy_metadata import PolicyFormatError
from smooth_policy_trainer.runners.checkpoint import CheckpointError, load_checkpoint
from smooth_policy_trainer.runners.checkpoint_export import policy_from_checkpoint


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog='export', description='Export a training checkpoint to the lpn_controller policy '
        'format (a directory, or a .tar.gz/.zip archive).')
    parser.add_argument('--run', required=True, help='run directory (holds checkpoints/)')
    parser.add_argument('--checkpoint', help="checkpoint file (default: the run's latest)")
    parser.add_argument('--output', help='policy directory or archive (default: RUN/policy)')
    args = parser.parse_args(argv)
    checkpoint = Path(args.checkpoint) if args.checkpoint else Path(args.run)
    output = Path(args.output) if args.output else Path(args.run) / 'policy'
    try:
        state = load_checkpoint(checkpoint)
        policy = policy_from_checkpoint(state)
        path = save_policy(output, policy.metadata, policy.weights)
    except (CheckpointError, PolicyFormatError, ValueError) as error:
        print(f'export: error: {error}', file=sys.stderr)
        return 1
    print(f"exported {policy.metadata.kind} policy from {state['path']} (iteration "
          f"{state['iteration']}) to {path}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
