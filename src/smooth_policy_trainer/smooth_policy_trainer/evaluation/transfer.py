"""
Sim-to-sim transfer: a policy on another robot model, and the change from its home model.

The policy's joint names reach the other model's through one lpn_controller JointMap: the
robot configuration's ``joint_map`` updated with a ``joint_remap`` ({policy name: robot name}),
as the closed loop and the controller node map them. When the mapped order differs from the
model's joint order, the joint blocks of the observation (positions, velocities, previous
action) are permuted into the policy's order and its actions back into the model's.

The other model's task is the policy's training task with the robot swapped: the clip's joint
names go through the same names (env.joint_remap), and falls are read from the robot
configuration's ``fall_bodies`` when it names them.

    python -m smooth_policy_trainer.evaluate --policy DIR --robot-config OTHER.yaml
        [--joint-remap POLICY:ROBOT ...]
"""

from dataclasses import replace

import numpy as np
from sim_bridge.config import load_config
from smooth_policy_trainer.motion.clip_files import read_clip_header
from smooth_policy_trainer.motion.joints import robot_joint_map

JOINT_TERMS = ('joint_positions', 'joint_velocities', 'previous_action')
# (key in the change block, table label, unit, path into an evaluation result)
CHANGE_FIGURES = (
    ('joint_rmse_rad', 'joint RMSE', 'rad', ('joint_rmse_rad',)),
    ('end_effector_rmse_m', 'end-effector RMSE', 'm', ('end_effector_rmse_m',)),
    ('forward_speed_m_s', 'forward speed', 'm/s', ('forward_speed_m_s',)),
    ('lateral_speed_m_s', 'lateral speed', 'm/s', ('lateral_speed_m_s',)),
    ('heading_drift_deg_per_s', 'heading drift', 'deg/s', ('heading_drift_deg_per_s',)),
    ('survival_rate', 'survival rate', '', ('survival_rate',)),
    ('unstable_rate', 'unstable rate', '', ('unstable_rate',)),
    ('return', 'imitation return', '', ('return',)),
    ('hfr', 'HFR (> 10 Hz)', '', ('smoothness', 'hfr', 'value')),
    ('hfr_power_weighted', 'HFR power-weighted', '',
     ('smoothness', 'hfr_power_weighted', 'value')),
    ('sm', 'Sm', '', ('smoothness', 'sm', 'value')),
    ('action_rate', 'action rate', '', ('smoothness', 'action_rate', 'value')),
    ('root_position_error_rms_m', 'root position error', 'm RMS',
     ('world', 'root_position_error_rms_m')),
)


class PolicyJoints:
    """
    A policy's joints on a robot: their robot names (JointMap) and the two index orders.

    ``to_policy`` takes robot-order values to policy order (``values[..., to_policy]``),
    ``to_robot`` the other way. ``problem`` says why the mapped names are not the robot's
    joints (then both orders are None); check_task_matches reports it.
    """

    def __init__(self, policy_joint_names, robot, joint_remap=None):
        """Map the names through ``robot``'s joint_map and ``joint_remap``; JointMapError."""
        self.robot = robot
        self.joint_map = robot_joint_map(policy_joint_names, robot, joint_remap, 'the policy')
        mapped, robot_names = self.joint_map.robot_joint_names, tuple(robot.joint_names)
        unknown = [name for name in mapped if name not in robot_names]
        unmatched = [name for name in robot_names if name not in mapped]
        self.problem = None
        self.to_policy = self.to_robot = None
        if unknown or unmatched:
            self.problem = (
                f"mapped onto the robot configuration {robot.source}, the policy's joint(s) "
                f"{_quoted(unknown) or 'none'} are not its joints and its joint(s) "
                f"{_quoted(unmatched) or 'none'} have no policy joint; rename with "
                "--joint-remap POLICY:ROBOT or the robot config's joint_map")
        else:
            self.to_policy = self.joint_map.indices_in(robot_names)
            self.to_robot = self.joint_map.output_indices(robot_names)

    @property
    def reordered(self):
        """Return True when the policy's order is not the robot's (values are permuted)."""
        return self.to_policy is not None and \
            not np.array_equal(self.to_policy, np.arange(len(self.to_policy)))

    def observation_order(self, terms):
        """Return indices taking a robot-order observation of ``terms`` to the policy's order."""
        order, start = [], 0
        for term in terms:
            block = np.arange(start, start + term.size)
            order.append(block[self.to_policy] if term.name in JOINT_TERMS else block)
            start += term.size
        return np.concatenate(order)

    def wrap(self, runtime, terms):
        """Return ``runtime`` acting on robot-order observations and actions."""
        if not self.reordered:
            return runtime
        return PermutedRuntime(runtime, self.observation_order(terms), self.to_robot)


class PermutedRuntime:
    """A policy runtime that sees observations and gives actions in another joint order."""

    def __init__(self, runtime, observation_order, action_order):
        """Wrap ``runtime``; the orders index the last axis."""
        self.runtime = runtime
        self.observation_order = observation_order
        self.action_order = action_order

    def act(self, observations, phases):
        """Return the raw actions, in the robot's joint order."""
        observations = np.asarray(observations)[..., self.observation_order]
        return self.runtime.act(observations, phases)[..., self.action_order]


def transfer_env_config(home, robot_config, policy_joint_names, joint_remap=None):
    """
    Return the env config of the policy's task on another robot (a robot config YAML).

    ``home`` is the training env config. The clip's joints are renamed as the policy's are:
    a clip joint has the home robot's name (through the home joint_map and env.joint_remap),
    which is a policy joint, which maps to the other robot's name. Raises ValueError
    (ConfigError, JointMapError) naming the file, field or joints.
    """
    other = load_config(robot_config)
    joints = PolicyJoints(policy_joint_names, other, joint_remap)
    if joints.problem:
        raise ValueError(joints.problem)
    home_robot = load_config(home.robot_config or None)
    clip_names = read_clip_header(home.clip)['joint_names']
    on_home = robot_joint_map(clip_names, home_robot, home.joint_remap).robot_joint_names
    to_other = dict(zip(joints.joint_map.policy_joint_names, joints.joint_map.robot_joint_names))
    clip_remap = {}
    for name, home_name in zip(clip_names, on_home):
        target = to_other.get(home_name, home_name)
        if other.joint_map.get(name, name) != target:
            clip_remap[name] = target   # beyond what the robot config's joint_map renames
    return replace(home, robot_config=str(robot_config), joint_remap=clip_remap,
                   fall_bodies=() if other.fall_bodies else home.fall_bodies)


def change_block(home, other):
    """Return {figure: {home, other, difference, relative_percent}} of two evaluations."""
    change = {}
    for key, _, unit, path in CHANGE_FIGURES:
        before, after = _figure(home, path), _figure(other, path)
        difference = None if before is None or after is None else after - before
        relative = (100.0 * difference / abs(before)
                    if difference is not None and before != 0 else None)
        change[key] = {'home': before, 'other': after, 'difference': difference,
                       'relative_percent': relative, 'unit': unit}
    return change


def transfer_report(home, other, robot_config, joint_remap, other_config):
    """Return the JSON-ready report: both evaluations, the change, and how joints were named."""
    return {'home': home, 'other': other, 'change': change_block(home, other),
            'robot_config': str(robot_config), 'joint_remap': dict(joint_remap or {}),
            'clip_joint_remap': dict(other_config.joint_remap)}


def change_lines(report):
    """Return the table lines of the change section."""
    def number(value, sign=''):
        return 'n/a' if value is None else f'{value:{sign}.4g}'
    lines = [f"change on {report['robot_config']} (other - home):"]
    labels = {key: label for key, label, _, _ in CHANGE_FIGURES}
    for key, figure in report['change'].items():
        relative = figure['relative_percent']
        lines.append(
            f"  {labels[key]:<24}{number(figure['home']):>10} -> {number(figure['other']):>10}"
            f" {figure['unit']:<6} change {number(figure['difference'], '+')}"
            + ('' if relative is None else f' ({relative:+.1f} %)'))
    return lines


def _figure(result, path):
    value = result
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else float(value)


def _quoted(values):
    return ', '.join(f"'{value}'" for value in values)
