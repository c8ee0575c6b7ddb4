"""
Export a trained actor to the lpn_controller policy format (POLICY_FORMAT.md).

Everything the robot needs comes from the checkpoint, not from files that may have changed since
training: the task fields the environment reported (joint order, observation layout, default
pose, action scale, PD gains, limits, rates, clip and period) are stored in every checkpoint.
The actor's parameter names already are the format's weight names, so the weights are its state
dict minus ``log_std`` (exploration only). Normalisation is the RunningNormalizer's: mean, and
std = sqrt(var + eps) exactly as it computes it, with its clip.

    python -m smooth_policy_trainer.export --run RUN_DIR [--checkpoint FILE] [--output DIR]
"""

import argparse
from pathlib import Path
import subprocess
import sys

from lpn_controller.observation import ObservationTerm
from lpn_controller.policy_format import ExportedPolicy, save_policy, validate_weights
from lpn_controller.policy_metadata import (metadata_from_dict, metadata_to_dict, NetworkSpec,
                                            PolicyFormatError, PolicyMetadata)
import numpy as np
from smooth_policy_trainer.checkpoint import CheckpointError, load_checkpoint, to_numpy
from smooth_policy_trainer.normalizer import make_normalizer
from smooth_policy_trainer.policies import make_actor
from smooth_policy_trainer.train_config import config_from_dict, config_to_dict
import torch


def git_revision():
    """Return ``git rev-parse HEAD`` of the checkout holding this file, or 'unknown'."""
    try:
        result = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    return result.stdout.strip() or 'unknown'


def task_to_plain(fields):
    """Return ImitationEnv.policy_metadata() as checkpoint-friendly plain types and arrays."""
    plain = dict(fields)
    plain['observation_terms'] = [
        {'name': term.name, 'size': int(term.size),
         'scale': list(term.scale) if isinstance(term.scale, tuple) else float(term.scale)}
        for term in fields['observation_terms']]
    return plain


def build_policy(actor, normalizer, task, training_config, revision='unknown'):
    """
    Return the ExportedPolicy (metadata and weights, validated) of a torch actor.

    ``task`` is ImitationEnv.policy_metadata() (or task_to_plain of it), ``training_config`` a
    plain mapping written into the provenance.
    """
    terms = tuple(term if isinstance(term, ObservationTerm) else
                  ObservationTerm(term['name'], int(term['size']),
                                  tuple(term['scale']) if isinstance(term['scale'], list)
                                  else float(term['scale']))
                  for term in task['observation_terms'])
    joint_names = tuple(task['joint_names'])
    limits = np.asarray(task['joint_limits'], dtype=np.float64)
    network = actor.network_spec()
    metadata = PolicyMetadata(
        kind=actor.kind, joint_names=joint_names, observation_terms=terms,
        observation_mean=normalizer.mean.numpy().astype(np.float64),
        observation_std=normalizer.std.numpy().astype(np.float64),
        observation_clip=float(normalizer.clip),
        action_scale=np.full(len(joint_names), float(task['action_scale'])),
        action_clip=float(task['action_clip']),
        # Runs trained before the filter existed have no entry: they ran unfiltered.
        action_filter_alpha=float(task.get('action_filter_alpha', 1.0)),
        default_pose=np.asarray(task['default_pose'], dtype=np.float64),
        kp=np.asarray(task['kp'], dtype=np.float64), kd=np.asarray(task['kd'], dtype=np.float64),
        joint_lower_limits=limits[:, 0], joint_upper_limits=limits[:, 1],
        control_rate_hz=float(task['control_rate_hz']),
        phase_period_s=float(task['phase_period_s']), motion_clip=str(task['clip']),
        # Checkpoints from before the field trained in the only physics there was: full.
        physics=str(task.get('physics', 'full')),
        network=NetworkSpec(network['phase_harmonics'], tuple(network['hidden_sizes']),
                            network['activation'], network.get('rank')),
        git_revision=revision, training_config=dict(training_config),
        # Hook (issue 29): the randomisation ranges, recorded (the runtime ignores them).
        randomization=dict(task.get('randomization', {})))
    # The reader's round trip: what is exported here is exactly what the robot will load.
    metadata = metadata_from_dict(metadata_to_dict(metadata), source='<export>')
    weights = actor_weights(actor)
    weights = validate_weights(metadata, weights, source='<export>')
    return ExportedPolicy(metadata=metadata, weights=weights)


def actor_weights(actor):
    """
    Return the actor's layer weights as numpy arrays under the policy format's names.

    Read from the layers, not the state dict: a spectrally normalised layer stores W and its
    power-iteration vectors, and the robot needs the normalised matrix lambda W / sigma(W) the
    layer computes. Eval mode reads it without another power-iteration step.
    """
    training = actor.training
    actor.eval()
    try:
        with torch.no_grad():
            weights = {}
            for name, module in actor.named_modules():
                if isinstance(module, torch.nn.Linear):
                    weights[f'{name}.weight'] = module.weight.detach().cpu().numpy().copy()
                    weights[f'{name}.bias'] = module.bias.detach().cpu().numpy().copy()
    finally:
        actor.train(training)
    return weights


def policy_from_checkpoint(state):
    """Return the ExportedPolicy of a loaded checkpoint (see checkpoint.load_checkpoint)."""
    config = config_from_dict(state['config'], source=f"{state.get('path')}: config")
    task = to_numpy(state['task'])
    observation_size = sum(int(term['size']) for term in task['observation_terms'])
    actor = make_actor(config.policy.kind, observation_size, len(task['joint_names']),
                       **config.policy.actor_options())
    try:
        actor.load_state_dict(state['ppo']['actor'])
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f"{state.get('path')}: the actor's weights do not match its "
                              f'config: {error}') from None
    normalizer = make_normalizer(config.normalizer, observation_size)
    normalizer.load_state_dict(state['normalizer'])
    return build_policy(actor, normalizer, task, config_to_dict(config),
                        state.get('git_revision', 'unknown'))


def export_checkpoint(checkpoint, output):
    """Export a checkpoint file (or a run directory's latest) to ``output``; return the path."""
    policy = policy_from_checkpoint(load_checkpoint(checkpoint))
    return save_policy(output, policy.metadata, policy.weights)


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
