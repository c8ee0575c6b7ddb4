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
default pose, actor kind and shape), which is checked here. One exception: from an exported
policy, a stage may append observation terms (e.g. ``base_position``). Their weights start at
zero and their normaliser at mean 0, std 1, so the stage starts as exactly the policy it loads
and learns what the new inputs are worth.
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
    added = _check_interface(path, metadata, env, policy_kind, allow_added_terms=True)
    weights = {name: torch.as_tensor(np.asarray(value), dtype=torch.float32)
               for name, value in policy.weights.items()}
    if added:
        weights = _widen_inputs(weights, ppo.actor, added)
    weights['log_std'] = torch.full_like(ppo.actor.log_std, math.log(initial_std))
    try:
        ppo.actor.load_state_dict(weights)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: run.init_from: the policy's weights do not match this "
                              f"run's policy config: {error}") from None
    state = normalizer.state_dict()
    std = torch.as_tensor(np.concatenate([metadata.observation_std, np.ones(added)]),
                          dtype=torch.float64)
    state['mean'] = torch.as_tensor(np.concatenate([metadata.observation_mean, np.zeros(added)]),
                                    dtype=torch.float64)
    state['var'] = ((std - normalizer.std_offset) ** 2 - normalizer.epsilon).clamp(min=0.0)
    state['count'] = torch.tensor(PRIOR_SAMPLES, dtype=torch.float64)
    normalizer.load_state_dict(state)
    note = f', {added} observation entries added at zero gain' if added else ''
    return f'actor and normaliser from the policy {policy.source} (a fresh critic{note})'


def _widen_inputs(weights, actor, added):
    """
    Return the actor's weights with ``added`` observation entries appended, at zero weight.

    LPN: the rows of V (or the columns of K) for the new entries are zero, so K s is unchanged;
    MLP: the first layer's columns for them (between the state and the phase features) are zero.
    """
    weights = dict(weights)
    n_old = actor.observation_size - added
    if actor.kind == 'lpn':
        if actor.rank is None:   # K flattened (m, n): a zero column per new entry
            for name in ('gain.weight', 'gain.bias'):
                value = weights[name].unflatten(0, (actor.num_actions, n_old))
                pad = value.new_zeros((actor.num_actions, added) + value.shape[2:])
                weights[name] = torch.cat([value, pad], dim=1).flatten(0, 1)
        else:   # V flattened (n, r): zero rows at the end
            for name in ('gain_v.weight', 'gain_v.bias'):
                value = weights[name]
                pad = value.new_zeros((added * actor.rank,) + value.shape[1:])
                weights[name] = torch.cat([value, pad], dim=0)
        return weights
    if actor.kind == 'mlp' and 'hidden.0.weight' in weights:
        first = weights['hidden.0.weight']
        pad = first.new_zeros((first.shape[0], added))
        weights['hidden.0.weight'] = torch.cat([first[:, :n_old], pad, first[:, n_old:]], dim=1)
        return weights
    raise CheckpointError(f'run.init_from: cannot add observation entries to a {actor.kind} '
                          'actor with these weights')


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


def _check_interface(source, metadata, env, policy_kind, allow_added_terms=False):
    """
    Raise CheckpointError where the source's interface differs from this run's task.

    With ``allow_added_terms``, the run's observation may be the source's with terms appended;
    returns how many observation entries they add (0 when none).
    """
    # The evaluation's check of a policy against a task: one definition of the interface.
    if metadata.kind != policy_kind:
        raise CheckpointError(f'{source}: run.init_from has a {metadata.kind} actor; this run '
                              f'trains a {policy_kind}')
    wrong = task_mismatches(metadata, env)
    added = 0
    terms, run_terms = tuple(metadata.observation_terms), tuple(env.observation_terms)
    if (allow_added_terms and 'observation.terms' in wrong and len(run_terms) > len(terms)
            and run_terms[:len(terms)] == terms):
        wrong.remove('observation.terms')
        added = sum(term.size for term in run_terms[len(terms):])
    if wrong:
        raise CheckpointError(f"{source}: run.init_from's {', '.join(wrong)} differ from this "
                              "run's task; a second stage needs the same interface"
                              + (' (it may add observation terms at the end)'
                                 if allow_added_terms else ''))
    return added
