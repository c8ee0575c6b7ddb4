"""
Deterministic evaluation of an exported policy, run by the robot's own numpy runtime.

N episodes of T seconds run side by side (one environment each, randomisation off, mean
actions from lpn_controller's runtime: what the robot runs). Each episode is its first one: an
environment that falls stops counting there. Figures: imitation return, joint-pose RMSE to the
reference (rad, pooled over joints and living steps), end-effector RMSE (m, feet and gripper in
the body frame), forward speed against the reference's (a policy that stands still scores a
fair joint RMSE on a trot, but not this), heading drift (deg/s of yaw away from the reference's
at the end of the surviving episodes), the world-frame figures of world_figures (speeds along and
across the heading, root position error over time, flight and apex per hop cycle, the gripper's
world error), survival rate (neither a fall nor an instability), fall rate, the episodes whose
simulation went unstable (MuJoCo reset it mid-episode: counted apart, neither survived nor
fallen; they stop counting there, as a fall does), and the METHODS.md 8
smoothness metrics from lpn_controller.metrics (the one implementation): HFR (> 10 Hz; the mean
over joints and the power-weighted ratio), Sm,
action rate and second difference on the commanded actions (after any low-pass filter), jerk
on the measured joint positions, each computed per episode and averaged, reported with f_s and
the window length N.

``action_latency_s`` delays every action by a fixed time on its way to the motors (the training
env's action latency, env.domain_randomization.action_latency, fixed at [d, d] with every other
group off: see fixed_action_latency); the latency sweep (latency_sweep.py) runs it per delay.

With ``--robot-config`` the policy also runs on another robot model (a sim-to-sim transfer,
see transfer.py), with the same seed and episodes, and the report adds the change from its home
model; ``--joint-remap POLICY:ROBOT`` renames joints over the robot config's joint_map.

    python -m smooth_policy_trainer.evaluate --policy DIR [--episodes 20] [--seconds 10]
        [--output JSON] [--lpn-mode table|exact] [--seed 0]
        [--robot-config OTHER.yaml [--joint-remap POLICY:ROBOT ...]]
"""

from dataclasses import replace

from lpn_controller.metrics import smoothness_report
from lpn_controller.runtime import make_runtime
import numpy as np
from sim_bridge.physics import warn_if_mismatch
from smooth_policy_trainer.config.domain_randomization import (DomainRandomizationConfig,
                                                               fixed_action_latency)
from smooth_policy_trainer.config.env_config import EnvConfig, RandomizationConfig
from smooth_policy_trainer.config.reader import ConfigError
from smooth_policy_trainer.config.train_config import config_from_dict
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.envs.imitation_reward import heading_error
from smooth_policy_trainer.evaluation.smoothness import aggregate_smoothness, MIN_WINDOW
from smooth_policy_trainer.evaluation.transfer import (PolicyJoints, transfer_env_config,
                                                       transfer_report)
from smooth_policy_trainer.evaluation.world_figures import WorldLog

TRANSFER_PHYSICS = 'full'   # evaluate_transfer's models run as their MJCFs say

METRIC_NAMES = ('hfr', 'hfr_power_weighted', 'sm', 'action_rate', 'second_difference', 'jerk')


def evaluate_policy(policy, env_config, episodes=20, seconds=10.0, lpn_mode='table', seed=0,
                    keep_actions=False, joint_remap=None, action_latency_s=0.0):
    """
    Return the evaluation figures (a JSON-ready dict) of an ExportedPolicy on a task.

    With ``keep_actions`` the result also holds 'actions': each episode's commanded actions
    (T_i, m) up to its end, for spectra; pop it before writing JSON. ``joint_remap``
    ({policy name: robot name}) renames the policy's joints over the robot config's joint_map.
    ``action_latency_s``: every action reaches the motors this much later (a whole number of
    physics steps; ValueError otherwise).
    """
    env = ImitationEnv(evaluation_env_config(env_config, episodes, seconds, seed,
                                             action_latency_s))
    try:
        check_latency_steps(action_latency_s, env.sim.config.physics_dt)
        joints = PolicyJoints(policy.metadata.joint_names, env.robot, joint_remap)
        check_task_matches(policy.metadata, env, joints)
        result = _run_episodes(policy, env, episodes, seconds, lpn_mode, keep_actions, joints)
        result['action_latency_s'] = float(action_latency_s)
        return result
    finally:
        env.close()


def evaluation_env_config(env_config, episodes, seconds, seed, action_latency_s=0.0):
    """
    Return the env config evaluate_policy runs: no randomisation but a fixed action latency.

    One episode per environment; the episode limit lies past the window, so nothing is
    truncated inside it. Only a fall ends an episode here: drifting from the reference root
    (a training-time termination) is what the world figures measure.
    """
    return replace(env_config, num_envs=episodes, episode_length_s=seconds + 1.0, seed=seed,
                   randomization=RandomizationConfig(enabled=False), max_root_drift=0.0,
                   domain_randomization=fixed_action_latency(action_latency_s)
                   if action_latency_s else DomainRandomizationConfig())


def check_latency_steps(action_latency_s, physics_dt):
    """Refuse an action latency that is not a whole number of physics steps (it would round)."""
    steps = action_latency_s / physics_dt
    if abs(steps - round(steps)) > 1e-6:
        raise ValueError(f'an action latency of {1e3 * action_latency_s:g} ms is not a whole '
                         f'number of physics steps of {1e3 * physics_dt:g} ms')


def evaluate_transfer(policy, home_config, robot_config, joint_remap=None, start_on_floor=False,
                      physics=TRANSFER_PHYSICS, **options):
    """
    Evaluate a policy on its home task and on another robot model (transfer.py); return both.

    ``options`` are evaluate_policy's (episodes, seconds, lpn_mode, seed): the same for both.
    ``start_on_floor``: both start from reference states standing on their own model's floor
    (envs/floor_start.py) rather than at the clip's root height. ``physics``: both models run
    in this configuration, by default ``full``, each model as its own MJCF says. The ``fast``
    configuration is tuned to the packaged robot (250 Hz, 6 solver iterations): on Menagerie's
    Spot, whose feet are stiff (solref 0.004) with impratio 100 and elliptic cones, it does not
    resolve the contacts, and the shipped lpn_trot survived 5 of 20 episodes there that it
    survives 20 of 20 in full physics (docs/results.md). None keeps ``home_config.physics``.
    """
    physics = physics or home_config.physics
    home_config = replace(home_config, start_on_floor=start_on_floor, physics=physics)
    other_config = transfer_env_config(home_config, robot_config, policy.metadata.joint_names,
                                       joint_remap)
    home = evaluate_policy(policy, home_config, **options)
    other = evaluate_policy(policy, other_config, joint_remap=joint_remap, **options)
    return transfer_report(home, other, robot_config, joint_remap, other_config)


def check_task_matches(metadata, env, joints=None):
    """Refuse (ValueError) a policy whose interface differs from the env's: task_mismatches."""
    joints = joints or PolicyJoints(metadata.joint_names, env.robot)
    wrong = task_mismatches(metadata, env, joints)
    if wrong:
        clip = env.policy_metadata()['clip']
        raise ValueError(f"the policy's {', '.join(wrong)} differ from the evaluation task's "
                         f"(clip '{clip}'); evaluate with the environment config it was "
                         'trained on' + (f'; {joints.problem}' if joints.problem else ''))


def task_mismatches(metadata, env, joints=None):
    """
    Return the names of the interface fields where a policy differs from the env's task.

    Joints, observation layout, action scale and default pose, filter, rates and period; [] when
    none. Joint names are compared after the robot's joint map (``joints``, a PolicyJoints; by
    default the robot config's joint_map alone), in any order. Physics is no part of the
    interface: a policy runs in either configuration, with a PhysicsMismatchWarning when it
    was trained in the other (a sim-to-sim transfer).
    """
    task = env.policy_metadata()
    joints = joints or PolicyJoints(metadata.joint_names, env.robot)
    matched = joints.to_policy is not None
    checks = {
        'joint_names': matched,
        'observation.terms': tuple(metadata.observation_terms) == tuple(
            task['observation_terms']),
        'action.scale': np.allclose(metadata.action_scale, task['action_scale']),
        'action.default_pose': not matched or np.allclose(
            metadata.default_pose, task['default_pose'][joints.to_policy]),
        'action.filter_alpha': np.isclose(metadata.action_filter_alpha,
                                          task['action_filter_alpha']),
        'control_rate_hz': np.isclose(metadata.control_rate_hz, task['control_rate_hz']),
        'motion.period_s': np.isclose(metadata.phase_period_s, task['phase_period_s']),
    }
    warn_if_mismatch(metadata.physics, task['physics'])
    return [name for name, ok in checks.items() if not ok]


def _run_episodes(policy, env, episodes, seconds, lpn_mode, keep_actions=False, joints=None):
    runtime = make_runtime(policy, lpn_mode=lpn_mode)
    if joints is not None:   # observations and actions in the robot's joint order
        runtime = joints.wrap(runtime, env.observation_terms)
    rate = float(env.robot.control_rate_hz)
    steps = int(round(seconds * rate))
    num_joints = env.num_actions
    actions_log = np.zeros((steps, episodes, num_joints))
    positions_log = np.zeros((steps, episodes, num_joints))
    action_steps = np.zeros(episodes, dtype=np.int64)     # actions taken in the first episode
    position_steps = np.zeros(episodes, dtype=np.int64)   # states measured before any fall
    returns = np.zeros(episodes)
    squared_error = np.zeros(num_joints)
    end_effector_squared_error = 0.0
    world = WorldLog(env, steps)
    alive = np.ones(episodes, dtype=bool)
    fell = np.zeros(episodes, dtype=bool)
    unstable = np.zeros(episodes, dtype=bool)   # MuJoCo reset the simulation: no fall

    observations, phases = env.reset()
    for t in range(steps):
        actions = runtime.act(observations, phases)
        result = env.step(actions)
        living = alive & ~result.terminated & ~result.unstable
        fell |= alive & result.terminated
        unstable |= alive & result.unstable
        # What the joints were commanded: the filtered action when the policy has a filter.
        actions_log[t] = env.actions.commanded_action
        returns[alive] += result.rewards[alive]
        action_steps[alive] += 1
        # A fallen (or unstable) environment has been reset inside step(): its readout is a new
        # episode's.
        state = env.sim.read_state()
        reference = env.clip.sample(env.absolute_phase())
        positions_log[t] = state.joint_positions
        error = state.joint_positions - reference.joint_positions
        squared_error += (error[living] ** 2).sum(axis=0)
        end_effector_error = env.end_effectors_in_body(state) - reference.end_effector_positions
        end_effector_squared_error += (end_effector_error[living] ** 2).sum()
        world.record(t, state, reference, living)
        position_steps[living] += 1
        alive = living
        observations, phases = result.observations, result.phases

    heading = np.degrees(heading_error(state.base_orientation, reference.root_orientation))
    drift = heading[alive] / seconds if alive.any() else np.array([np.nan])
    samples = max(int(position_steps.sum()), 1)
    per_joint_rmse = np.sqrt(squared_error / samples)
    world_figures = world.figures()
    result = {
        'policy': policy.source, 'kind': policy.metadata.kind, 'clip': env.clip.name,
        'lpn_mode': lpn_mode if policy.metadata.kind == 'lpn' else None,
        'episodes': episodes, 'seconds': seconds, 'seed': env.config.seed,
        'physics': env.sim.physics.name,
        'sample_rate_hz': rate, 'window_length': steps,
        'return': float(returns.mean()), 'return_std': float(returns.std()),
        'reward_per_step': float(returns.sum() / max(action_steps.sum(), 1)),
        'joint_rmse_rad': float(np.sqrt(squared_error.sum() / (samples * num_joints))),
        'joint_rmse_per_joint_rad': dict(zip(env.joint_names, per_joint_rmse.tolist())),
        'end_effector_rmse_m': float(np.sqrt(
            end_effector_squared_error / (samples * len(env.end_effector_names)))),
        'forward_speed_m_s': world_figures['forward_speed_m_s'],
        'reference_forward_speed_m_s': world_figures['reference_forward_speed_m_s'],
        'lateral_speed_m_s': world_figures['lateral_speed_m_s'],
        'heading_drift_deg_per_s': float(np.mean(drift)) if alive.any() else None,
        'heading_drift_abs_max_deg_per_s': float(np.max(np.abs(drift))) if alive.any() else None,
        'survival_rate': float(alive.mean()),
        'fall_rate': float(fell.mean()),
        'unstable_episodes': int(unstable.sum()),
        'unstable_rate': float(unstable.mean()),
        'mean_episode_s': float(action_steps.mean() / rate),
        'smoothness': _smoothness(actions_log, positions_log, action_steps, position_steps,
                                  rate),
        'world': world_figures,
    }
    if keep_actions:
        result['actions'] = [actions_log[:length, episode].copy()
                             for episode, length in enumerate(action_steps)]
    return result


def _smoothness(actions_log, positions_log, action_steps, position_steps, rate):
    reports = []
    for episode in range(actions_log.shape[1]):
        length = int(action_steps[episode])
        if length < MIN_WINDOW:
            continue
        positions = None
        if position_steps[episode] >= MIN_WINDOW:
            positions = positions_log[:position_steps[episode], episode]
        reports.append(smoothness_report(actions_log[:length, episode], rate, positions))
    return aggregate_smoothness(reports, rate, METRIC_NAMES)


def format_table(result):
    """Return the figures as a small text table."""
    def number(value, digits=4):
        return 'n/a' if value is None else f'{value:.{digits}g}'
    lines = [f"{result['kind']} policy on '{result['clip']}': {result['episodes']} episodes of "
             f"{result['seconds']:g} s (f_s = {result['sample_rate_hz']:g} Hz, N = "
             f"{result['window_length']} samples per full episode)",
             f"  {'imitation return':<24}{number(result['return'])} "
             f"(std {number(result['return_std'])}, {number(result['reward_per_step'])} "
             'per step)',
             f"  {'joint RMSE':<24}{number(result['joint_rmse_rad'])} rad",
             f"  {'end-effector RMSE':<24}{number(result['end_effector_rmse_m'])} m",
             f"  {'heading drift':<24}{number(result['heading_drift_deg_per_s'])} deg/s "
             f"(largest {number(result['heading_drift_abs_max_deg_per_s'])})",
             f"  {'survival rate':<24}{number(result['survival_rate'])} (fell "
             f"{number(result.get('fall_rate'))}, unstable "
             f"{result.get('unstable_episodes', 'n/a')} of {result['episodes']} episodes)",
             f"  {'mean episode':<24}{number(result['mean_episode_s'])} s"]
    lines += world_lines(result['world'], number)
    labels = {'hfr': 'HFR (> 10 Hz)', 'hfr_power_weighted': 'HFR power-weighted', 'sm': 'Sm',
              'action_rate': 'action rate', 'second_difference': 'second difference',
              'jerk': 'jerk'}
    for name, figure in result['smoothness'].items():
        lines.append(f"  {labels[name]:<24}{number(figure['value'])} [{figure['unit']}] "
                     f"(f_s = {figure['sample_rate_hz']:g} Hz, N = {figure['window_length']}, "
                     f"{figure['episodes']} episodes)")
    return '\n'.join(lines)


def instability_note(result, where=''):
    """Return a line saying how many episodes went unstable, or None when none did."""
    count = result.get('unstable_episodes', 0)
    if not count:
        return None
    return (f"note: {count} of {result['episodes']} episodes{where} went unstable (MuJoCo "
            'reset the simulation mid-episode); they count neither as survived nor as falls, '
            'and their figures stop there')


def world_lines(world, number):
    """Return the table lines of the world-frame figures (speeds, root error, hops, gripper)."""
    final = world['root_position_error_over_time'][-1:] or [{'t_s': 0, 'mean_m': None}]
    lines = [f"  {'forward speed':<24}{number(world['forward_speed_m_s'])} m/s (reference "
             f"{number(world['reference_forward_speed_m_s'])}; net "
             f"{number(world['net_forward_speed_m_s'])}, heading frame)",
             f"  {'lateral speed':<24}{number(world['lateral_speed_m_s'])} m/s (net "
             f"{number(world['net_lateral_speed_m_s'])})",
             f"  {'root position error':<24}{number(world['root_position_error_rms_m'])} m RMS, "
             f"{number(final[0]['mean_m'])} m at {final[0]['t_s']:g} s (horizontal; height "
             f"{number(world['root_height_error_rms_m'])} m RMS)"]
    hop = world.get('hop')
    if hop is not None and hop['cycles']:
        lines += [f"  {'flight time':<24}{number(hop['flight_time_s'])} s per cycle (reference "
                  f"{number(hop['reference_flight_time_s'])}; "
                  f"{round(hop['cycles_with_flight'] * hop['cycles'])} of {hop['cycles']} "
                  'cycles fly at least half of it)',
                  f"  {'apex height':<24}{number(hop['apex_height_m'])} m (reference "
                  f"{number(hop['reference_apex_height_m'])}; worst cycle off by "
                  f"{number(hop['apex_error_max_m'])} m)"]
    if 'gripper_world_rmse_m' in world:
        lines.append(f"  {'gripper error (world)':<24}{number(world['gripper_world_rmse_m'])} m"
                     f" RMS (base drift up to {number(world['base_drift_max_m'])} m)")
    return lines


def env_config_for(policy):
    """Return the training run's env config from the policy's provenance (or the clip alone)."""
    training = policy.metadata.training_config
    if isinstance(training.get('env'), dict):
        try:
            return config_from_dict({'env': training['env']},
                                    source=f'{policy.source}: provenance.training_config').env
        except ConfigError as error:
            raise ValueError(f'cannot rebuild the training environment: {error}') from None
    return EnvConfig(clip=policy.metadata.motion_clip)
