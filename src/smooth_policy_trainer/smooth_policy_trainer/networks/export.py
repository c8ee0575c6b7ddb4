"""
A trained torch actor and its normaliser as an lpn_controller policy (POLICY_FORMAT.md).

The actor's parameter names already are the format's weight names. Normalisation is the
RunningNormalizer's: mean, and std = sqrt(var + eps) exactly as it computes it, with its clip.
The task fields (joint order, observation layout, default pose, action scale, PD gains, limits,
rates, clip and period) come from the environment's policy_metadata(), stored in every checkpoint.
"""

from lpn_controller.observation import ObservationTerm
from lpn_controller.policy_format import ExportedPolicy, validate_weights
from lpn_controller.policy_metadata import (metadata_from_dict, metadata_to_dict, NetworkSpec,
                                            PolicyMetadata)
import numpy as np
import torch


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
        # The domain randomisation ranges trained with, recorded (the runtime ignores them).
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
