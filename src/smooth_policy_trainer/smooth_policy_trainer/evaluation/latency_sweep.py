"""
Latency sweep: a policy evaluated with every action delayed by a fixed extra time, per delay.

Where does a policy fall as its actions come later? For each delay, evaluate_policy runs the
policy with ``action_latency_s`` (the training env's action latency fixed at [d, d], every other
randomisation off; physics-step resolution, so each delay must be a whole number of physics
steps), in full physics (each model as its MJCF says), on its home model from its training
task's starts and, with a robot configuration, on that model from reference states standing on
its floor (as evaluate_transfer's ``start_on_floor``). The figures kept per delay: survival,
forward speed and HFR (the mean over joints and the power-weighted ratio), from the one
evaluation; :func:`first_fall_delay` says from which delay on a policy stops surviving every
episode.
"""

from dataclasses import replace

from sim_bridge.config import robot_config_name
from smooth_policy_trainer.evaluation.evaluate import (env_config_for, evaluate_policy,
                                                       TRANSFER_PHYSICS)
from smooth_policy_trainer.evaluation.transfer import transfer_env_config

DELAYS_S = (0.0, 0.01, 0.02, 0.03, 0.04)
SWEEP_PHYSICS = TRANSFER_PHYSICS   # as a transfer: each model as its MJCF says
# (key, table header, how to read it from an evaluation, scale)
FIGURES = (
    ('survival_rate', 'survival', ('survival_rate',), 1.0),
    ('forward_speed_m_s', 'fwd (m/s)', ('forward_speed_m_s',), 1.0),
    ('hfr_percent', 'HFR (%)', ('smoothness', 'hfr', 'value'), 100.0),
    ('hfr_power_weighted_percent', 'HFR power-weighted (%)',
     ('smoothness', 'hfr_power_weighted', 'value'), 100.0),
)


def sweep_env_config(policy, robot_config=None, joint_remap=None, physics=SWEEP_PHYSICS):
    """
    Return the env config a policy is swept on: its training task, or that task on another model.

    Both in ``physics``; on another model (a robot configuration YAML) the episodes start from
    reference states standing on its floor, since the clip's root height is the home model's.
    """
    home = replace(env_config_for(policy), physics=physics)
    if robot_config is None:
        return home
    return transfer_env_config(replace(home, start_on_floor=True), robot_config,
                               policy.metadata.joint_names, joint_remap)


def latency_sweep(policy, delays_s=DELAYS_S, robot_config=None, joint_remap=None,
                  physics=SWEEP_PHYSICS, **options):
    """
    Return one row per delay of a policy on one model, its figures and its evaluation.

    A row holds 'action_latency_s', 'model', 'start' ('clip': the training task's starts, or
    'on floor'), the figures of FIGURES and the whole 'evaluation'.

    ``options`` are evaluate_policy's (episodes, seconds, lpn_mode, seed), the same per delay;
    ``robot_config`` None sweeps the home model.
    """
    config = sweep_env_config(policy, robot_config, joint_remap, physics)
    rows = []
    for delay in delays_s:
        result = evaluate_policy(policy, config, joint_remap=joint_remap,
                                 action_latency_s=float(delay), **options)
        result.pop('actions', None)
        rows.append({'action_latency_s': float(delay), 'model': robot_config_name(robot_config),
                     'start': 'on floor' if config.start_on_floor else 'clip',
                     **figures_of(result), 'evaluation': result})
    return rows


def figures_of(result):
    """Return the sweep's figures (FIGURES) of one evaluation; None where not measured."""
    figures = {}
    for key, _, path, scale in FIGURES:
        value = result
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        figures[key] = None if value is None else float(value) * scale
    return figures


def first_fall_delay(rows):
    """Return the smallest delay (s) at which not every episode survived; None if none."""
    falling = [row['action_latency_s'] for row in rows if row['survival_rate'] < 1.0]
    return min(falling) if falling else None


def sweep_table(sweeps):
    """
    Return a markdown table of ``sweeps``: [(policy name, rows of one latency_sweep)].

    One line per policy, model, start and delay, then the delay each sweep first loses an
    episode at.
    """
    lines = ['| policy | model | start | extra delay (ms) | '
             + ' | '.join(header for _, header, _, _ in FIGURES) + ' |',
             '|---|---|---|---|' + '---|' * len(FIGURES)]
    for policy, rows in sweeps:
        for row in rows:
            cells = ['n/a' if row[key] is None else f'{row[key]:.{digits}f}'
                     for (key, _, _, _), digits in zip(FIGURES, (2, 3, 3, 3))]
            lines.append(f'| {policy} | {row["model"]} | {row["start"]} | '
                         f'{1e3 * row["action_latency_s"]:g} | ' + ' | '.join(cells) + ' |')
    lines.append('')
    for policy, rows in sweeps:
        if not rows:
            continue
        delay = first_fall_delay(rows)
        tried = f'{1e3 * max(row["action_latency_s"] for row in rows):g} ms'
        lines.append(f'- {policy} on {rows[0]["model"]} ({rows[0]["start"]} start): ' + (
            f'survives every episode up to {tried}' if delay is None
            else f'first loses an episode at {1e3 * delay:g} ms of extra delay'))
    return '\n'.join(lines)
