"""
A PPO run's checkpoint as an exported policy.

Everything the robot needs comes from the checkpoint, not from files that may have changed since
training: the config and the task fields the environment reported are stored in every checkpoint.
"""

from lpn_controller.policy_format import save_policy
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import config_from_dict
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.networks.normalizer import make_normalizer
from smooth_policy_trainer.networks.policies import make_actor
from smooth_policy_trainer.runners.checkpoint import CheckpointError, load_checkpoint, to_numpy


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
