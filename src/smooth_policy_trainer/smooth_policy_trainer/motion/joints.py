"""
Joint names of clips and policies against a robot configuration's joints.

A clip (or a policy) made for one robot names its joints in that robot's names. On another
robot the names go through one lpn_controller JointMap: the robot configuration's
``joint_map`` (entries for names the clip has) updated with a ``joint_remap`` ({name: robot
joint name}, every key a joint the clip has). The mapped columns are then put in the robot's
joint order.
"""

from lpn_controller.joint_map import JointMap, JointMapError
import numpy as np


def robot_joint_map(names, robot, joint_remap=None, what='the clip'):
    """
    Return the JointMap from ``names`` to ``robot``'s joint names (a SimConfig).

    Raises JointMapError naming a ``joint_remap`` key that ``names`` lack, or robot joints
    that several names map to.
    """
    names = tuple(names)
    joint_remap = dict(joint_remap or {})
    unknown = [name for name in joint_remap if name not in names]
    if unknown:
        raise JointMapError(f'joint_remap names joint(s) {_quoted(unknown)} that {what} does '
                            f'not have (its joints: {", ".join(names)})')
    remap = {name: target for name, target in robot.joint_map.items() if name in names}
    return JointMap(names, {**remap, **joint_remap})


def onto_robot(names, joint_positions, robot, joint_remap=None, what='the clip'):
    """
    Return (joint names, joint positions (T, n)) renamed through the map, in the robot's order.

    When the mapped names are not the robot's joints, or the array's columns do not match the
    names, they come back mapped but not reordered: the caller's checks report what is wrong.
    """
    mapped = robot_joint_map(names, robot, joint_remap, what)
    positions = np.asarray(joint_positions)
    if sorted(mapped.robot_joint_names) != sorted(robot.joint_names) or \
            positions.ndim != 2 or positions.shape[1] != mapped.num_joints:
        return mapped.robot_joint_names, joint_positions
    return tuple(robot.joint_names), positions[:, mapped.output_indices(robot.joint_names)]


def check_joint_names(joint_names, config, fail):
    """Call ``fail(message)`` unless ``joint_names`` are the configured joints in order."""
    joint_names = tuple(joint_names)
    if joint_names != tuple(config.joint_names):
        missing = [n for n in config.joint_names if n not in joint_names]
        extra = [n for n in joint_names if n not in config.joint_names]
        detail = f'missing {missing}, unknown {extra}' if missing or extra else 'order differs'
        fail(f"field 'joint_names' differs from the robot configuration {config.source} "
             f'({detail}); expected {list(config.joint_names)}')


def check_limits(joint_names, joint_positions, limits, tolerance, fail):
    """Call ``fail(message)`` when a joint angle (T, n) lies outside its limits (n, 2)."""
    below = joint_positions < limits[:, 0] - tolerance
    above = joint_positions > limits[:, 1] + tolerance
    outside = np.argwhere(below | above)
    if len(outside):
        frame, joint = outside[0]
        fail(f"array 'joint_positions': joint '{joint_names[joint]}' is "
             f'{joint_positions[frame, joint]:.4f} rad at frame {frame}, outside its limits '
             f'[{limits[joint, 0]:.4f}, {limits[joint, 1]:.4f}] ({len(outside)} value(s) '
             'outside)')


def _quoted(values):
    return ', '.join(f"'{value}'" for value in values)
