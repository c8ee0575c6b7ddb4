"""
Mapping between the policy's joint order (from its metadata) and the robot's joint names.

By default a policy joint has the same name on the robot; a remap renames some of them
(``'policy_name:robot_name'`` entries). Incoming JointState messages may list joints in any
order and may hold extra joints; every policy joint must be present.
"""

from dataclasses import dataclass
from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np


class JointMapError(ValueError):
    """The joint names do not line up; the message lists the offending names."""


def parse_joint_remap(entries: Iterable[str]) -> Dict[str, str]:
    """
    Parse ``['policy_name:robot_name', ...]`` into a dict; blank entries are ignored.

    ``policy_name=robot_name`` is read the same way (the first ':' or else '=' separates).
    """
    remap = {}
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        policy_name, separator, robot_name = entry.partition(':' if ':' in entry else '=')
        policy_name, robot_name = policy_name.strip(), robot_name.strip()
        if not separator or not policy_name or not robot_name:
            raise JointMapError(f'joint remap entry {entry!r} is not "policy_name:robot_name"')
        if policy_name in remap:
            raise JointMapError(f'joint remap names policy joint {policy_name!r} twice')
        remap[policy_name] = robot_name
    return remap


class JointMap:
    """Policy-order joint names, their robot names, and index maps to and from messages."""

    def __init__(self, policy_joint_names: Sequence[str],
                 remap: Optional[Mapping[str, str]] = None):
        """Check the remap against the policy joints; robot names must stay unique."""
        self.policy_joint_names: Tuple[str, ...] = tuple(policy_joint_names)
        remap = dict(remap or {})
        unknown = sorted(set(remap) - set(self.policy_joint_names))
        if unknown:
            raise JointMapError(
                f'joint remap names joints the policy does not have: {", ".join(unknown)} '
                f'(policy joints: {", ".join(self.policy_joint_names)})')
        self.robot_joint_names: Tuple[str, ...] = tuple(
            remap.get(name, name) for name in self.policy_joint_names)
        duplicates = sorted({name for name in self.robot_joint_names
                             if self.robot_joint_names.count(name) > 1})
        if duplicates:
            raise JointMapError(
                f'after remapping, several policy joints map to robot joint(s) '
                f'{", ".join(duplicates)}')
        self._robot_index = {name: index for index, name in enumerate(self.robot_joint_names)}
        self._cache: Dict[Tuple[str, ...], np.ndarray] = {}

    @property
    def num_joints(self) -> int:
        """Return the number of policy joints."""
        return len(self.policy_joint_names)

    def indices_in(self, robot_names: Sequence[str]) -> np.ndarray:
        """
        Return, for each policy joint, its index in ``robot_names`` (e.g. a message's names).

        Cached per name list, since a robot sends the same list every time.
        """
        key = tuple(robot_names)
        indices = self._cache.get(key)
        if indices is None:
            position = {name: index for index, name in enumerate(key)}
            missing = [name for name in self.robot_joint_names if name not in position]
            if missing:
                raise JointMapError(
                    f'robot joint names lack policy joint(s) {", ".join(missing)}; got '
                    f'{", ".join(key) or "no names"} (set the joint_remap parameter to rename)')
            indices = np.array([position[name] for name in self.robot_joint_names],
                               dtype=np.intp)
            if len(self._cache) < 8:
                self._cache[key] = indices
        return indices

    def to_policy_order(self, robot_names: Sequence[str], values: Sequence[float]) -> np.ndarray:
        """Return ``values`` (listed in ``robot_names`` order) in policy joint order."""
        if len(values) != len(robot_names):
            raise JointMapError(f'{len(robot_names)} joint names but {len(values)} values')
        return np.asarray(values, dtype=np.float64)[self.indices_in(robot_names)]

    def output_indices(self, robot_names: Sequence[str]) -> np.ndarray:
        """
        Return indices into policy-order values giving ``robot_names`` order.

        For a fixed-order output such as a ros2_control forward controller's
        Float64MultiArray: ``output = policy_values[indices]``. The names must be known robot
        joints, without repeats; a subset is allowed (e.g. a legs-only controller).
        """
        unknown = [name for name in robot_names if name not in self._robot_index]
        if unknown:
            raise JointMapError(
                f'output joint order names unknown joint(s) {", ".join(unknown)}; known robot '
                f'joints: {", ".join(self.robot_joint_names)}')
        if len(set(robot_names)) != len(robot_names):
            raise JointMapError('output joint order lists a joint twice')
        return np.array([self._robot_index[name] for name in robot_names], dtype=np.intp)


# -- joints the robot's command array carries that the policy does not drive -----------------

HOLD_MEASURED = 'measured'


@dataclass(frozen=True)
class HeldJoint:
    """
    A joint the forward controller commands but the policy does not (Spot's gripper, say).

    ``hold`` is None to hold the position measured when the controller engages (leaves
    waiting), or a fixed target in rad. ``lower``/``upper`` clamp its target like the policy
    joints' limits.
    """

    name: str
    hold: Optional[float]
    lower: float
    upper: float


def parse_held_joints(names: Sequence[str], holds: Sequence[str], lower: Sequence[float],
                      upper: Sequence[float]) -> Tuple[HeldJoint, ...]:
    """
    Read held joints from parallel lists (the node's parameters).

    ``holds`` entries are ``'measured'`` or a number (rad) as text; limits are in rad.
    """
    names, holds = list(names or []), list(holds or [])
    lower, upper = list(lower or []), list(upper or [])
    if not len(names) == len(holds) == len(lower) == len(upper):
        raise JointMapError(
            f'held joints: {len(names)} names, {len(holds)} holds, {len(lower)} lower and '
            f'{len(upper)} upper limits; give one of each per joint')
    if len(set(names)) != len(names):
        raise JointMapError(f'held joints list a joint twice: {", ".join(names)}')
    held = []
    for name, hold, low, high in zip(names, holds, lower, upper):
        text = str(hold).strip()
        if text == HOLD_MEASURED:
            value = None
        else:
            try:
                value = float(text)
            except ValueError:
                raise JointMapError(f'held joint {name!r}: hold {hold!r} is neither '
                                    f'{HOLD_MEASURED!r} nor a number (rad)') from None
        low, high = float(low), float(high)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise JointMapError(f'held joint {name!r}: limits [{low}, {high}] are not finite '
                                'with lower below upper')
        if value is not None and not (np.isfinite(value) and low <= value <= high):
            raise JointMapError(f'held joint {name!r}: hold {value} lies outside its limits '
                                f'[{low}, {high}]')
        held.append(HeldJoint(name, value, low, high))
    return tuple(held)


class CommandLayout:
    """
    A fixed-order command array from the policy joints' targets and the held joints' targets.

    The order is a ros2_control forward controller's ``joints``. Every name in
    ``output_names`` is a robot joint of ``joint_map`` or a held joint; a policy joint may be
    left out (a legs-only controller), a held joint may not.
    """

    def __init__(self, joint_map: JointMap, output_names: Sequence[str],
                 held_joints: Sequence[HeldJoint] = ()):
        """Check the names and precompute where each output value comes from."""
        self.output_names: Tuple[str, ...] = tuple(output_names)
        self.held_joints: Tuple[HeldJoint, ...] = tuple(held_joints)
        held_names = [joint.name for joint in self.held_joints]
        clash = sorted(set(held_names) & set(joint_map.robot_joint_names))
        if clash:
            raise JointMapError(f'held joint(s) {", ".join(clash)} are policy joints: the '
                                'policy drives them')
        absent = [name for name in held_names if name not in self.output_names]
        if absent:
            raise JointMapError(f'held joint(s) {", ".join(absent)} are not in the output '
                                f'joint order {", ".join(self.output_names)}')
        policy_names = [name for name in self.output_names if name not in held_names]
        self._policy_slots = np.array([index for index, name in enumerate(self.output_names)
                                       if name not in held_names], dtype=np.intp)
        self._policy_indices = joint_map.output_indices(policy_names)
        self._held_slots = np.array([self.output_names.index(name) for name in held_names],
                                    dtype=np.intp)
        self._joint_map = joint_map

    @property
    def held_names(self) -> Tuple[str, ...]:
        """Return the held joints' robot names, in held-joint order."""
        return tuple(joint.name for joint in self.held_joints)

    def held_positions(self, robot_names: Sequence[str], values: Sequence[float]) -> np.ndarray:
        """Return the held joints' values from a message listing ``robot_names``."""
        if not self.held_joints:
            return np.zeros(0)
        if len(values) != len(robot_names):
            raise JointMapError(f'{len(robot_names)} joint names but {len(values)} values')
        position = {name: index for index, name in enumerate(robot_names)}
        missing = [name for name in self.held_names if name not in position]
        if missing:
            raise JointMapError(f'joint states lack held joint(s) {", ".join(missing)}; got '
                                f'{", ".join(robot_names) or "no names"}')
        return np.array([values[position[name]] for name in self.held_names],
                        dtype=np.float64)

    def assemble(self, policy_targets: np.ndarray, held_targets: np.ndarray) -> np.ndarray:
        """Return the output array: policy-order targets and held targets, in output order."""
        output = np.empty(len(self.output_names))
        output[self._policy_slots] = np.asarray(policy_targets)[self._policy_indices]
        output[self._held_slots] = held_targets
        return output


def forward_controller_mismatch(expected: Sequence[str], reported: Sequence[str],
                                controller: str) -> Optional[str]:
    """
    Return why the forward controller's own ``joints`` differ from the order we send, or None.

    The message names both lists, so the user sees which one to change.
    """
    expected, reported = list(expected), list(reported)
    if expected == reported:
        return None
    return (f'{controller} commands joints [{", ".join(reported)}] ({len(reported)}) but the '
            f'robot profile sends [{", ".join(expected)}] ({len(expected)}): every command '
            "would be dropped or reach the wrong joints; make the profile's "
            "forward_command_joints match the controller's joints parameter")
