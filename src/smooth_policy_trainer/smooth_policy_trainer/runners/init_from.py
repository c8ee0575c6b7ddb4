"""
Start a run from a trained policy: a second training stage (``run.init_from``).

Randomised dynamics make the trot harder to find: from scratch, with the base mass drawn up to
2x and sensor and action delays, PPO settled on standing in place (docs/results.md). So the
shipped recipes learn in two stages: the motion without randomisation, then, starting from that
policy, the same task with randomisation on. ``run.init_from`` names either

* a training checkpoint (or a run directory, for its latest): its actor, critic and
  observation normaliser carry over; or
* an exported policy (a directory with policy.yaml, or an archive): its actor's weights and its
  normaliser's mean and std carry over (the exported names are the actor's parameter names);
  the critic starts fresh, so ``run.critic_warmup_iterations`` should hold the actor still
  while the critic learns the policy's values, and the action noise starts at
  ``policy.initial_std`` (an export does not keep it).

The second stage starts its own optimiser, iteration count, random streams and episodes, and
its config must describe the same task interface (joints, observation terms, action scale,
default pose, actor kind and shape), which is checked here.
"""

import math
from pathlib import Path

from lpn_controller.policy_format import load_policy, PolicyFormatError
import numpy as np
from smooth_policy_trainer.runners.checkpoint import CheckpointError, load_checkpoint, to_numpy
import torch

INTERFACE_KEYS = ('joint_names', 'observation_terms', 'action_scale', 'default_pose')


PRIOR_SAMPLES = 1e6   # the weight an exported normaliser's statistics keep against new samples


def is_exported_policy(path):
    """Return True when ``path`` is an exported policy (not a checkpoint or run directory)."""
    path = Path(path)
    return (path / 'policy.yaml').is_file() or path.name.endswith(('.tar.gz', '.tgz', '.zip'))


def initialize_from(path, ppo, normalizer, task, policy_kind, initial_std):
    """
    Start ``ppo``'s networks and ``normalizer`` from ``path`` (see the module).

    ``task`` is this run's env.policy_metadata() as plain types (task_to_plain);
    ``policy_kind`` and ``initial_std`` its policy config's. Returns a line saying what was
    loaded. Raises CheckpointError naming the source and what differs.
    """
    if is_exported_policy(path):
        return _from_exported_policy(path, ppo, normalizer, task, policy_kind, initial_std)
    return 'actor, critic and normaliser from ' + \
        _from_checkpoint(path, ppo, normalizer, task, policy_kind)


def _from_exported_policy(path, ppo, normalizer, task, policy_kind, initial_std):
    try:
        policy = load_policy(path)
    except (OSError, PolicyFormatError, ValueError) as error:
        raise CheckpointError(f'run.init_from: {error}') from None
    metadata = policy.metadata
    if metadata.kind != policy_kind:
        raise CheckpointError(f'{path}: run.init_from is a {metadata.kind} policy; this run '
                              f'trains a {policy_kind}')
    theirs = {'joint_names': list(metadata.joint_names),
              'observation_terms': [{'name': term.name, 'size': term.size,
                                     'scale': term.scale} for term in metadata.observation_terms],
              'action_scale': float(metadata.action_scale[0]),
              'default_pose': metadata.default_pose}
    _check_interface(path, theirs, task)
    weights = {name: torch.as_tensor(np.asarray(value), dtype=torch.float32)
               for name, value in policy.weights.items()}
    weights['log_std'] = torch.full_like(ppo.actor.log_std, math.log(initial_std))
    try:
        ppo.actor.load_state_dict(weights)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: run.init_from: the policy's weights do not match this "
                              f"run's policy config: {error}") from None
    state = normalizer.state_dict()
    std = torch.as_tensor(metadata.observation_std, dtype=torch.float64)
    state['mean'] = torch.as_tensor(metadata.observation_mean, dtype=torch.float64)
    state['var'] = ((std - normalizer.std_offset) ** 2 - normalizer.epsilon).clamp(min=0.0)
    state['count'] = torch.tensor(PRIOR_SAMPLES, dtype=torch.float64)
    normalizer.load_state_dict(state)
    return f'actor and normaliser from the policy {policy.source} (a fresh critic)'


def _from_checkpoint(path, ppo, normalizer, task, policy_kind):
    """
    Load the actor, critic and normaliser of the checkpoint at ``path`` (a file or run dir).

    Returns the checkpoint's path.
    """
    state = load_checkpoint(path)
    source = state['path']
    kind = state['config'].get('policy', {}).get('kind')
    if kind != policy_kind:
        raise CheckpointError(f'{source}: run.init_from has a {kind} actor; this run trains '
                              f'a {policy_kind}')
    _check_interface(source, to_numpy(state['task']), task)
    try:
        ppo.actor.load_state_dict(state['ppo']['actor'])
        ppo.critic.load_state_dict(state['ppo']['critic'])
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f'{source}: run.init_from: the networks do not match this '
                              f"run's policy and critic config: {error}") from None
    normalizer.load_state_dict(state['normalizer'])
    return source


def _check_interface(source, theirs, task):
    for key in INTERFACE_KEYS:
        same = (np.allclose(np.asarray(theirs.get(key), dtype=float),
                            np.asarray(task.get(key), dtype=float))
                if key in ('action_scale', 'default_pose')
                else _plain(theirs.get(key)) == _plain(task.get(key)))
        if not same:
            raise CheckpointError(f"{source}: run.init_from's task differs from this run's in "
                                  f'{key}; a second stage needs the same interface')


def _plain(value):
    # numpy arrays, tuples and lists compare as nested lists of Python numbers and strings
    if hasattr(value, 'tolist'):
        return value.tolist()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
