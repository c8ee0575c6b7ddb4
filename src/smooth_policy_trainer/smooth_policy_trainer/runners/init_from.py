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
from smooth_policy_trainer.evaluation.evaluate import task_mismatches
from smooth_policy_trainer.runners.checkpoint import CheckpointError, load_checkpoint
from smooth_policy_trainer.runners.checkpoint_export import policy_from_checkpoint
import torch

PRIOR_SAMPLES = 1e6   # the weight an exported normaliser's statistics keep against new samples


def is_exported_policy(path):
    """Return True when ``path`` is an exported policy (not a checkpoint or run directory)."""
    path = Path(path)
    return (path / 'policy.yaml').is_file() or path.name.endswith(('.tar.gz', '.tgz', '.zip'))


def initialize_from(path, ppo, normalizer, env, policy_kind, initial_std):
    """
    Start ``ppo``'s networks and ``normalizer`` from ``path`` (see the module).

    ``env`` is this run's environment, ``policy_kind`` and ``initial_std`` its policy config's.
    Returns a line saying what was loaded. Raises CheckpointError naming the source and what
    differs.
    """
    if is_exported_policy(path):
        return _from_exported_policy(path, ppo, normalizer, env, policy_kind, initial_std)
    return 'actor, critic and normaliser from ' + \
        _from_checkpoint(path, ppo, normalizer, env, policy_kind)


def _from_exported_policy(path, ppo, normalizer, env, policy_kind, initial_std):
    try:
        policy = load_policy(path)
    except (OSError, PolicyFormatError, ValueError) as error:
        raise CheckpointError(f'run.init_from: {error}') from None
    metadata = policy.metadata
    _check_interface(path, metadata, env, policy_kind)
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


def _from_checkpoint(path, ppo, normalizer, env, policy_kind):
    """
    Load the actor, critic and normaliser of the checkpoint at ``path`` (a file or run dir).

    Returns the checkpoint's path.
    """
    state = load_checkpoint(path)
    source = state['path']
    _check_interface(source, policy_from_checkpoint(state).metadata, env, policy_kind)
    try:
        ppo.actor.load_state_dict(state['ppo']['actor'])
        ppo.critic.load_state_dict(state['ppo']['critic'])
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f'{source}: run.init_from: the networks do not match this '
                              f"run's policy and critic config: {error}") from None
    normalizer.load_state_dict(state['normalizer'])
    return source


def _check_interface(source, metadata, env, policy_kind):
    # The evaluation's check of a policy against a task: one definition of the interface.
    if metadata.kind != policy_kind:
        raise CheckpointError(f'{source}: run.init_from has a {metadata.kind} actor; this run '
                              f'trains a {policy_kind}')
    wrong = task_mismatches(metadata, env)
    if wrong:
        raise CheckpointError(f"{source}: run.init_from's {', '.join(wrong)} differ from this "
                              "run's task; a second stage needs the same interface")
