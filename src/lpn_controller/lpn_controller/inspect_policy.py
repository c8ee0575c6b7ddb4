"""
Command line: validate an exported policy and print its summary.

``ros2 run lpn_controller inspect_policy PATH`` (or ``python -m lpn_controller.inspect_policy``).
Exits with status 1 and the error (file and field) when the policy does not load.
"""

import argparse
import sys

from lpn_controller.policy_format import load_policy
from lpn_controller.policy_metadata import PolicyFormatError


def describe(path: str) -> str:
    """Return a human-readable summary of the policy at ``path`` (raises PolicyFormatError)."""
    policy = load_policy(path)
    metadata = policy.metadata
    network = metadata.network
    shape = (f'hidden {list(network.hidden_sizes)} {network.activation}, '
             f'H={network.phase_harmonics}')
    if metadata.kind == 'lpn':
        shape += f', rank {network.rank if network.rank is not None else "full"}'
    terms = ', '.join(f'{term.name}({term.size})' for term in metadata.observation_terms)
    lines = [
        f'policy {policy.source}: format {metadata.format_version}, kind {metadata.kind} '
        f'({shape})',
        f'  joints ({metadata.num_joints}): {", ".join(metadata.joint_names)}',
        f'  observation ({metadata.observation_size}): {terms}',
        f'  control rate {metadata.control_rate_hz:g} Hz, motion {metadata.motion_clip!r} '
        f'period {metadata.phase_period_s:g} s',
        f'  joint limits: {"yes" if metadata.joint_lower_limits is not None else "none"}',
        f'  trained with randomisation: {randomization_summary(metadata.randomization)}',
        f'  git revision {metadata.git_revision}',
        f'  weights: {sum(array.size for array in policy.weights.values())} parameters in '
        f'{len(policy.weights)} arrays',
    ]
    return '\n'.join(lines)


def randomization_summary(randomization) -> str:
    """Return the randomisation record in one line: each group and its ranges, or 'none'."""
    if not randomization:
        return 'none'
    groups = []
    for name, ranges in randomization.items():
        items = ', '.join(f'{key} {value}' for key, value in ranges.items())
        groups.append(f'{name} ({items})')
    return '; '.join(groups)


def main(argv=None) -> int:
    """Validate each path given; print summaries, or the errors."""
    parser = argparse.ArgumentParser(description='Validate exported policies.')
    parser.add_argument('paths', nargs='+', help='policy directories or archives')
    args = parser.parse_args(argv)
    status = 0
    for path in args.paths:
        try:
            print(describe(path))
        except PolicyFormatError as error:
            print(f'invalid policy: {error}', file=sys.stderr)
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
